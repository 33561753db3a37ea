//! The command cache: a `run` result is reused while the command, its declared inputs and the
//! environment are unchanged, and the bundle digest does not depend on whether it was.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

const NOW: &str = "2026-02-10T12:00:00Z";

const POLICY: &str = r#"
[audit]
name = "fixture"

[[area]]
id = "dev"

[[rule]]
id = "stamp"
area = "dev"
evidence.t = { run = "date +%s%N; cat src/lib.txt", inputs = ["src/**"] }
expect = ['t.exit_code == 0']

[[rule]]
id = "whole-tree"
area = "dev"
evidence.w = { run = "date +%s%N" }
expect = ['w.exit_code == 0']
"#;

fn audit(dir: &Path, out: &Path, extra: &[&str]) -> Value {
    audit_with_path(dir, out, extra, None)
}

/// [`audit`] with `PATH` set to `path` when given.
fn audit_with_path(dir: &Path, out: &Path, extra: &[&str], path: Option<&str>) -> Value {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("shipshape");
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.arg("audit")
        .arg(dir)
        .args(["--format", "json,md", "-q", "--out"])
        .arg(out);
    if !extra.contains(&"--now") {
        cmd.args(["--now", NOW]);
    }
    // Each fixture its own cache, outside its repository.
    if !extra.contains(&"--cache-dir") {
        cmd.arg("--cache-dir")
            .arg(out.parent().unwrap().join("cache"));
    }
    let res = cmd.args(extra).output().unwrap();
    assert!(
        matches!(res.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

fn stdout_of(b: &Value, command: &str) -> String {
    b["evidence"]
        .as_object()
        .unwrap()
        .values()
        .find(|i| i["request"]["command"] == command)
        .unwrap()["value"]["stdout"]
        .as_str()
        .unwrap()
        .to_string()
}

fn cached(b: &Value) -> usize {
    b["run"]["cached"].as_object().map_or(0, |m| m.len())
}

fn fixture() -> (TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("shipshape.toml"), POLICY).unwrap();
    std::fs::write(root.join("src/lib.txt"), "v1\n").unwrap();
    std::fs::write(root.join("README.md"), "# Fixture\n").unwrap();
    let out = tmp.path().join("out");
    (tmp, root, out)
}

const STAMP: &str = "date +%s%N; cat src/lib.txt";

#[test]
fn a_second_run_reuses_results_with_the_same_digest() {
    let (_tmp, root, out) = fixture();
    let first = audit(&root, &out, &[]);
    assert_eq!(cached(&first), 0);
    let second = audit(&root, &out, &[]);
    assert_eq!(cached(&second), 2, "{}", second["run"]);
    assert_eq!(stdout_of(&first, STAMP), stdout_of(&second, STAMP));
    // Cached or not, the same evidence: the same digest.
    assert_eq!(first["sha256"], second["sha256"]);
    // The evidence value says so (out of the digest) and the report tells when it was produced.
    assert!(second["evidence"].to_string().find("\"cached\"").is_none());
    let row = &second["report"]["commands"][0];
    assert!(row["cached_at"].as_str().unwrap().ends_with('Z'), "{row}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("(cached result, produced "), "{md}");
    // The cache lives outside the repository, with its machine key.
    assert!(out.parent().unwrap().join("cache/key").is_file());
    assert!(!out.join(".cache").exists());

    // --no-cache runs every command again.
    let fresh = audit(&root, &out, &["--no-cache"]);
    assert_eq!(cached(&fresh), 0);
    assert_ne!(stdout_of(&fresh, STAMP), stdout_of(&first, STAMP));
}

#[test]
fn a_changed_input_invalidates_and_an_unrelated_change_does_not() {
    let (_tmp, root, out) = fixture();
    let first = audit(&root, &out, &[]);
    // README.md is not an input of the `inputs = ["src/**"]` command (it is of the other one).
    std::fs::write(root.join("README.md"), "# Fixture, renamed\n").unwrap();
    let second = audit(&root, &out, &[]);
    assert_eq!(cached(&second), 1, "{}", second["run"]);
    assert_eq!(stdout_of(&first, STAMP), stdout_of(&second, STAMP));
    assert_ne!(
        stdout_of(&first, "date +%s%N"),
        stdout_of(&second, "date +%s%N")
    );
    // An input changes: the command runs again and sees it.
    std::fs::write(root.join("src/lib.txt"), "v2\n").unwrap();
    let third = audit(&root, &out, &[]);
    // Both commands run again: src/lib.txt is an input of each (the default is the whole tree).
    assert_eq!(cached(&third), 0, "{}", third["run"]);
    assert!(stdout_of(&third, STAMP).ends_with("v2\n"));
    assert_ne!(stdout_of(&second, STAMP), stdout_of(&third, STAMP));
}

/// A kustomize render is cached like a command: reused while the tree and kubectl are
/// unchanged (kubectl is not started again), redone when a base file changes.
#[test]
fn kustomize_renders_are_reused_until_the_tree_changes() {
    let Some(real) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("kubectl"))
            .find(|k| k.is_file())
    }) else {
        panic!("kubectl must be on PATH (kubectl 1.32 with kustomize v5)");
    };
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("repo");
    let out = tmp.path().join("out");
    let bin = tmp.path().join("bin");
    let calls = tmp.path().join("calls.log");
    std::fs::create_dir_all(root.join("k8s/base")).unwrap();
    std::fs::create_dir_all(root.join("k8s/prod")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    // A kubectl that counts how often it is started.
    let wrapper = bin.join("kubectl");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n",
            calls.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        root.join("shipshape.toml"),
        r#"
[audit]
name = "fixture"
[[area]]
id = "k8s"
[[rule]]
id = "replicas"
area = "k8s"
evidence.m = { manifests = ["k8s/prod"], kind = "Deployment" }
expect = ['m.objects.all(d, d.spec.replicas >= 2)']
"#,
    )
    .unwrap();
    let deployment = |replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {replicas}\n"
        )
    };
    std::fs::write(root.join("k8s/base/deploy.yaml"), deployment(3)).unwrap();
    std::fs::write(
        root.join("k8s/base/kustomization.yaml"),
        "resources:\n- deploy.yaml\n",
    )
    .unwrap();
    std::fs::write(
        root.join("k8s/prod/kustomization.yaml"),
        "resources:\n- ../base\nnamespace: prod\n",
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |extra: &[&str]| audit_with_path(&root, &out, extra, Some(&path));
    let started = || {
        std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let status = |b: &Value| b["outcomes"][0]["status"].as_str().unwrap().to_string();

    let first = run(&[]);
    assert_eq!((started(), status(&first).as_str()), (1, "pass"));
    let second = run(&[]);
    assert_eq!(started(), 1, "the second run rendered again");
    assert_eq!(first["sha256"], second["sha256"]);
    assert_eq!(first["evidence"], second["evidence"]);
    // A base file changes: rendered again, and the rule sees the change.
    std::fs::write(root.join("k8s/base/deploy.yaml"), deployment(1)).unwrap();
    let third = run(&[]);
    assert_eq!((started(), status(&third).as_str()), (2, "fail"));
    // --no-cache always renders.
    run(&["--no-cache"]);
    assert_eq!(started(), 3);
}

/// A cache entry made anywhere but by this machine's key is never used: committed to the
/// repository, copied from another machine, or edited by hand (issue 15).
#[test]
fn a_planted_cache_entry_is_never_used() {
    let (tmp, root, out) = fixture();
    let first = audit(&root, &out, &[]);
    assert_eq!(cached(&first), 0);
    let cache = tmp.path().join("cache");
    // Another machine's cache: same entry names, a different key.
    let other = tmp.path().join("other-cache");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("key"), [7u8; 32]).unwrap();
    for e in std::fs::read_dir(&cache).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "key" {
            std::fs::copy(e.path(), other.join(e.file_name())).unwrap();
        }
    }
    let second = audit(&root, &out, &["--cache-dir", other.to_str().unwrap()]);
    assert_eq!(
        cached(&second),
        0,
        "entries signed by another key are ignored"
    );

    // A cache folder inside the repository (CI-style `--out` in the checkout) is refused.
    let res = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .arg("audit")
        .arg(&root)
        .args(["--now", NOW, "-q", "--out"])
        .arg(root.join("shipshape-out"))
        .arg("--cache-dir")
        .arg(root.join("shipshape-out/.cache"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("inside the audited repository"));
}

