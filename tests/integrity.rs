//! A verdict that repository content cannot flip (issue 14). An attacker who can commit to the
//! repository — but not change the policy or the CI job — tries to turn NOT APPROVED into
//! APPROVED by making shipshape not read, misread or mis-date the evidence. Each test is one
//! such attempt; each asserts the exact outcome (fail or pending, never pass) and the sentence
//! or reason that explains it. Every one of them passed (approved) before evidence
//! completeness existed.

mod support;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use support::{git, git_at, write};

const NOW: &str = "2026-03-01T12:00:00Z";

const HEAD: &str = r#"
[audit]
name = "fixture"
approve_min_score = 8.0

[[area]]
id = "a"
title = "A"
"#;

/// A committed repository holding `files` and a policy of `rules` (TOML after the header).
fn repo(rules: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "shipshape.toml", format!("{HEAD}\n{rules}"));
    for (rel, bytes) in files {
        write(r, rel, bytes);
    }
    git(r, &["init", "-q", "-b", "main"]);
    git(r, &["add", "-A", "-f"]);
    git(r, &["commit", "-q", "-m", "fixture"]);
    dir
}

struct Run {
    code: i32,
    bundle: Value,
    md: String,
    stderr: String,
}

fn audit(root: &Path, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("shipshape")
        .unwrap()
        .arg("audit")
        .arg(root)
        .args(["--now", NOW, "-q", "--format", "json,md", "--out"])
        .arg(out.path())
        .args(extra)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let read = |n: &str| std::fs::read_to_string(out.path().join(n)).unwrap_or_default();
    Run {
        code: o.status.code().unwrap_or(-1),
        bundle: serde_json::from_str(&read("report.json")).unwrap_or(Value::Null),
        md: read("report.md"),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

impl Run {
    fn outcome(&self, rule: &str) -> &Value {
        self.bundle["outcomes"]
            .as_array()
            .unwrap_or_else(|| panic!("no bundle: {}", self.stderr))
            .iter()
            .find(|o| o["rule"] == rule)
            .unwrap_or_else(|| panic!("no outcome for {rule}"))
    }

    /// The rule's status, and its sentence contains each of `words`; the run is NOT APPROVED.
    fn expect(&self, rule: &str, status: &str, words: &[&str]) {
        let o = self.outcome(rule);
        assert_eq!(o["status"], status, "{rule}: {o}");
        // The headline is plain words; the CEL comparison with its values is the detail.
        let sentence = format!(
            "{} | {}",
            o["sentence"].as_str().unwrap_or(""),
            o["detail"].as_str().unwrap_or("")
        );
        for w in words {
            assert!(sentence.contains(w), "{rule}: `{w}` not in: {sentence}");
        }
        assert_eq!(self.code, 1, "NOT APPROVED expected:\n{}", self.md);
        assert_eq!(self.bundle["report"]["verdict"], "NOT_APPROVED");
    }
}

const MARKERS: &str = r#"
[[rule]]
id = "markers"
area = "a"
evidence.m = { scan = '\bTODO\b', include = ["src/**/*.py"] }
expect = ['m.count == 0']
"#;

const DRILL: &str = r#"
[[rule]]
id = "drill"
area = "a"
evidence.d = { artifact = "docs/drill.md" }
expect = ['d.status in approved', 'd.age_days <= 92']
"#;

// ---------------------------------------------------------------------------------------------
// 1. Hidden files

#[test]
fn a_tracked_file_listed_in_ignore_files_is_still_evidence() {
    let dir = repo(
        MARKERS,
        &[
            ("src/app.py", b"print('ok')\n"),
            ("src/todo.py", b"# TODO: finish the retry logic\n"),
            (".gitignore", b"src/todo.py\n"),
            (".ignore", b"src/\n"),
            (".rgignore", b"*.py\n"),
        ],
    );
    let run = audit(dir.path(), &[]);
    run.expect("markers", "fail", &["m.count is 1"]);
    assert!(run.md.contains("src/todo.py"), "{}", run.md);
}

// ---------------------------------------------------------------------------------------------
// 2. Too big, binary, not UTF-8

#[test]
fn a_marker_after_the_size_limit_leaves_the_scan_pending() {
    let mut big = "x = 1\n".repeat(400).into_bytes();
    big.extend_from_slice(b"# TODO: hidden past the limit\n");
    let dir = repo(MARKERS, &[("src/big.py", &big), ("src/ok.py", b"y = 2\n")]);
    let run = audit(dir.path(), &["--max-file-bytes", "1000"]);
    run.expect("markers", "pending", &["`src/big.py`", "--max-file-bytes"]);
}

#[test]
fn a_nul_byte_leaves_the_scan_pending() {
    let dir = repo(
        MARKERS,
        &[("src/bin.py", b"\0\n# TODO: behind a NUL byte\n")],
    );
    let run = audit(dir.path(), &[]);
    run.expect("markers", "pending", &["`src/bin.py`", "NUL byte"]);
}

#[test]
fn a_non_utf8_artifact_has_an_unknown_status() {
    let dir = repo(
        DRILL,
        &[("docs/drill.md", b"Status: COMPLETED\n\xff\xfe\n")],
    );
    let run = audit(dir.path(), &[]);
    run.expect(
        "drill",
        "fail",
        &["UNKNOWN", "also not read: `docs/drill.md`"],
    );
}

#[test]
fn one_unreadable_file_never_hides_a_failing_one() {
    let rule = r#"
[[rule]]
id = "all-done"
area = "a"
evidence.d = { artifact = "docs/ops/*.md" }
expect = ['d.items.all(i, i.status in approved)']
"#;
    // A readable failing artifact beside a binary one: the fail shows, and so does the unread.
    let dir = repo(
        rule,
        &[
            ("docs/ops/a.md", b"Status: BLOCKED\n"),
            ("docs/ops/b.md", b"Status: PASS\n\0"),
        ],
    );
    audit(dir.path(), &[]).expect("all-done", "fail", &["also not read: `docs/ops/b.md`"]);
    // Every readable one passes: pending, naming the unread file.
    let dir = repo(
        rule,
        &[
            ("docs/ops/a.md", b"Status: PASS\n"),
            ("docs/ops/b.md", b"Status: BLOCKED\n\0"),
        ],
    );
    audit(dir.path(), &[]).expect("all-done", "pending", &["`docs/ops/b.md`", "binary"]);
}

#[test]
fn a_symlink_out_of_the_repository_is_unread() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "good.md", "Status: PASS\n");
    let rule = r#"
[[rule]]
id = "all-done"
area = "a"
evidence.d = { artifact = "docs/ops/*.md" }
expect = ['d.items.all(i, i.status in approved)']
"#;
    let dir = repo(rule, &[("docs/ops/a.md", b"Status: PASS\n")]);
    std::os::unix::fs::symlink(
        outside.path().join("good.md"),
        dir.path().join("docs/ops/b.md"),
    )
    .unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "link"]);
    audit(dir.path(), &[]).expect("all-done", "pending", &["`docs/ops/b.md`", "outside"]);
}

