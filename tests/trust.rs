//! The trust features end to end, with real `ssh-keygen` keys and a real git repository built
//! here with pinned dates: sign-offs that verify and ones that must not (untrusted key, wrong
//! role, another bundle, a tampered bundle), `verify` against the wrong commit or image, a dirty
//! work tree, an overlay that loosens its central policy, and waivers that break the rules.

mod support;

use support::write;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-03-01T12:00:00Z";
const DATE: &str = "2026-02-20T10:00:00Z";

fn digest(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

const CENTRAL: &str = r#"
[audit]
name = "acme"
approve_min_score = 8.0
require_clean = true
signoffs_required = [{ role = "sre", count = 1 }]

[waivers]
max_days = { blocking = 30, warning = 90 }
require_ticket = true

[[area]]
id = "ops"
title = "Operations"

[[rule]]
id = "license"
area = "ops"
severity = "blocking"
evidence.f = { files = ["LICENSE"] }
expect = ['size(f.missing) == 0']

[[rule]]
id = "runbook"
area = "ops"
severity = "blocking"
evidence.doc = { artifact = "docs/runbook.md" }
expect = ['doc.exists', 'doc.status in approved']

[[rule]]
id = "images-pinned"
area = "ops"
severity = "warning"
evidence.img = { artifact = "deploy/images.md" }
expect = ['img.exists']

[[rule]]
id = "workload-declared"
area = "ops"
severity = "warning"
evidence.w = { manifests = ["deploy/app.yaml"], kind = "Deployment" }
expect = ['w.count > 0']
"#;

fn git(root: &Path, args: &[&str]) -> String {
    let out = Std::new("git")
        .current_dir(root)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", DATE)
        .env("GIT_COMMITTER_DATE", DATE)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Repo {
    dir: tempfile::TempDir,
    sha: String,
}

impl Repo {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A committed repository whose overlay extends `central/policy.toml`, pinned by digest.
fn repo(central: &str, overlay_extra: &str, runbook: bool) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "central/policy.toml", central);
    let sha = sha256_hex(central.as_bytes());
    write(
        r,
        "shipshape.toml",
        format!(
            "[audit]\nextends = \"central/policy.toml\"\nextends_sha256 = \"{sha}\"\n{overlay_extra}"
        ),
    );
    write(r, "LICENSE", "MIT\n");
    if runbook {
        write(r, "docs/runbook.md", "# Runbook\n\nStatus: APPROVED\n");
    }
    write(
        r,
        "deploy/images.md",
        format!(
            "# Images\n\nImage: ghcr.io/acme/app:1.4.0@sha256:{}\n",
            digest('a')
        ),
    );
    // The image the audit records with its name: a container of a declared workload.
    write(
        r,
        "deploy/app.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app:1.4.0@sha256:{}\n",
            digest('a')
        ),
    );
    write(r, ".gitignore", "out/\n");
    git(r, &["init", "-q"]);
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "fixture"]);
    let sha = git(r, &["rev-parse", "HEAD"]);
    Repo { dir, sha }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Audit `repo` into `out`; returns the exit code, stdout and the bundle.
fn audit(repo: &Path, out: &Path, extra: &[&str]) -> (i32, String, Value) {
    let mut args = vec![
        "audit",
        repo.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--now") {
        args.extend(["--now", NOW]);
    }
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args, repo);
    let bundle = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (code, format!("{stdout}{stderr}"), bundle)
}

fn have_ssh_keygen() -> bool {
    let ok = Std::new("ssh-keygen")
        .arg("-?")
        .output()
        .map(|_| true)
        .unwrap_or(false);
    // A test that needs a missing tool fails loudly in CI, never passes vacuously.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "ssh-keygen is required when CI is set (Debian: apt-get install openssh-client)"
    );
    if !ok {
        eprintln!(
            "\n\n*** SKIPPED: ssh-keygen is not installed (Debian: apt-get install openssh-client); the sign-off tests did not run ***\n\n"
        );
    }
    ok
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let out = Std::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    (key, public.join(" "))
}

struct Signers {
    dir: tempfile::TempDir,
    alice: PathBuf,
    bob: PathBuf,
    mallory: PathBuf,
    allowed: PathBuf,
}

