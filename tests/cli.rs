//! Command-line conventions: where the policy comes from (and the summary saying so), `-q`,
//! `--out -`, one `error:` style, the man page's EXIT STATUS and ENVIRONMENT, and partial runs
//! with `--rule`.

mod support;

use assert_cmd::Command;
use serde_json::Value;

const POLICY: &str = r#"[audit]
name = "cli"
approve_min_score = 0

[[area]]
id = "a"

[[rule]]
id = "license"
area = "a"
evidence.f = { files = ["LICENSE"] }
expect = ['size(f.missing) == 0']

[[rule]]
id = "readme"
area = "a"
evidence.f = { files = ["README.md"] }
expect = ['size(f.missing) == 0']
"#;

/// A committed repository with the policy at its root and the audited folder `svc/` below it.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::write(r.join("shipshape.toml"), POLICY).unwrap();
    std::fs::create_dir_all(r.join("svc")).unwrap();
    std::fs::write(r.join("svc/LICENSE"), "MIT\n").unwrap();
    std::fs::write(r.join("svc/README.md"), "# svc\n").unwrap();
    support::git(r, &["init", "-q"]);
    support::git(r, &["add", "-A"]);
    support::git(r, &["commit", "-qm", "fixture"]);
    dir
}

fn shipshape(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_policy_is_found_above_the_audited_folder_and_the_summary_says_where() {
    let dir = repo();
    let (code, out, err) = shipshape(
        dir.path(),
        &[
            "audit",
            "svc",
            "--now",
            "2026-03-01T12:00:00Z",
            "--out",
            "out",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = out.lines().find(|l| l.starts_with("  policy: ")).unwrap();
    assert!(
        line.contains(
            "(found in the repository root, above the audited folder (none in the folder itself))"
        ),
        "{line}"
    );
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        b["report"]["counts"]["rules"], 2,
        "the root policy's rules ran"
    );
    // `-q` prints exactly the verdict line.
    let (code, out, _) = shipshape(
        dir.path(),
        &[
            "audit",
            "svc",
            "--now",
            "2026-03-01T12:00:00Z",
            "--out",
            "out2",
            "-q",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "shipshape: ✅ APPROVED — score 10.0/10 (approval needs 0), evidence coverage 100%\n"
    );
}

#[test]
fn out_dash_writes_the_markdown_report_to_stdout_and_no_files() {
    let dir = repo();
    let (code, out, err) = shipshape(
        dir.path(),
        &[
            "audit",
            "svc",
            "--now",
            "2026-03-01T12:00:00Z",
            "--out",
            "-",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# Release Readiness Audit\n"), "{out}");
    assert!(out.contains("## Executive Summary"));
    assert!(err.starts_with("shipshape: ✅ APPROVED"), "{err}");
    assert!(!dir.path().join("-").exists() && !dir.path().join("shipshape-out").exists());
}

#[test]
fn errors_share_one_prefix() {
    let dir = repo();
    for args in [
        vec!["audit", "svc", "--env", "nowhere"],
        vec!["render", "missing.json"],
        vec!["audit", "svc", "--rule", "no-such-rule"],
    ] {
        let (code, _, err) = shipshape(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.lines().next().is_some_and(|l| l.starts_with("error: ")),
            "{args:?}: {err}"
        );
    }
    let (_, _, err) = shipshape(dir.path(), &["audit", "svc", "--rule", "no-such-rule"]);
    assert!(
        err.contains("the policy has no rule `no-such-rule`"),
        "{err}"
    );
}

#[test]
fn the_man_page_has_exit_status_and_environment() {
    let (code, man, _) = shipshape(std::path::Path::new("."), &["man"]);
    assert_eq!(code, 0);
    for s in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        "SOURCE_DATE_EPOCH",
        "KUBECONFIG",
        "NO_COLOR",
    ] {
        assert!(man.contains(s), "{s} missing");
    }
}

/// `--rule` re-checks only the named rules: the others are skipped without their evidence being
/// collected, and the run says it is partial and never approves.
#[test]
fn a_partial_run_checks_only_the_named_rules_and_never_approves() {
    let dir = repo();
    let (code, out, err) = shipshape(
        dir.path(),
        &[
            "audit",
            "svc",
            "--now",
            "2026-03-01T12:00:00Z",
            "--out",
            "out",
            "--rule",
            "license",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    let outcomes = b["outcomes"].as_array().unwrap();
    let status = |id: &str| outcomes.iter().find(|o| o["rule"] == id).unwrap().clone();
    assert_eq!(status("license")["status"], "pass");
    assert_eq!(status("readme")["status"], "skipped");
    assert!(
        status("readme")["sentence"]
            .as_str()
            .unwrap()
            .contains("partial run")
    );
    assert_eq!(b["report"]["verdict"], "NOT_APPROVED");
    let reasons = b["report"]["reasons"].to_string();
    assert!(
        reasons.contains("partial run: only 1 of 2 rules were checked (--rule license)"),
        "{reasons}"
    );
    // The skipped rule's evidence was not collected.
    assert!(
        !b["evidence"].to_string().contains("README.md"),
        "{}",
        b["evidence"]
    );
}
