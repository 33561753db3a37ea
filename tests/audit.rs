//! The gate end to end on fixture repositories built here: complete evidence approves, one
//! missing artifact blocks, a waiver lets it through, an expired waiver does not. A tool that
//! always says NOT APPROVED (or always APPROVED) fails these tests.

mod support;

use support::write;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-03-01T12:00:00Z";

const POLICY: &str = r#"
[audit]
name = "fixture"
title = "Fixture Audit"
approve_min_score = 8.0
environments = ["prod", "test"]

[[area]]
id = "ops"
title = "Operations"
weight = 2

[[area]]
id = "repo"
title = "Repository"

[[rule]]
id = "dr-drill"
area = "ops"
title = "DR drill executed"
severity = "blocking"
weight = 3
evidence.drill = { artifact = "docs/ops/dr-drill-*.md" }
expect = ['drill.exists', 'drill.status in approved', 'size(drill.placeholders) == 0', 'drill.age_days <= stale_after_days']
remediation = { priority = "critical", category = "Operations", action = "Run the drill.", effort = "Large" }

[[rule]]
id = "capacity"
area = "ops"
title = "Capacity baseline"
severity = "blocking"
environments = ["prod"]
evidence.cap = { artifact = "docs/ops/capacity.md" }
expect = ['cap.exists', 'cap.status in approved']

[[rule]]
id = "license"
area = "repo"
title = "License"
severity = "blocking"
evidence.f = { files = ["LICENSE"] }
expect = ['size(f.missing) == 0']

[[rule]]
id = "precommit"
area = "repo"
title = "Pre-commit hooks"
severity = "warning"
evidence.f = { files = [".pre-commit-config.yaml"] }
expect = ['size(f.missing) == 0']
"#;

/// A repository whose evidence is complete.
fn complete_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "shipshape.toml", POLICY);
    write(r, "LICENSE", "MIT\n");
    write(r, ".pre-commit-config.yaml", "repos: []\n");
    write(
        r,
        "docs/ops/dr-drill-20260215.md",
        "# DR drill\n\nStatus: COMPLETED\nAPI recovery: 4m\n",
    );
    write(
        r,
        "docs/ops/capacity.md",
        "# Capacity\n\n**Status:** APPROVED\n",
    );
    dir
}

fn audit(root: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out_dir = root.join("out");
    let mut cmd = Command::cargo_bin("shipshape").unwrap();
    cmd.arg("audit").arg(root).arg("--out").arg(&out_dir);
    if !extra.contains(&"--now") {
        cmd.args(["--now", NOW]);
    }
    let out = cmd.args(extra).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let json = std::fs::read_to_string(out_dir.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap_or_default();
    (code, json, md)
}

fn status_of(bundle: &Value, rule: &str) -> String {
    bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == rule)
        .map(|o| o["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn complete_evidence_is_approved() {
    let repo = complete_repo();
    let (code, bundle, md) = audit(repo.path(), &[]);
    assert_eq!(code, 0, "{md}");
    assert_eq!(bundle["report"]["verdict"], "APPROVED");
    assert_eq!(bundle["report"]["score"]["shown"], "10.0");
    assert!(md.contains("**Verdict: APPROVED**"));
}

#[test]
fn one_missing_artifact_blocks_and_a_waiver_lets_it_through_until_it_expires() {
    let repo = complete_repo();
    std::fs::remove_file(repo.path().join("docs/ops/capacity.md")).unwrap();
    let (code, bundle, md) = audit(repo.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&bundle, "capacity"), "fail");
    assert!(md.contains("`docs/ops/capacity.md` does not exist"), "{md}");
    assert!(md.contains("blocking rule `capacity` fails"), "{md}");

    let waiver = "\n[[waiver]]\nrule = \"capacity\"\nreason = \"Load test booked for next sprint\"\nowner = \"sre\"\nexpires = 2026-03-10\n";
    write(repo.path(), "shipshape.toml", format!("{POLICY}{waiver}"));
    let (code, bundle, md) = audit(repo.path(), &[]);
    assert_eq!(code, 0, "{md}");
    assert_eq!(status_of(&bundle, "capacity"), "waived");
    assert!(md.contains("🔕 Waived"));
    assert!(md.contains("Load test booked for next sprint"));
    assert!(md.contains("waiver expires in 9 day(s)"), "{md}");

    // The waiver holds through the last second of its day, and not after.
    let (code, _, _) = audit(repo.path(), &["--now", "2026-03-10T23:59:59Z"]);
    assert_eq!(code, 0);
    let (code, bundle, md) = audit(repo.path(), &["--now", "2026-03-11T00:00:00Z"]);
    assert_eq!(code, 1, "{md}");
    assert_eq!(status_of(&bundle, "capacity"), "fail");
    assert!(md.contains("waiver expired on 2026-03-10"), "{md}");
}

#[test]
fn placeholders_and_pending_status_fail_with_the_values_shown() {
    let repo = complete_repo();
    write(
        repo.path(),
        "docs/ops/dr-drill-20260215.md",
        "# DR drill\n\nStatus: PENDING_EXECUTION\nAPI recovery: TBD\n",
    );
    let (code, bundle, md) = audit(repo.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&bundle, "dr-drill"), "fail");
    assert!(
        md.contains("status is PENDING_EXECUTION; approved statuses are PASS, APPROVED, COMPLETED, READY; placeholder `TBD`"),
        "{md}"
    );
    assert!(md.contains("`docs/ops/dr-drill-20260215.md:3`"), "{md}");
    // One finding per offender: the status line, then the placeholder the status line does
    // not already account for; each with its file, line and key.
    let found: Vec<(String, u64, String)> = bundle["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "dr-drill")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let drill = "docs/ops/dr-drill-20260215.md".to_string();
    assert_eq!(
        found,
        [
            (drill.clone(), 3, "PENDING_EXECUTION".to_string()),
            (drill, 4, "TBD".to_string())
        ]
    );
    // The failed CEL comparison is kept for the JSON and `explain`.
    let outcome = bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "dr-drill")
        .unwrap();
    assert!(
        outcome["detail"]
            .as_str()
            .unwrap()
            .contains("size(drill.placeholders) is 2; expected 0"),
        "{outcome}"
    );
}