/// alice may sign off as sre, bob only as dev; mallory's key is not in the file.
fn signers() -> Signers {
    let dir = tempfile::tempdir().unwrap();
    let (alice, a) = keygen(dir.path(), "alice");
    let (bob, b) = keygen(dir.path(), "bob");
    let (mallory, _) = keygen(dir.path(), "mallory");
    let allowed = dir.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "# who may sign off shipshape bundles\nalice@example.com namespaces=\"shipshape-signoff\" {a} roles=sre,security\nbob@example.com namespaces=\"shipshape-signoff\" {b} roles=dev\n"
        ),
    )
    .unwrap();
    Signers {
        dir,
        alice,
        bob,
        mallory,
        allowed,
    }
}

fn signoff(bundle: &Path, key: &Path, identity: &str, role: &str, decision: &str) -> i32 {
    let (code, out, err) = run(
        &[
            "signoff",
            bundle.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--identity",
            identity,
            "--role",
            role,
            "--decision",
            decision,
            "--comment",
            "looked at the drill evidence",
            "--now",
            NOW,
        ],
        Path::new("."),
    );
    assert_eq!(code, 0, "signoff failed: {out}{err}");
    code
}

fn verify(bundle: &Path, commit: &str, image: &str, allowed: &Path) -> (i32, String) {
    let (code, out, err) = run(
        &[
            "verify",
            bundle.to_str().unwrap(),
            "--commit",
            commit,
            "--image",
            image,
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
        Path::new("."),
    );
    (code, format!("{out}{err}"))
}

fn image() -> String {
    format!("ghcr.io/acme/app:1.4.0@sha256:{}", digest('a'))
}

#[test]
fn signoff_flow_and_verify() {
    if !have_ssh_keygen() {
        return;
    }
    let repo = repo(CENTRAL, "", true);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, bundle) = audit(repo.path(), out.path(), &["--format", "md,json,intoto"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(bundle["report"]["verdict"], "APPROVED");
    let b = out.path().join("report.json");
    let s = signers();

    // Approved, but nobody has signed off yet: a new audit starts unsigned.
    let (code, text) = verify(&b, &repo.sha, &image(), &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("needs 1 approving sign-off(s) as `sre`, has 0"),
        "{text}"
    );

    // mallory's key is not trusted, whatever identity the sign-off claims.
    signoff(&b, &s.mallory, "alice@example.com", "sre", "approve");
    let (code, text) = verify(&b, &repo.sha, &image(), &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("does not verify against the allowed signers"),
        "{text}"
    );

    // bob's signature is good, but bob is not an sre.
    std::fs::remove_file(out.path().join("signoffs.jsonl")).unwrap();
    signoff(&b, &s.bob, "bob@example.com", "sre", "approve");
    let (code, text) = verify(&b, &repo.sha, &image(), &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("`bob@example.com` may not sign off as `sre`"),
        "{text}"
    );

    // alice is: now it verifies (bob's bad sign-off is removed first: a bad one is a failure).
    std::fs::remove_file(out.path().join("signoffs.jsonl")).unwrap();
    signoff(&b, &s.alice, "alice@example.com", "sre", "approve");
    let (code, text) = verify(&b, &repo.sha, &image(), &s.allowed);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("VERIFIED"), "{text}");
    // An abbreviated commit works too.
    let (code, text) = verify(&b, &repo.sha[..12], &image(), &s.allowed);
    assert_eq!(code, 0, "{text}");

    // The log line carries who, role, decision, comment, time and the signature.
    let log = std::fs::read_to_string(out.path().join("signoffs.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["format"], "shipshape-signoff/1");
    assert_eq!(line["bundle_sha256"], bundle["sha256"]);
    assert_eq!(line["role"], "sre");
    assert_eq!(line["decision"], "approve");
    assert!(
        line["signature"]
            .as_str()
            .unwrap()
            .contains("BEGIN SSH SIGNATURE")
    );

    // Wrong commit, wrong image digest, image name the audit did not see it for: each fails.
    let (code, text) = verify(&b, &"0".repeat(40), &image(), &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("not 0000000000000000000000000000000000000000"),
        "{text}"
    );
    let wrong = format!("ghcr.io/acme/app@sha256:{}", digest('b'));
    let (code, text) = verify(&b, &repo.sha, &wrong, &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("the audit never saw that digest"), "{text}");
    let other = format!("ghcr.io/evil/app@sha256:{}", digest('a'));
    let (code, text) = verify(&b, &repo.sha, &other, &s.allowed);
    assert_eq!(code, 1, "{text}");
    // Bad input is exit 2: an image without a digest.
    let (code, text) = verify(&b, &repo.sha, "ghcr.io/acme/app:1.4.0", &s.allowed);
    assert_eq!(code, 2, "{text}");

    // The in-toto statement: subject is the commit and the image, predicate the verdict.
    let st: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("report.intoto.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        st["predicateType"],
        "https://shipshape.dev/attestation/audit/v1"
    );
    assert_eq!(st["subject"][0]["digest"]["gitCommit"], repo.sha.as_str());
    assert_eq!(st["subject"][1]["digest"]["sha256"], digest('a').as_str());
    assert_eq!(st["predicate"]["verdict"], "APPROVED");
    assert_eq!(st["predicate"]["bundle"]["sha256"], bundle["sha256"]);
    assert!(st["predicate"]["policy"]["central"]["sha256"].is_string());
    // Re-rendered after the sign-off, it lists alice's.
    let again = tempfile::tempdir().unwrap();
    let (code, _, _) = run(
        &[
            "render",
            b.to_str().unwrap(),
            "--format",
            "intoto",
            "--out",
            again.path().to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert_eq!(code, 0);
    let st: Value = serde_json::from_str(
        &std::fs::read_to_string(again.path().join("report.intoto.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        st["predicate"]["signoffs"][0]["identity"],
        "alice@example.com"
    );
    // The reports' sign-off block: the required role, who signed, and whether it verifies.
    let (code, shown, err) = run(
        &[
            "render",
            b.to_str().unwrap(),
            "--format",
            "md,html",
            "--out",
            again.path().to_str().unwrap(),
            "--allowed-signers",
            s.allowed.to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        shown.contains("sign-off ✅ signed: `sre` 1 of 1 approving")
            && shown.contains("✅ alice@example.com as `sre` (approve): verified"),
        "{shown}"
    );
    let md = std::fs::read_to_string(again.path().join("report.md")).unwrap();
    assert!(md.contains("## Sign-off"), "{md}");
    assert!(
        md.contains("Required: ✅ **signed** `sre` (1 of 1 approving)"),
        "{md}"
    );
    assert!(
        md.contains("| alice@example.com | `sre` | ✅ approve |") && md.contains("| verified |"),
        "{md}"
    );
    let html = std::fs::read_to_string(again.path().join("report.html")).unwrap();
    assert!(html.contains("<section id=\"signoff\">") && html.contains("<td>verified</td>"));
    // Without the allowed-signers file the sign-off is listed, not trusted.
    let (code, _, _) = run(
        &[
            "render",
            b.to_str().unwrap(),
            "--format",
            "md",
            "--out",
            again.path().to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert_eq!(code, 0);
    let md = std::fs::read_to_string(again.path().join("report.md")).unwrap();
    assert!(
        md.contains("Required: ❌ **missing** `sre` (0 of 1 approving)"),
        "{md}"
    );
    assert!(
        md.contains("not checked (render with --allowed-signers FILE to verify)"),
        "{md}"
    );
    // The audit's own report, before any sign-off, says how to sign.
    let first = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(first.contains("No sign-off on this bundle yet"), "{first}");

    // A tampered bundle (one byte changed) no longer verifies, sign-offs or not.
    let text = std::fs::read_to_string(&b).unwrap();
    let tampered = text.replacen(
        "\"title\": \"Release Readiness Audit\"",
        "\"title\": \"Release Readiness Audis\"",
        1,
    );
    assert_ne!(text, tampered);
    std::fs::write(&b, tampered).unwrap();
    let (code, text) = verify(&b, &repo.sha, &image(), &s.allowed);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("it was altered after the audit"), "{text}");
    drop(s.dir);
}

#[test]
fn a_signoff_on_an_older_bundle_does_not_count() {
    if !have_ssh_keygen() {
        return;
    }
    let repo = repo(CENTRAL, "", true);
    let s = signers();
    let old = tempfile::tempdir().unwrap();
    let (code, _, _) = audit(repo.path(), old.path(), &[]);
    assert_eq!(code, 0);
    signoff(
        &old.path().join("report.json"),
        &s.alice,
        "alice@example.com",
        "sre",
        "approve",
    );
    // A new audit (a day later) is a new bundle: the old sign-off does not carry over.
    let new = tempfile::tempdir().unwrap();
    let (code, _, _) = audit(repo.path(), new.path(), &["--now", "2026-03-02T12:00:00Z"]);
    assert_eq!(code, 0);
    std::fs::copy(
        old.path().join("signoffs.jsonl"),
        new.path().join("signoffs.jsonl"),
    )
    .unwrap();
    let (code, text) = verify(
        &new.path().join("report.json"),
        &repo.sha,
        &image(),
        &s.allowed,
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not this one"), "{text}");
    assert!(text.contains("has 0"), "{text}");
}

#[test]
fn a_dirty_work_tree_is_not_approved_and_names_the_path() {
    let repo = repo(CENTRAL, "", true);
    write(repo.path(), "docs/notes.md", "uncommitted\n");
    write(repo.path(), "LICENSE", "MIT, edited\n");
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, bundle) = audit(repo.path(), out.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(bundle["report"]["verdict"], "NOT_APPROVED");
    let reasons = bundle["report"]["reasons"].to_string();
    assert!(reasons.contains("docs/notes.md"), "{reasons}");
    assert!(reasons.contains("LICENSE"), "{reasons}");
    assert!(reasons.contains("require_clean"), "{reasons}");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("docs/notes.md"));
    // And verify says why too, even with the right commit.
    let s = tempfile::tempdir().unwrap();
    let allowed = s.path().join("allowed_signers");
    std::fs::write(&allowed, "").unwrap();
    let (code, text) = verify(
        &out.path().join("report.json"),
        &repo.sha,
        &image(),
        &allowed,
    );
    assert_eq!(code, 1);
    assert!(text.contains("uncommitted changes"), "{text}");
}

#[test]
fn an_overlay_that_loosens_the_central_policy_is_a_policy_error() {
    let overlay = r#"approve_min_score = 6.0
stale_after_days = 365

[[rule]]
id = "runbook"
area = "ops"
evidence.doc = { artifact = "docs/runbook.md" }
expect = ['true']

[[override]]
rule = "license"
severity = "warning"
weight = 0.5

[[override]]
rule = "images-pinned"
disabled = true
evidence = { artifact = "x.md" }
"#;
    let r1 = repo(CENTRAL, overlay, true);
    let (code, out, err) = run(&["policy", "validate", "shipshape.toml"], r1.path());
    assert_eq!(code, 2, "{out}{err}");
    for needle in [
        "shipshape.toml:8:1: overlay loosens the central policy: rule `runbook` redefines the central rule",
        "approve_min_score lowered from 8 to 6",
        "stale_after_days widened from 92 to 365",
        "override of rule `license` loosens it: severity lowered from blocking to warning",
        "override of rule `license` loosens it: weight lowered from 1 to 0.5",
        "override of rule `images-pinned` loosens it: `disabled`: a rule cannot be disabled",
        "override of rule `images-pinned` loosens it: it cannot change the rule's evidence",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    // audit refuses it as well (exit 2).
    let out_dir = tempfile::tempdir().unwrap();
    let (code, _, _) = audit(r1.path(), out_dir.path(), &[]);
    assert_eq!(code, 2);

    // A central policy that changed since it was pinned is a policy error too.
    let r2 = repo_with_pin(CENTRAL, &"0".repeat(64));
    let (code, _, err) = run(&["policy", "validate", "shipshape.toml"], r2.path());
    assert_eq!(code, 2);
    assert!(err.contains("but extends_sha256 pins 0000"), "{err}");

    // Tightening is fine: a raised threshold, a raised severity, an appended expectation.
    let tighten = r#"approve_min_score = 9.0
stale_after_days = 30
signoffs_required = [{ role = "sre", count = 2 }, { role = "security", count = 1 }]

[[override]]
rule = "images-pinned"
severity = "blocking"
weight = 2
expect = ['size(img.placeholders) == 0']
"#;
    let r3 = repo(CENTRAL, tighten, true);
    let (code, out, err) = run(&["policy", "validate", "shipshape.toml"], r3.path());
    assert_eq!(code, 0, "{out}{err}");
    let out_dir = tempfile::tempdir().unwrap();
    let (_, _, bundle) = audit(r3.path(), out_dir.path(), &[]);
    let trust = &bundle["report"]["trust"];
    assert!(
        trust["central"]["name"]
            .as_str()
            .unwrap()
            .ends_with("central/policy.toml")
    );
    assert!(trust["overlay"]["sha256"].is_string());
    assert_eq!(trust["signoffs_required"][0]["count"], 2);
    assert_eq!(trust["signoffs_required"][1]["role"], "security");
}

fn repo_with_pin(central: &str, pin: &str) -> Repo {
    let r = repo(central, "", true);
    let text = std::fs::read_to_string(r.path().join("shipshape.toml")).unwrap();
    let line = text.lines().nth(2).unwrap().to_string();
    std::fs::write(
        r.path().join("shipshape.toml"),
        text.replace(&line, &format!("extends_sha256 = \"{pin}\"")),
    )
    .unwrap();
    r
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
fn waivers_that_break_the_rules_are_ignored_and_reported() {
    // No runbook: the blocking `runbook` rule fails; three waivers try to cover it.
    let repo = repo(CENTRAL, "waivers_file = \"waivers.toml\"\n", false);
    write(
        repo.path(),
        "waivers.toml",
        r#"[[waiver]]
rule = "runbook"
reason = "Runbook lands next sprint"
owner = "alice"
approver = "alice"
ticket = "OPS-1"
granted = 2026-02-20
expires = 2026-03-10

[[waiver]]
rule = "runbook"
reason = "Runbook lands next quarter"
owner = "alice"
approver = "sre-lead"
ticket = "OPS-2"
granted = 2026-02-20
expires = 2026-05-20
"#,
    );
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "waivers"]);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, bundle) = audit(repo.path(), out.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        status_of(&bundle, "runbook"),
        "fail",
        "the rule keeps its outcome"
    );
    let ignored = bundle["report"]["trust"]["ignored_waivers"].to_string();
    assert!(
        ignored.contains("approved by its own owner `alice`"),
        "{ignored}"
    );
    assert!(
        ignored.contains("it lasts 89 days (granted 2026-02-20, expires 2026-05-20); a waiver of a blocking rule may last at most 30 days"),
        "{ignored}"
    );
    assert!(ignored.contains("waivers.toml:1:1"), "{ignored}");
    // Visible: a report warning, the terminal, the Markdown report.
    let warnings = bundle["report"]["warnings"].to_string();
    assert!(warnings.contains("waiver ignored"), "{warnings}");
    assert!(stdout.contains("approved by its own owner"), "{stdout}");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("Ignored waivers"));

    // A waiver that follows the rules applies (and the waivers file is named with its digest).
    write(
        repo.path(),
        "waivers.toml",
        r#"[[waiver]]
rule = "runbook"
reason = "Runbook lands next sprint"
owner = "alice"
approver = "sre-lead"
ticket = "OPS-3"
granted = 2026-02-25
expires = 2026-03-20
"#,
    );
    git(repo.path(), &["commit", "-q", "-am", "good waiver"]);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, bundle) = audit(repo.path(), out.path(), &[]);
    assert_eq!(status_of(&bundle, "runbook"), "waived", "{stdout}");
    assert_eq!(code, 0, "{stdout}");
    assert!(bundle["report"]["trust"]["waivers_file"]["sha256"].is_string());

    // A broken waivers file cannot brick the gate: it is reported, the rule keeps its outcome.
    write(repo.path(), "waivers.toml", "[[waiver]\nrule = ");
    git(repo.path(), &["commit", "-q", "-am", "broken"]);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, bundle) = audit(repo.path(), out.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(status_of(&bundle, "runbook"), "fail");
    assert!(stdout.contains("TOML syntax error"), "{stdout}");
}

#[test]
fn policy_change_since_the_baseline_is_reported() {
    let repo = repo(CENTRAL, "", true);
    let old = tempfile::tempdir().unwrap();
    audit(repo.path(), old.path(), &[]);
    let central = CENTRAL
        .to_string()
        .replace("approve_min_score = 8.0", "approve_min_score = 8.5");
    let sha = sha256_hex(central.as_bytes());
    write(repo.path(), "central/policy.toml", &central);
    write(
        repo.path(),
        "shipshape.toml",
        format!("[audit]\nextends = \"central/policy.toml\"\nextends_sha256 = \"{sha}\"\n"),
    );
    git(repo.path(), &["commit", "-q", "-am", "central policy 8.5"]);
    let new = tempfile::tempdir().unwrap();
    let baseline = old.path().join("report.json");
    let (_, stdout, bundle) = audit(
        repo.path(),
        new.path(),
        &["--baseline", baseline.to_str().unwrap()],
    );
    let changed = bundle["report"]["changes"]["policy_changed"]
        .as_str()
        .unwrap_or("");
    assert!(
        changed.starts_with("policy changed since the baseline: central policy"),
        "{changed}"
    );
    assert!(
        stdout.contains("policy changed since the baseline"),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// `verify` is the deployer's gate (issue 15): requirements from the verifier, auditor
// signatures, nothing a repository can plant or forge.

/// `verify` with any flags; (exit code, all output).
fn verify_with(bundle: &Path, commit: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify", bundle.to_str().unwrap(), "--commit", commit];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args, Path::new("."));
    (code, format!("{out}{err}"))
}

/// The digest `policy show` prints for the policy at `root`.
fn policy_digest(root: &Path) -> String {
    let (code, out, err) = run(&["policy", "show"], root);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .find_map(|l| l.strip_prefix("# sha256 "))
        .unwrap()
        .to_string()
}

#[test]
fn verify_takes_its_requirements_from_its_own_command_line() {
    let repo = repo(CENTRAL, "", true);
    let wanted = policy_digest(repo.path());
    // The same policy reached another way has the same digest.
    let (_, shown, _) = run(&["policy", "validate", "./shipshape.toml"], repo.path());
    assert!(shown.contains(&wanted), "{shown}");

    // A throwaway policy: one always-true rule, minimum score 0 — APPROVED, and refused.
    let r = repo.path();
    write(
        r,
        "shipshape.toml",
        "[audit]\napprove_min_score = 0\n\n[[area]]\nid = \"x\"\n\n[[rule]]\nid = \"ok\"\narea = \"x\"\nevidence.f = { files = [\"LICENSE\"] }\nexpect = ['true']\n",
    );
    git(r, &["commit", "-q", "-am", "throwaway"]);
    let sha = git(r, &["rev-parse", "HEAD"]);
    let out = tempfile::tempdir().unwrap();
    let (code, text, _) = audit(r, out.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let b = out.path().join("report.json");
    let (code, text) = verify_with(&b, &sha, &[]);
    assert_eq!(
        code, 0,
        "without demands the throwaway bundle verifies: {text}"
    );
    let (code, text) = verify_with(
        &b,
        &sha,
        &[
            "--policy-sha256",
            &wanted,
            "--env",
            "staging",
            "--min-score",
            "8",
            "--max-age",
            "1h",
            "--now",
            "2026-03-02T12:00:00Z",
            "--require-signoff",
            "sre=2",
        ],
    );
    assert_eq!(code, 1, "{text}");
    for reason in [
        &format!("not the required {wanted}"),
        "for environment `prod`, not `staging`",
        "older than the allowed 1 hour(s)",
        "sign-off",
    ] {
        assert!(text.contains(reason), "`{reason}` missing in:\n{text}");
    }
    // The deployer's score bar holds whatever the bundle's policy asked.
    let (code, text) = verify_with(&b, &sha, &["--min-score", "10.1"]);
    assert_eq!(code, 2, "{text}");
}

#[test]
fn an_edited_and_rehashed_bundle_fails_the_auditor_signature_and_recomputation() {
    if !have_ssh_keygen() {
        assert!(
            std::env::var_os("CI").is_none(),
            "ssh-keygen is required in CI"
        );
        return;
    }
    // The policy fails: a runbook is missing, so a blocking rule fails.
    let repo = repo(CENTRAL, "", false);
    let keys = tempfile::tempdir().unwrap();
    let (ci_key, ci_pub) = keygen(keys.path(), "ci");
    let allowed = keys.path().join("auditors");
    std::fs::write(
        &allowed,
        format!("ci@example.com namespaces=\"shipshape-bundle\" {ci_pub}\n"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, text, _) = audit(
        repo.path(),
        out.path(),
        &["--sign-key", ci_key.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{text}");
    let b = out.path().join("report.json");
    assert!(out.path().join("report.json.sig").is_file());
    let auditor = [
        "--allowed-signers",
        allowed.to_str().unwrap(),
        "--require-auditor",
        "ci@example.com",
    ];
    let (code, text) = verify_with(&b, &repo.sha, &auditor);
    assert_eq!(code, 1, "NOT APPROVED never verifies: {text}");
    assert!(
        text.contains("signed by the auditor `ci@example.com`"),
        "{text}"
    );

    // Flip the verdict and the failing rule, then recompute the sha256 as anyone can.
    let mut bundle =
        shipshape::evidence::Bundle::from_json(&std::fs::read_to_string(&b).unwrap()).unwrap();
    bundle.report.verdict = shipshape::evaluate::score::Verdict::Approved;
    bundle.report.reasons.clear();
    bundle.sha256 = bundle.digest();
    std::fs::write(&b, serde_json::to_string(&bundle).unwrap()).unwrap();
    let (code, text) = verify_with(&b, &repo.sha, &auditor);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("bundle sha256") && text.contains("intact"),
        "re-hashed: {text}"
    );
    assert!(
        text.contains("does not verify for `ci@example.com`"),
        "{text}"
    );
    assert!(
        text.contains("the recorded verdict APPROVED is not what its outcomes give"),
        "{text}"
    );

    // No signature at all: refused when an auditor is required.
    std::fs::remove_file(out.path().join("report.json.sig")).unwrap();
    let (code, text) = verify_with(&b, &repo.sha, &auditor);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not signed by an auditor"), "{text}");
}

#[test]
fn a_signed_bundle_is_never_overwritten_without_force() {
    if !have_ssh_keygen() {
        assert!(
            std::env::var_os("CI").is_none(),
            "ssh-keygen is required in CI"
        );
        return;
    }
    let repo = repo(CENTRAL, "", true);
    let s = signers();
    let out = tempfile::tempdir().unwrap();
    audit(repo.path(), out.path(), &[]);
    signoff(
        &out.path().join("report.json"),
        &s.alice,
        "alice@example.com",
        "sre",
        "approve",
    );
    let (code, text, _) = audit(repo.path(), out.path(), &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("is a signed bundle"), "{text}");
    let (code, text, _) = audit(repo.path(), out.path(), &["--force"]);
    assert!(matches!(code, 0 | 1), "{text}");
}

#[test]
fn a_digest_mentioned_in_prose_binds_no_image() {
    let repo = repo(CENTRAL, "", true);
    let out = tempfile::tempdir().unwrap();
    audit(repo.path(), out.path(), &[]);
    let b = out.path().join("report.json");
    // deploy/images.md names ghcr.io/acme/other@sha256:ccc… in prose only.
    let prose = format!("ghcr.io/acme/app:1.4.0@sha256:{}", digest('a'));
    let (_, text) = verify_with(&b, &repo.sha, &["--image", &prose]);
    assert!(
        text.contains("seen by the audit"),
        "the manifest's image binds: {text}"
    );
    write(
        repo.path(),
        "deploy/images.md",
        format!(
            "# Images\n\nAlso ghcr.io/acme/other:2@sha256:{}\n",
            digest('c')
        ),
    );
    git(repo.path(), &["commit", "-q", "-am", "prose"]);
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    let out = tempfile::tempdir().unwrap();
    audit(repo.path(), out.path(), &[]);
    let other = format!("ghcr.io/acme/other:2@sha256:{}", digest('c'));
    let (code, text) = verify_with(&out.path().join("report.json"), &sha, &["--image", &other]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("the audit never saw that digest"), "{text}");
}

#[test]
fn publish_history_cannot_be_forged() {
    let repo = repo(CENTRAL, "", true);
    let r = repo.path();
    let dir = "docs/operations-artifacts";
    // A forged, future-dated "published audit" and a hand-written one without a seal.
    write(
        r,
        &format!("{dir}/final-production-readiness-audit-20261231.md"),
        "**Verdict: APPROVED** · score **10.0/10**\n",
    );
    write(
        r,
        &format!("{dir}/final-production-readiness-audit-20260101.md"),
        "**Verdict: APPROVED** · score **10.0/10**\n",
    );
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "forged audits"]);
    let out = tempfile::tempdir().unwrap();
    let (code, text, _) = audit(r, out.path(), &["--publish"]);
    assert!(matches!(code, 0 | 1), "{text}");
    assert!(
        text.contains("dated 2026-12-31, after this audit"),
        "{text}"
    );
    assert!(text.contains("no shipshape seal"), "{text}");
    let index = std::fs::read_to_string(r.join(dir).join("audits.md")).unwrap();
    assert!(
        !index.contains("20261231") && !index.contains("20260101"),
        "{index}"
    );
    assert!(
        index.contains("final-production-readiness-audit-20260301.md"),
        "{index}"
    );
    // Neither forged file was touched (no superseded note).
    let forged = std::fs::read_to_string(
        r.join(dir)
            .join("final-production-readiness-audit-20261231.md"),
    )
    .unwrap();
    assert!(!forged.contains("Superseded"));

    // A second publish the same day with different evidence: `-2`, not an overwrite.
    let first = std::fs::read_to_string(
        r.join(dir)
            .join("final-production-readiness-audit-20260301.md"),
    )
    .unwrap();
    write(r, "docs/runbook.md", "# Runbook\n\nStatus: BLOCKED\n");
    let out2 = tempfile::tempdir().unwrap();
    audit(r, out2.path(), &["--publish"]);
    let now_first = std::fs::read_to_string(
        r.join(dir)
            .join("final-production-readiness-audit-20260301.md"),
    )
    .unwrap();
    assert!(
        now_first
            .starts_with("> **Superseded** by [final-production-readiness-audit-20260301-2.md]")
    );
    assert!(
        now_first.ends_with(&first),
        "the first publish of the day keeps its body"
    );
    let second = std::fs::read_to_string(
        r.join(dir)
            .join("final-production-readiness-audit-20260301-2.md"),
    )
    .unwrap();
    assert_ne!(second, first);
    assert!(second.contains("<!-- shipshape-published bundle-sha256="));

    // A publish folder that is a symlink out of the repository is refused.
    let outside = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(r.join(dir)).unwrap();
    std::os::unix::fs::symlink(outside.path(), r.join(dir)).unwrap();
    let out3 = tempfile::tempdir().unwrap();
    let (code, text, _) = audit(r, out3.path(), &["--publish"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("outside the repository"), "{text}");
}

#[test]
fn cached_results_pending_rules_and_the_central_policy_are_the_verifiers_call() {
    let repo = repo(CENTRAL, "", true);
    let r = repo.path();
    // A command rule (cached on the second run) and a pending warning rule, added by the overlay.
    let overlay = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    write(
        r,
        "shipshape.toml",
        format!(
            "{overlay}\n[[area]]\nid = \"extra\"\n\n[[rule]]\nid = \"cmd\"\narea = \"extra\"\nseverity = \"warning\"\nevidence.c = {{ run = \"true\" }}\nexpect = ['c.exit_code == 0']\n\n[[rule]]\nid = \"maybe\"\narea = \"extra\"\nseverity = \"warning\"\nevidence.h = {{ http = \"http://127.0.0.1:9/healthz\", timeout = 1 }}\nexpect = ['h.status == 200']\n"
        ),
    );
    git(r, &["commit", "-q", "-am", "extra rules"]);
    let sha = git(r, &["rev-parse", "HEAD"]);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    audit(r, out.path(), &["--cache-dir", cache_dir]);
    let out2 = tempfile::tempdir().unwrap();
    let (_, _, b2) = audit(r, out2.path(), &["--cache-dir", cache_dir]);
    assert_eq!(b2["run"]["cached"].as_object().map_or(0, |m| m.len()), 1);
    let bundle = out2.path().join("report.json");
    let (code, text) = verify_with(&bundle, &sha, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("1 command result(s) came from the cache"),
        "{text}"
    );
    assert!(
        text.contains("rule(s) are pending") && text.contains("maybe"),
        "{text}"
    );
    let wrong = "0".repeat(64);
    let (_, text) = verify_with(
        &bundle,
        &sha,
        &[
            "--allow-cached",
            "--allow-pending",
            "--central-sha256",
            &wrong,
        ],
    );
    assert!(!text.contains("came from the cache"), "{text}");
    assert!(!text.contains("are pending"), "{text}");
    assert!(
        text.contains(&format!("not the required {wrong}")),
        "{text}"
    );
    let central = sha256_hex(CENTRAL.as_bytes());
    let (_, text) = verify_with(&bundle, &sha, &["--central-sha256", &central]);
    assert!(
        text.contains(&format!(
            "central policy central/policy.toml sha256 {central}"
        )) || text.contains(&central),
        "{text}"
    );
    assert!(!text.contains("extends central policy sha256"), "{text}");
}

/// An audit whose cluster evidence is a simulated snapshot may be APPROVED (a demo), but
/// `verify` refuses it unless the deployer accepts simulated evidence explicitly.
#[test]
fn verify_refuses_simulated_cluster_evidence_unless_allowed() {
    let repo = repo(CENTRAL, "", true);
    let r = repo.path();
    write(
        r,
        "shipshape.toml",
        "[audit]\napprove_min_score = 0\n\n[cluster]\nsnapshot = \"cluster.yaml\"\n\n[[area]]\nid = \"x\"\n\n[[rule]]\nid = \"live\"\narea = \"x\"\nevidence.d = { cluster = \"apps/v1\", kind = \"Deployment\" }\nexpect = ['d.count == 1']\n",
    );
    write(
        r,
        "cluster.yaml",
        format!(
            "# shipshape-simulated: true\n# shipshape-captured-at: {NOW}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: a\n"
        ),
    );
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "simulated"]);
    let sha = git(r, &["rev-parse", "HEAD"]);
    let out = tempfile::tempdir().unwrap();
    let (code, text, b) = audit(r, out.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(b["report"]["provenance"]["cluster"]["simulated"], true);
    let bundle = out.path().join("report.json");
    let (code, text) = verify_with(&bundle, &sha, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("the cluster evidence is simulated"), "{text}");
    let (code, text) = verify_with(&bundle, &sha, &["--allow-simulated"]);
    assert_eq!(code, 0, "{text}");
}
