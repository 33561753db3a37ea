//! Right on repositories we did not write: the shipped packs' marker scan counts a marker only
//! where a person left it — a comment of code, the prose of a document — and never a decoy a
//! careless reader would flag: `context.TODO()`, a string, a docstring, a template literal, a
//! fenced example, a test, test data, a fixture, an example, vendored or generated code.

mod support;

use support::write;

use assert_cmd::Command;
use serde_json::Value;

/// Each planted marker is `(file, line)`; every other TODO-like word in the tree is a decoy.
fn repository(root: &std::path::Path) -> Vec<(&'static str, u64)> {
    write(root, "LICENSE", "MIT\n");
    write(root, "README.md", "# svc\n\n## Usage\n\nRun it.\n");
    write(
        root,
        "cmd/main.go",
        "package main\n\nimport \"context\"\n\nfunc main() {\n\tctx := context.TODO()\n\tmsg := \"TODO: not a comment\"\n\traw := `FIXME in a raw string`\n\t// TODO: pass a real context\n\t_ = ctx; _ = msg; _ = raw\n}\n",
    );
    write(
        root,
        "app/service.py",
        "def handler():\n    \"\"\"Return 200. TODO in a docstring is documentation text.\"\"\"\n    label = 'FIXME'  # HACK: until the API has a status field\n    return label\n",
    );
    write(
        root,
        "web/app.ts",
        "const banner = `XXX ${1}`;\nconst re = /TODO/;\n/* FIXME: remove the polyfill */\nexport { banner, re };\n",
    );
    write(
        root,
        "src/lib.rs",
        "pub fn f<'a>(s: &'a str) -> &'a str {\n    let _ = r#\"// TODO in a raw string\"#;\n    s // XXX: borrow instead\n}\n",
    );
    write(
        root,
        "deploy/run.sh",
        "#!/bin/sh\necho \"TODO later\" # TODO: retry on failure\n",
    );
    // Decoys by place: tests, test data, fixtures, examples, vendored, generated, node_modules.
    for (path, text) in [
        ("cmd/main_test.go", "package main\n// TODO: more cases\n"),
        ("app/tests/test_service.py", "# TODO: cover errors\n"),
        (
            "pkg/testdata/sample.go",
            "package testdata\n// FIXME: sample\n",
        ),
        ("test/fixtures/f.js", "// TODO fixture\n"),
        (
            "examples/demo/main.go",
            "package main\n// TODO: demo only\n",
        ),
        ("vendor/lib/x.go", "package lib\n// HACK upstream\n"),
        ("third_party/y.c", "/* TODO upstream */\n"),
        ("node_modules/z/index.js", "// TODO npm\n"),
        (
            "api/zz_generated.deepcopy.go",
            "package api\n// TODO generated\n",
        ),
        ("api/v1/types.pb.go", "package v1\n// TODO generated\n"),
        ("web/app.spec.ts", "// TODO spec\n"),
    ] {
        write(root, path, text);
    }
    vec![
        ("app/service.py", 3),
        ("cmd/main.go", 9),
        ("deploy/run.sh", 2),
        ("src/lib.rs", 3),
        ("web/app.ts", 3),
    ]
}

#[test]
fn markers_are_found_in_comments_and_never_in_decoys() {
    let dir = tempfile::tempdir().unwrap();
    let planted = repository(dir.path());
    support::git(dir.path(), &["init", "-q"]);
    support::git(dir.path(), &["add", "-A"]);
    support::git(dir.path(), &["commit", "-qm", "fixture"]);
    let out = tempfile::tempdir().unwrap();
    Command::cargo_bin("shipshape")
        .unwrap()
        .args(["audit"])
        .arg(dir.path())
        .args([
            "--policy",
            "builtin:default",
            "--now",
            "2026-03-01T12:00:00Z",
            "-q",
            "--format",
            "json",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    let item = b["evidence"]
        .as_object()
        .unwrap()
        .values()
        .find(|i| {
            i["request"]["source"] == "scan"
                && i["request"]["pattern"]
                    .as_str()
                    .is_some_and(|p| p.contains("TODO"))
        })
        .unwrap();
    let mut found: Vec<(String, u64)> = item["value"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["path"].as_str().unwrap().to_string(),
                m["line"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    let want: Vec<(String, u64)> = planted.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(found, want, "{}", item["value"]);
    let o = b["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "no-unfinished-markers")
        .unwrap();
    assert_eq!(o["status"], "fail");
}

fn audit_default(root: &std::path::Path) -> Value {
    support::git(root, &["init", "-q"]);
    support::git(root, &["add", "-A"]);
    support::git(root, &["commit", "-qm", "fixture"]);
    let out = tempfile::tempdir().unwrap();
    Command::cargo_bin("shipshape")
        .unwrap()
        .args(["audit"])
        .arg(root)
        .args([
            "--policy",
            "builtin:default",
            "--now",
            "2026-03-01T12:00:00Z",
            "-q",
            "--format",
            "json",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap()
}

/// Placeholders in a README count where a reader sees them — never inside a fenced example,
/// inline code, a link target or an HTML comment. One in the prose fails the rule and is named.
#[test]
fn readme_placeholders_in_code_examples_are_not_gaps() {
    let readme = "# Reloader\n\n## Usage\n\nSet the webhook:\n\n```yaml\nwebhookUrl: <your-webhook-url>\n```\n\nOr pass `--url <your-url>`; see [the docs](<docs-url>).\n\n<!-- TODO: screenshots -->\n";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", readme);
    write(dir.path(), "LICENSE", "MIT\n");
    let b = audit_default(dir.path());
    let rule = |b: &Value| {
        b["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["rule"] == "readme-complete")
            .cloned()
            .unwrap()
    };
    assert_eq!(rule(&b)["status"], "pass", "{}", rule(&b));

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", format!("{readme}\nOwner: TBD\n"));
    write(dir.path(), "LICENSE", "MIT\n");
    let b = audit_default(dir.path());
    let o = rule(&b);
    assert_eq!(o["status"], "fail", "{o}");
}

/// From the field tests (docs/field-tests.md): a dual-licensed crate's `LICENSE-MIT` and
/// `LICENSE-APACHE` are its license; a CHANGELOG whose versions are setext headings has entries;
/// "dates in YYYY-MM-DD format" in a README names a format; a Rust `tests.rs` module is test code.
#[test]
fn what_the_field_tests_found_wrong_stays_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        "README.md",
        "# Dates\n\n## Usage\n\nMatches a date in YYYY-MM-DD format.\n",
    );
    write(r, "LICENSE-MIT", "MIT\n");
    write(r, "LICENSE-APACHE", "Apache-2.0\n");
    write(
        r,
        "CHANGELOG.md",
        "1.13.2 (2026-11-17)\n===================\n\n* Bug fixes.\n",
    );
    write(r, "src/lib.rs", "pub fn f() {}\n");
    write(r, "src/fs/tests.rs", "// TODO: move under write\n");
    let b = audit_default(r);
    let status = |rule: &str| {
        b["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["rule"] == rule)
            .map(|o| o["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    for rule in [
        "license-present",
        "changelog-maintained",
        "readme-complete",
        "no-unfinished-markers",
    ] {
        assert_eq!(status(rule), "pass", "{rule}: {}", b["outcomes"]);
    }
}
