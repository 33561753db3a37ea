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

/// Every path in the git index (tracked files) under `root`, relative to `root` and
/// `/`-separated; `None` outside a repository. Submodules (gitlinks) are left out: their
/// content is not this repository's.
pub fn tracked_files(root: &Path) -> Option<Vec<String>> {
    let (repo, loc) = crate::collect::git::locate(root).ok()?;
    let index = repo.index().ok()?;
    let prefix = if loc.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", loc.prefix)
    };
    const GITLINK: u32 = 0o160000;
    let mut out: Vec<String> = index
        .iter()
        .filter(|e| e.mode & 0o170000 != GITLINK)
        .filter_map(|e| {
            let p = std::str::from_utf8(&e.path).ok()?;
            p.strip_prefix(prefix.as_str()).map(str::to_string)
        })
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

/// HEAD of the repository enclosing `path`; dirty paths are those under `path` only, so an
/// audit of a sub-folder is not made dirty by unrelated work elsewhere in a monorepo.
pub fn head(path: &Path) -> Option<Head> {
    head_checked(path, &|_| false).ok()
}

/// HEAD as [`head`] reads it, or a sentence saying why there is none (not a repository, an
/// unborn branch). `skip` receives each dirty path relative to `path` and leaves out those it
/// returns true for: shipshape's own published audits are output, not uncommitted evidence.
pub fn head_checked(path: &Path, skip: &dyn Fn(&str) -> bool) -> Result<Head, String> {
    let (repo, loc) = crate::collect::git::locate(path)?;
    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            return Err(
                "the current branch has no commits yet (unborn HEAD), so there is no HEAD to report"
                    .into(),
            );
        }
        Err(e) => return Err(format!("cannot read HEAD: {}", e.message())),
    };
    let commit = head
        .peel_to_commit()
        .map_err(|e| format!("HEAD does not point at a commit: {}", e.message()))?;
    let sha = commit.id().to_string();
    let branch = if head.is_branch() {
        head.shorthand().unwrap_or("HEAD").to_string()
    } else {
        "(detached)".to_string()
    };
    let time = chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let prefix = loc.prefix.clone();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    if !prefix.is_empty() {
        opts.pathspec(&prefix);
    }
    let mut dirty_paths: Vec<String> = repo
        .statuses(Some(&mut opts))
        .map_err(|e| format!("cannot read the work tree status: {}", e.message()))?
        .iter()
        .filter(|s| !s.status().is_ignored())
        .filter_map(|s| s.path().ok().map(str::to_string))
        .filter(|p| !skip(&loc.from_repo(p)))
        .collect();
    dirty_paths.sort();
    Ok(Head {
        short: sha.chars().take(12).collect(),
        sha,
        branch,
        dirty: !dirty_paths.is_empty(),
        dirty_paths,
        time,
    })
}