#[test]
fn newest_artifact_of_a_glob_is_judged_and_staleness_counts() {
    let repo = complete_repo();
    // An older, pending drill does not matter: the newest by the date in its name does.
    write(
        repo.path(),
        "docs/ops/dr-drill-20250101.md",
        "Status: PENDING\n",
    );
    let (code, _, _) = audit(repo.path(), &[]);
    assert_eq!(code, 0);
    // Months later the newest drill is out of its 92-day window.
    let (code, bundle, md) = audit(repo.path(), &["--now", "2026-06-30T00:00:00Z"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&bundle, "dr-drill"), "fail");
    assert!(
        md.contains("age in days is 135; expected at most 92"),
        "{md}"
    );
}

#[test]
fn warning_gap_is_non_blocking_but_lowers_the_score() {
    let repo = complete_repo();
    std::fs::remove_file(repo.path().join(".pre-commit-config.yaml")).unwrap();
    let (code, bundle, md) = audit(repo.path(), &[]);
    // ops: 1.0 (weight 2); repo: 1 of 2 → 0.5; (2×1 + 1×0.5)/3×10 = 8.33 ≥ 8.
    assert_eq!(code, 0, "{md}");
    assert_eq!(bundle["report"]["score"]["shown"], "8.3");
    assert!(md.contains("⚠️ **Warning** Pre-commit hooks"), "{md}");
    // The printed sum can be redone by hand: exact fractions, the exact result, the shown one.
    assert!(
        md.contains("(4/4×2 + 1/2×1) / 3 × 10 = 8.3333, shown as 8.3"),
        "{md}"
    );
}

