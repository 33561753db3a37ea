//! Where the audited folder sits in git: the boundary (the enclosing work tree) and HEAD for
//! provenance. git2 types stay inside this module.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Repository HEAD as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Head {
    pub sha: String,
    pub short: String,
    pub branch: String,
    pub dirty: bool,
    pub dirty_paths: Vec<String>,
    pub time: String,
}

/// The enclosing git work tree root of `path`, if any.
pub fn work_tree_root(path: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(path).ok()?;
    let wt = repo.workdir()?;
    std::fs::canonicalize(wt).ok()
}

/// HEAD of the repository enclosing `path`; dirty paths are those under `path` only, so an
/// audit of a sub-folder is not made dirty by unrelated work elsewhere in a monorepo.
pub fn head(path: &Path) -> Option<Head> {
    let repo = git2::Repository::discover(path).ok()?;
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?;
    let sha = commit.id().to_string();
    let branch = if head.is_branch() {
        head.shorthand().unwrap_or("HEAD").to_string()
    } else {
        "(detached)".to_string()
    };
    let time = chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let wt = std::fs::canonicalize(repo.workdir()?).ok()?;
    let canon = std::fs::canonicalize(path).ok()?;
    let prefix = canon
        .strip_prefix(&wt)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    if !prefix.is_empty() {
        opts.pathspec(&prefix);
    }
    let mut dirty_paths: Vec<String> = repo
        .statuses(Some(&mut opts))
        .ok()?
        .iter()
        .filter(|s| !s.status().is_ignored())
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect();
    dirty_paths.sort();
    Some(Head {
        short: sha.chars().take(12).collect(),
        sha,
        branch,
        dirty: !dirty_paths.is_empty(),
        dirty_paths,
        time,
    })
}