/// The audit date is part of every key: a check that depends on the date cannot keep a cached
/// pass into the next day.
#[test]
fn a_cached_result_does_not_survive_a_day() {
    let (_tmp, root, out) = fixture();
    audit(&root, &out, &[]);
    let same_day = audit(&root, &out, &["--now", "2026-02-10T23:00:00Z"]);
    assert_eq!(cached(&same_day), 2);
    let next_day = audit(&root, &out, &["--now", "2026-02-11T00:30:00Z"]);
    assert_eq!(cached(&next_day), 0, "{}", next_day["run"]);
}

/// A declared input that git ignores (a generated file) is still part of the key: changing it
/// reruns the command (issue 15).
#[test]
fn an_ignored_declared_input_still_invalidates() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(root.join("gen")).unwrap();
    std::fs::write(
        root.join("shipshape.toml"),
        "[audit]\nname = \"fixture\"\n[[area]]\nid = \"dev\"\n[[rule]]\nid = \"gen\"\narea = \"dev\"\nevidence.t = { run = \"cat gen/config.txt\", inputs = [\"gen/**\"] }\nexpect = ['t.exit_code == 0']\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "gen/\n").unwrap();
    std::fs::write(root.join("gen/config.txt"), "v1\n").unwrap();
    let out = tmp.path().join("out");
    audit(&root, &out, &[]);
    let second = audit(&root, &out, &[]);
    assert_eq!(cached(&second), 1);
    std::fs::write(root.join("gen/config.txt"), "v2\n").unwrap();
    let third = audit(&root, &out, &[]);
    assert_eq!(cached(&third), 0, "{}", third["run"]);
    assert_eq!(stdout_of(&third, "cat gen/config.txt"), "v2\n");
}
