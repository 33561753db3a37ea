//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shipshape")
}

/// Copy `from` into `to`, skipping caches, so a test can change the copy freely.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" || name == ".coverage" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&src, &dst);
        } else if ft.is_file() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A copy of the bundled example in a fresh temp folder, committed to a new git repository with
/// pinned dates and author, as a team's checkout of the service would be.
pub fn copy_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&example_dir(), dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "shipshape 0.2.2"]);
    dir
}

/// Run `git` in `root` with a fixed identity and pinned dates.
pub fn git(root: &Path, args: &[&str]) {
    git_at(root, "2026-02-10T09:00:00Z", args)
}

/// [`git`] with another pinned date (author and committer), for a later commit.
pub fn git_at(root: &Path, date: &str, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args([
            "-c",
            "user.name=Fixture",
            "-c",
            "user.email=fixture@example.com",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `tool` runs here. A test that needs a missing tool fails loudly when `CI` is set
/// (naming the tool and how to install it) and otherwise says loudly that it is skipped — never
/// a quiet pass.
pub fn have_tool(tool: &str, probe: &[&str], install: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is required when CI is set ({install})"
        );
        eprintln!("\n\n!!!!! SKIPPED: this test needs `{tool}` ({install}) !!!!!\n\n");
    }
    ok
}

/// kubectl with kustomize, which renders the example's and the fixtures' overlays.
pub fn have_kubectl() -> bool {
    have_tool(
        "kubectl",
        &["version", "--client"],
        "install kubectl with kustomize v5: https://kubernetes.io/docs/tasks/tools/",
    )
}

/// python3, which runs the example's own tests and validators.
pub fn have_python3() -> bool {
    have_tool("python3", &["--version"], "Debian: apt-get install python3")
}

/// Write `rel` under `root`, creating its folders.
pub fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// One `shipshape audit` run: exit code, the bundle, the Markdown report and stderr.
pub struct Run {
    pub code: i32,
    pub bundle: serde_json::Value,
    pub md: String,
    pub stderr: String,
}

impl Run {
    /// The outcome of `rule` in the bundle.
    pub fn outcome(&self, rule: &str) -> &serde_json::Value {
        self.bundle["outcomes"]
            .as_array()
            .unwrap_or_else(|| panic!("no bundle: {}", self.stderr))
            .iter()
            .find(|o| o["rule"] == rule)
            .unwrap_or_else(|| panic!("no outcome for {rule}"))
    }

    /// The findings of `rule` in the bundle.
    pub fn findings(&self, rule: &str) -> Vec<&serde_json::Value> {
        self.bundle["report"]["findings"]
            .as_array()
            .map(|a| a.iter().filter(|f| f["rule"] == rule).collect())
            .unwrap_or_default()
    }
}

/// `shipshape audit ROOT --out ROOT/out` at `now` (plus `extra`), reading back what it wrote.
pub fn audit_at(root: &Path, now: &str, extra: &[&str]) -> Run {
    let out_dir = root.join("out");
    let out = assert_cmd::Command::cargo_bin("shipshape")
        .unwrap()
        .arg("audit")
        .arg(root)
        .arg("--out")
        .arg(&out_dir)
        .args(["--now", now, "--format", "md,json"])
        .args(extra)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        bundle: std::fs::read_to_string(out_dir.join("report.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null),
        md: std::fs::read_to_string(out_dir.join("report.md")).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
