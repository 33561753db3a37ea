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