// ---------------------------------------------------------------------------------------------
// Empty matches

const EVERY_ARTIFACT: &str = r#"
[[rule]]
id = "every-artifact"
area = "a"
evidence.d = { artifact = "docs/ops/*.md" }
expect = ['d.items.all(i, i.status in approved)']
"#;

#[test]
fn a_quantifier_over_nothing_is_pending_unless_the_rule_allows_it() {
    let dir = repo(EVERY_ARTIFACT, &[("README.md", b"# x\n")]);
    audit(dir.path(), &[]).expect(
        "every-artifact",
        "pending",
        &["no evidence matched", "docs/ops/*.md"],
    );

    let allowed = EVERY_ARTIFACT.replace("expect =", "allow_empty = true\nexpect =");
    let dir = repo(&allowed, &[("README.md", b"# x\n")]);
    let run = audit(dir.path(), &[]);
    assert_eq!(run.outcome("every-artifact")["status"], "pass");
    assert_eq!(run.code, 0, "{}", run.md);
}

#[test]
fn a_history_quantifier_over_no_file_is_pending() {
    let rule = r#"
[[rule]]
id = "all-fresh"
area = "a"
evidence.h = { git = "last_change", path = "docs/drills/*.md" }
expect = ['h.each.all(e, e.age_days <= 92)']
"#;
    let dir = repo(rule, &[("README.md", b"# x\n")]);
    audit(dir.path(), &[]).expect(
        "all-fresh",
        "pending",
        &["no evidence matched", "docs/drills/*.md"],
    );
}

