//! The bundled example, audited as a user would: the report is pinned by a snapshot on a fixed
//! `--now`, and the verdict must be the seed audit's: NOT APPROVED with exactly its four
//! blocking evidence gaps.

mod support;

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-11-26T12:00:00Z";

fn run_audit(extra: &[&str]) -> (i32, String, Value) {
    let copy = support::copy_example();
    let out = tempfile::tempdir().unwrap();
    let status = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(copy.path())
        .args(["audit", ".", "--now", NOW, "--out"])
        .arg(out.path())
        .args(extra)
        .output()
        .unwrap();
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    (status.status.code().unwrap_or(-1), md, json)
}

fn gaps(bundle: &Value, key: &str) -> Vec<String> {
    bundle["report"][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn example_report_matches_the_seed_audit() {
    let (code, md, bundle) = run_audit(&[]);
    assert_eq!(code, 1, "NOT APPROVED exits 1");
    assert_eq!(bundle["report"]["verdict"], "NOT_APPROVED");
    assert_eq!(
        gaps(&bundle, "blocking_gaps"),
        vec![
            "dr-drill-executed",
            "security-controls-validated",
            "controller-egress-handoff",
            "capacity-baseline-approved"
        ]
    );
    assert_eq!(
        gaps(&bundle, "nonblocking_gaps"),
        vec![
            "controller-tracing",
            "pre-commit-hooks",
            "readiness-audit-current"
        ]
    );
    // Evidence commands really ran.
    assert!(
        md.contains(
            "| `python3 -m unittest discover -s tests -t .` | ✅ Pass | exit code 0; tests: 85 |"
        ),
        "{md}"
    );
    // The non-runtime prompt file mentions TODO and is not flagged.
    assert!(!md.contains("`prompt"), "{md}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"Evidence bundle sha256 \| `[0-9a-f]{64}`",
        "Evidence bundle sha256 | `[sha256]`",
    );
    // The fixture commit's sha changes with every edit of the example; its shape is what counts.
    settings.add_filter(r"`[0-9a-f]{40}` on `main`", "`[sha]` on `main`");
    settings.bind(|| insta::assert_snapshot!("example_report_md", md));
}

#[test]
fn skip_commands_is_a_preview_that_cannot_approve() {
    let (code, md, bundle) = run_audit(&["--skip-commands"]);
    assert_eq!(code, 1);
    assert!(
        md.contains("⏳ Pending | command not run (--skip-commands)"),
        "{md}"
    );
    let pending: Vec<String> = bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "pending")
        .map(|o| o["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        pending,
        vec![
            "unit-tests-pass",
            "doc-links-valid",
            "release-metadata-validated",
            "immutable-images-validated",
            "trivyignore-validated"
        ]
    );
}