#[test]
fn score_threshold_is_compared_exactly() {
    let repo = complete_repo();
    std::fs::remove_file(repo.path().join(".pre-commit-config.yaml")).unwrap();
    let strict = POLICY.replace("approve_min_score = 8.0", "approve_min_score = 8.34");
    write(repo.path(), "shipshape.toml", &strict);
    let (code, bundle, _) = audit(repo.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        bundle["report"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("below the approval threshold 8.34")
    );
}

#[test]
fn env_selects_rules_and_unknown_env_is_a_usage_error() {
    let repo = complete_repo();
    std::fs::remove_file(repo.path().join("docs/ops/capacity.md")).unwrap();
    let (code, bundle, _) = audit(repo.path(), &["--env", "test"]);
    assert_eq!(code, 0);
    assert_eq!(status_of(&bundle, "capacity"), "skipped");
    let (code, _, _) = audit(repo.path(), &["--env", "moon"]);
    assert_eq!(code, 2);
}

#[test]
fn same_evidence_same_digest_and_render_reproduces_markdown() {
    let repo = complete_repo();
    let (_, a, md_a) = audit(repo.path(), &[]);
    let (_, b, _) = audit(repo.path(), &[]);
    assert_eq!(a["sha256"], b["sha256"]);
    assert_eq!(a["report"]["provenance"]["bundle_sha256"], a["sha256"]);
    let rendered = repo.path().join("rendered");
    Command::cargo_bin("shipshape")
        .unwrap()
        .arg("render")
        .arg(repo.path().join("out/report.json"))
        .arg("--out")
        .arg(&rendered)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(rendered.join("report.md")).unwrap(),
        md_a
    );
    // A tampered bundle is refused.
    let path = repo.path().join("out/report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"10.0\"", "\"10.1\"")).unwrap();
    Command::cargo_bin("shipshape")
        .unwrap()
        .arg("render")
        .arg(&path)
        .arg("--out")
        .arg(&rendered)
        .assert()
        .code(2);
}

#[test]
fn missing_policy_and_bad_now_are_usage_errors() {
    let repo = complete_repo();
    let (code, _, _) = audit(repo.path(), &["--policy", "nope.toml"]);
    assert_eq!(code, 2);
    let (code, _, _) = audit(repo.path(), &["--now", "yesterday"]);
    assert_eq!(code, 2);
}

#[test]
fn evidence_path_outside_the_repository_is_a_policy_error() {
    let repo = complete_repo();
    let bad = format!(
        "{POLICY}\n[[rule]]\nid = \"escape\"\narea = \"repo\"\nevidence.x = {{ artifact = \"../../etc/passwd\" }}\nexpect = ['x.exists']\n"
    );
    write(repo.path(), "shipshape.toml", &bad);
    let out = Command::cargo_bin("shipshape")
        .unwrap()
        .arg("audit")
        .arg(repo.path())
        .args(["--now", NOW, "--out"])
        .arg(repo.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rule `escape`: evidence `x`"), "{err}");
    assert!(err.contains("outside the repository"), "{err}");
}

#[test]
fn unreadable_or_non_utf8_evidence_never_panics() {
    let repo = complete_repo();
    std::fs::write(
        repo.path().join("docs/ops/capacity.md"),
        b"Status: APPROVED\n\xff\xfe bad bytes\n",
    )
    .unwrap();
    let (code, bundle, md) = audit(repo.path(), &[]);
    // Not read as written, so the rule reading it is pending and the gate cannot approve.
    assert_eq!(code, 1, "{md}");
    let ev = bundle["evidence"].as_object().unwrap();
    assert!(
        ev.values()
            .any(|i| i["value"]["lossy"] == Value::Bool(true)),
        "the non-UTF-8 artifact is marked lossy"
    );
    assert!(
        md.contains("`docs/ops/capacity.md` (not valid UTF-8"),
        "the pending sentence names the file: {md}"
    );
}

#[test]
fn commands_run_and_skip_commands_makes_them_pending() {
    let repo = complete_repo();
    let policy = format!(
        "{POLICY}\n[[rule]]\nid = \"tests\"\narea = \"repo\"\nevidence.t = {{ run = \"echo 'Ran 12 tests'; echo 'TOTAL 88%'\", captures = {{ tests = 'Ran (\\d+) tests', coverage = 'TOTAL (\\d+)%' }} }}\nexpect = ['t.exit_code == 0', 't.captures.tests == 12', 't.captures.coverage >= 80']\n"
    );
    write(repo.path(), "shipshape.toml", &policy);
    let (code, bundle, md) = audit(repo.path(), &[]);
    assert_eq!(code, 0, "{md}");
    assert_eq!(status_of(&bundle, "tests"), "pass");
    assert!(md.contains("coverage: 88, tests: 12"), "{md}");
    let (code, bundle, md) = audit(repo.path(), &["--skip-commands"]);
    assert_eq!(
        code, 1,
        "a preview cannot approve a rule that needs a command"
    );
    assert_eq!(status_of(&bundle, "tests"), "pending");
    assert!(md.contains("⏳ Pending"), "{md}");
}