#[test]
fn an_overlay_may_not_allow_empty_evidence() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let central = format!("{HEAD}\n{EVERY_ARTIFACT}");
    write(r, "central/policy.toml", &central);
    let sha = hex::encode(Sha256::digest(central.as_bytes()));
    write(
        r,
        "shipshape.toml",
        format!(
            "[audit]\nextends = \"central/policy.toml\"\nextends_sha256 = \"{sha}\"\n\n[[rule]]\nid = \"extra\"\narea = \"a\"\nallow_empty = true\nevidence.x = {{ artifact = \"docs/x/*.md\" }}\nexpect = ['x.items.all(i, i.exists)']\n"
        ),
    );
    let run = audit(r, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("rule `extra` sets allow_empty"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Manifests

const PRIVILEGED: &str = r#"
[[rule]]
id = "no-privileged"
area = "a"
evidence.w = { manifests = ["k8s"], kind = "Deployment" }
expect = ['w.objects.filter(o, o._containers.exists(c, has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged == true)).map(o, o._ref) == []']
"#;

fn deployment(security: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1.0\n          securityContext:\n{security}"
    )
}

#[test]
fn a_missing_manifests_folder_is_pending() {
    let rule = PRIVILEGED.replace("[\"k8s\"]", "[\"k8s/overlays/prod\"]");
    let dir = repo(&rule, &[("README.md", b"# x\n")]);
    audit(dir.path(), &[]).expect(
        "no-privileged",
        "pending",
        &["k8s/overlays/prod", "no such file or folder"],
    );
}

#[test]
fn zero_objects_is_pending() {
    let dir = repo(
        PRIVILEGED,
        &[(
            "k8s/cm.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        )],
    );
    audit(dir.path(), &[]).expect(
        "no-privileged",
        "pending",
        &["no evidence matched", "holds no objects"],
    );
}

#[test]
fn a_file_that_does_not_parse_is_pending_and_named() {
    let dir = repo(
        PRIVILEGED,
        &[
            (
                "k8s/web.yaml",
                deployment("            privileged: false\n").as_bytes(),
            ),
            (
                "k8s/broken.yaml",
                b"apiVersion: apps/v1\nkind: Deployment\nmetadata: [unclosed\n",
            ),
        ],
    );
    audit(dir.path(), &[]).expect(
        "no-privileged",
        "pending",
        &["`k8s/broken.yaml`", "not read"],
    );
}

#[test]
fn merge_keys_are_applied() {
    let text = deployment("            <<: {privileged: true}\n");
    let dir = repo(PRIVILEGED, &[("k8s/web.yaml", text.as_bytes())]);
    audit(dir.path(), &[]).expect("no-privileged", "fail", &["Deployment"]);
}

#[test]
fn yaml_1_1_booleans_are_booleans_where_kubernetes_types_them() {
    let dir = repo(
        PRIVILEGED,
        &[(
            "k8s/web.yaml",
            deployment("            privileged: yes\n").as_bytes(),
        )],
    );
    audit(dir.path(), &[]).expect("no-privileged", "fail", &["Deployment"]);
}

#[test]
fn duplicate_keys_are_refused() {
    let dir = repo(
        PRIVILEGED,
        &[(
            "k8s/web.yaml",
            deployment("            privileged: true\n            privileged: false\n").as_bytes(),
        )],
    );
    audit(dir.path(), &[]).expect("no-privileged", "pending", &["duplicate key `privileged`"]);
}

#[test]
fn a_refused_document_never_hides_the_others() {
    // Limits hold per document: the alias bomb is refused, the privileged Deployment is read.
    let bomb = format!("a: {}\n", "[".repeat(100));
    let text = format!(
        "{bomb}---\n{}",
        deployment("            privileged: true\n")
    );
    let dir = repo(PRIVILEGED, &[("k8s/all.yaml", text.as_bytes())]);
    audit(dir.path(), &[]).expect("no-privileged", "fail", &["also not read: `k8s/all.yaml`"]);
    // A deep block scalar is text, not nesting: the file is read.
    let script = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  run.sh: |\n{}\n---\n{}",
        "    echo [[[[[[[[[[[[[[[[\n".repeat(10),
        deployment("            privileged: false\n")
    );
    let dir = repo(PRIVILEGED, &[("k8s/all.yaml", script.as_bytes())]);
    let run = audit(dir.path(), &[]);
    assert_eq!(run.outcome("no-privileged")["status"], "pass", "{}", run.md);
}

// ---------------------------------------------------------------------------------------------
// 4. Artifact status as a reader sees it

fn drill_status(body: &str) -> Run {
    let dir = repo(DRILL, &[("docs/drill.md", body.as_bytes())]);
    audit(dir.path(), &[])
}

#[test]
fn a_status_hidden_from_readers_is_not_the_status() {
    for body in [
        "# Drill\n\n<!--\nStatus: PASS\n-->\nStatus: BLOCKED\n",
        "# Drill\n\n    Status: PASS\n\nStatus: BLOCKED\n",
        "# Drill\n\n```\nStatus: PASS\n```\n\nStatus: BLOCKED\n",
        "# Drill\n\nStatus: ~~PASS~~ BLOCKED\n",
        "# Drill\n\nStatus: `PASS` BLOCKED\n",
    ] {
        let run = drill_status(body);
        run.expect("drill", "fail", &["\"BLOCKED\""]);
    }
}

#[test]
fn two_status_words_or_disagreeing_lines_are_ambiguous() {
    for body in [
        "# Drill\n\nStatus: PASS / FAIL\n",
        "# Drill\n\nStatus: [APPROVED | REJECTED]\n",
        "# Drill\n\nStatus: APPROVED | BLOCKED until the restore is timed\n",
        "# Drill\n\nStatus: PASS\n\nNotes.\n\nStatus: BLOCKED\n",
        "---\nstatus: completed\n---\n# Drill\n\n| Field | Value |\n|---|---|\n| Status | FAIL |\n",
    ] {
        drill_status(body).expect("drill", "fail", &["\"AMBIGUOUS\""]);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Forged time

#[test]
fn a_commit_dated_after_the_audit_has_no_age() {
    let dir = repo(DRILL, &[("README.md", b"# x\n")]);
    write(dir.path(), "docs/drill.md", "Status: COMPLETED\n");
    git(dir.path(), &["add", "-A"]);
    git_at(
        dir.path(),
        "2027-06-01T00:00:00Z",
        &["commit", "-q", "-m", "from the future"],
    );
    audit(dir.path(), &[]).expect(
        "drill",
        "pending",
        &["`docs/drill.md`", "later than the audit time"],
    );

    // The git source says the same for a glob of last changes.
    let rule = r#"
[[rule]]
id = "fresh"
area = "a"
evidence.h = { git = "last_change", path = "docs/*.md" }
expect = ['h.newest.age_days <= 92']
"#;
    let dir = repo(rule, &[("docs/a.md", b"a\n")]);
    write(dir.path(), "docs/b.md", "b\n");
    git(dir.path(), &["add", "-A"]);
    git_at(
        dir.path(),
        "2027-06-01T00:00:00Z",
        &["commit", "-q", "-m", "from the future"],
    );
    audit(dir.path(), &[]).expect(
        "fresh",
        "pending",
        &["`docs/b.md`", "later than the audit time"],
    );
}

#[test]
fn a_file_name_dated_after_the_audit_has_no_age() {
    let rule = r#"
[[rule]]
id = "audit-current"
area = "a"
evidence.d = { artifact = "docs/audit-*.md" }
expect = ['timestamp(d.name_date + "T00:00:00Z") >= timestamp("2026-02-01T00:00:00Z")']
"#;
    let dir = repo(rule, &[("docs/audit-2027-12-31.md", b"Status: PASS\n")]);
    audit(dir.path(), &[]).expect(
        "audit-current",
        "pending",
        &["file name", "later than the audit time"],
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Dirty tree

#[test]
fn index_flags_cannot_hide_a_changed_evidence_file() {
    let dir = repo(DRILL, &[("docs/drill.md", b"Status: BLOCKED\n")]);
    let r = dir.path();
    let policy = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    write(
        r,
        "shipshape.toml",
        policy.replace(
            "approve_min_score = 8.0",
            "approve_min_score = 8.0\nrequire_clean = true",
        ),
    );
    git(r, &["commit", "-q", "-am", "require a clean tree"]);
    // The work tree says COMPLETED; HEAD says BLOCKED; the index is told not to look.
    git(r, &["update-index", "--skip-worktree", "docs/drill.md"]);
    write(r, "docs/drill.md", "Status: COMPLETED\n");
    let run = audit(r, &[]);
    assert_eq!(run.code, 1, "{}", run.md);
    let reasons = run.bundle["report"]["reasons"].to_string();
    assert!(
        reasons.contains("dirty") && reasons.contains("docs/drill.md"),
        "{reasons}"
    );

    // An untracked (ignored) file read as evidence makes the tree dirty too.
    git(r, &["update-index", "--no-skip-worktree", "docs/drill.md"]);
    git(r, &["checkout", "--", "docs/drill.md"]);
    let rule = DRILL
        .replace("drill\"", "extra\"")
        .replace("docs/drill.md", "docs/extra.md");
    let policy = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    write(r, "shipshape.toml", format!("{policy}\n{rule}"));
    write(r, ".gitignore", "docs/extra.md\n");
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "extra"]);
    write(r, "docs/extra.md", "Status: COMPLETED\n");
    let run = audit(r, &[]);
    let reasons = run.bundle["report"]["reasons"].to_string();
    assert!(reasons.contains("docs/extra.md"), "{reasons}");
}

// ---------------------------------------------------------------------------------------------
// 7. Score arithmetic

#[test]
fn weights_must_be_finite_and_positive() {
    for w in ["nan", "inf", "0", "-1"] {
        let rule = format!(
            "[[rule]]\nid = \"r\"\narea = \"a\"\nweight = {w}\nevidence.f = {{ files = [\"README.md\"] }}\nexpect = ['size(f.missing) == 0']\n"
        );
        let dir = repo(&rule, &[("README.md", b"# x\n")]);
        let run = audit(dir.path(), &[]);
        assert_eq!(run.code, 2, "weight {w}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("weight must be a finite number above 0"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn rules_an_overlay_adds_cannot_lift_the_verdict() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let central = format!(
        "{HEAD}\n[[rule]]\nid = \"security-policy\"\narea = \"a\"\nseverity = \"warning\"\nevidence.f = {{ files = [\"SECURITY.md\"] }}\nexpect = ['size(f.missing) == 0']\n\n[[rule]]\nid = \"readme\"\narea = \"a\"\nseverity = \"warning\"\nevidence.f = {{ files = [\"README.md\"] }}\nexpect = ['size(f.missing) == 0']\n"
    );
    write(r, "central/policy.toml", &central);
    write(r, "README.md", "# x\n");
    let sha = hex::encode(Sha256::digest(central.as_bytes()));
    let mut overlay = format!(
        "[audit]\nextends = \"central/policy.toml\"\nextends_sha256 = \"{sha}\"\n\n[[area]]\nid = \"extra\"\ntitle = \"Extra\"\nweight = 9\n"
    );
    for i in 0..5 {
        overlay.push_str(&format!(
            "\n[[rule]]\nid = \"easy-{i}\"\narea = \"extra\"\nevidence.f = {{ files = [\"README.md\"] }}\nexpect = ['size(f.missing) == 0']\n"
        ));
    }
    write(r, "shipshape.toml", overlay);
    let run = audit(r, &[]);
    let score = &run.bundle["report"]["score"];
    assert!(score["value"].as_f64().unwrap() >= 8.0, "{score}");
    assert_eq!(score["central"]["shown"], "5.0", "{score}");
    assert_eq!(run.code, 1, "{}", run.md);
    assert!(
        run.md
            .contains("Central policy's own rules alone: **5.0/10**"),
        "{}",
        run.md
    );
    assert!(
        run.bundle["report"]["reasons"]
            .to_string()
            .contains("central policy's own rules score 5.0/10"),
        "{}",
        run.bundle["report"]["reasons"]
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Cluster source precedence

#[test]
fn an_unusable_cluster_input_on_the_command_line_is_a_usage_error() {
    let dir = repo(DRILL, &[("docs/drill.md", b"Status: PASS\n")]);
    let kubeconfig = dir.path().join("kc.yaml");
    write(
        dir.path(),
        "kc.yaml",
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts:\n- name: real\n  context: {cluster: c, user: u}\nusers: []\ncurrent-context: real\n",
    );
    let kc = kubeconfig.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--cluster-snapshot", "no-such.yaml"],
            "--cluster-snapshot `no-such.yaml`",
        ),
        (vec!["--kubeconfig", kc], "--kubeconfig needs --context"),
        (
            vec!["--kubeconfig", kc, "--context", "typo"],
            "`typo` is not a context",
        ),
        (vec!["--in-cluster"], "not running in a pod"),
    ] {
        let run = audit(dir.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn the_command_line_cluster_source_outranks_the_policy() {
    let rules = r#"
[cluster]
snapshot = ["evidence/planted.yaml"]

[[rule]]
id = "lease"
area = "a"
evidence.l = { cluster = "coordination.k8s.io/v1", kind = "Lease" }
expect = ['l.count > 0']
"#;
    let lease = "# shipshape-captured-at: 2026-03-01T11:00:00Z\napiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: x\n  namespace: d\nspec:\n  holderIdentity: a\n";
    let dir = repo(rules, &[("evidence/planted.yaml", lease.as_bytes())]);
    let given = dir.path().join("given.yaml");
    write(
        dir.path(),
        "given.yaml",
        "# shipshape-captured-at: 2026-03-01T11:00:00Z\napiVersion: v1\nkind: List\nitems: []\n",
    );
    let run = audit(dir.path(), &["--cluster-snapshot", given.to_str().unwrap()]);
    // The command line's (empty) snapshot is what the rule reads, not the planted one.
    run.expect("lease", "fail", &["l.count is 0"]);
    assert_eq!(
        run.bundle["report"]["provenance"]["cluster"]["chosen_by"],
        "--cluster-snapshot"
    );
}

#[test]
fn an_overlay_may_not_set_the_cluster_source_of_central_cluster_rules() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let central = format!(
        "{HEAD}\n[[rule]]\nid = \"lease\"\narea = \"a\"\nevidence.l = {{ cluster = \"coordination.k8s.io/v1\", kind = \"Lease\" }}\nexpect = ['l.count > 0']\n"
    );
    write(r, "central/policy.toml", &central);
    let sha = hex::encode(Sha256::digest(central.as_bytes()));
    write(
        r,
        "shipshape.toml",
        format!(
            "[audit]\nextends = \"central/policy.toml\"\nextends_sha256 = \"{sha}\"\n\n[cluster]\nsnapshot = [\"evidence/planted.yaml\"]\n"
        ),
    );
    let run = audit(r, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("[cluster] set by an overlay"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// kustomize in a sandbox (issue 16): a kustomization that reaches outside the repository or to
// a network is never rendered; the rules reading it are pending and say why.

#[test]
fn a_kustomization_that_leaves_the_repository_is_not_rendered() {
    let rule = PRIVILEGED.replace("[\"k8s\"]", "[\"k8s/overlay\"]");
    let dir = repo(
        &rule,
        &[
            ("k8s/base/kustomization.yaml", b"resources:\n- web.yaml\n"),
            ("k8s/base/web.yaml", deployment("            privileged: false\n").as_bytes()),
            (
                "k8s/overlay/kustomization.yaml",
                b"resources:\n- ../base\n- ../../../outside\n- github.com/acme/bases//web?ref=v1\nconfigMapGenerator:\n- name: leak\n  files:\n  - passwd=../../../../etc/passwd\n",
            ),
        ],
    );
    let run = audit(dir.path(), &[]);
    run.expect(
        "no-privileged",
        "pending",
        &[
            "not rendered",
            "`../../../outside` resolves outside the repository",
            "remote reference",
            "`../../../../etc/passwd` resolves outside",
        ],
    );
}

#[test]
fn a_checkout_with_crlf_line_ends_is_not_dirty() {
    // `eol=crlf`: git writes CRLF into the work tree and stores LF; that is not a change.
    let dir = repo(
        DRILL,
        &[("docs/drill.md", b"Status: COMPLETED\nOwner: sre\n")],
    );
    let r = dir.path();
    let policy = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    write(
        r,
        "shipshape.toml",
        policy.replace(
            "approve_min_score = 8.0",
            "approve_min_score = 8.0\nrequire_clean = true",
        ),
    );
    write(r, ".gitattributes", "*.md text eol=crlf\n");
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "crlf"]);
    std::fs::remove_file(r.join("docs/drill.md")).unwrap();
    git(r, &["checkout", "--", "docs/drill.md"]);
    assert!(
        std::fs::read(r.join("docs/drill.md"))
            .unwrap()
            .windows(2)
            .any(|w| w == b"\r\n")
    );
    let run = audit(r, &[]);
    let reasons = run.bundle["report"]["reasons"].to_string();
    assert!(!reasons.contains("dirty"), "{reasons}");
    assert_eq!(run.code, 0, "{}", run.md);
}

/// Simulated cluster evidence is never presented as recorded: a snapshot whose header says
/// `# shipshape-simulated: true` is labelled in the Markdown, the HTML and the bundle.
#[test]
fn a_simulated_snapshot_is_labelled_in_every_report() {
    let rules = r#"
[[rule]]
id = "lease"
area = "a"
evidence.l = { cluster = "coordination.k8s.io/v1", kind = "Lease" }
expect = ['l.count >= 0']
"#;
    let snap = "# shipshape-simulated: true\n# shipshape-captured-at: 2026-03-01T11:00:00Z\napiVersion: v1\nkind: List\nitems: []\n";
    let dir = repo(rules, &[("evidence/sim.yaml", snap.as_bytes())]);
    let out = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("shipshape")
        .unwrap()
        .arg("audit")
        .arg(dir.path())
        .args(["--now", NOW, "-q", "--format", "md,html,json", "--out"])
        .arg(out.path())
        .arg("--cluster-snapshot")
        .arg(dir.path().join("evidence/sim.yaml"))
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let read = |n: &str| std::fs::read_to_string(out.path().join(n)).unwrap();
    let md = read("report.md");
    assert!(
        md.contains("Cluster evidence: SIMULATED cluster state, not a recording: "),
        "{md}"
    );
    assert!(read("report.html").contains("<strong>SIMULATED cluster state, not a recording"));
    let bundle: Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(bundle["report"]["provenance"]["cluster"]["simulated"], true);
}
