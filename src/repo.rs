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

/// Start libgit2 once, before any thread. Its https support (fleet mode's clones) loads the
/// system's CA bundle when it starts — 140 certificates parsed, 8 ms of CPU on every run, a tenth
/// of a small audit. A run that never clones starts it with the CA locations pointed at an empty
/// file for that moment (OpenSSL ignores what it cannot load; libgit2 then has no CA store, which
/// only a clone would use) and the environment put back as it was, so the programs that inherit
/// it (git, ssh-keygen, the Kubernetes client's certificate lookup) see the user's own settings.
pub fn start_libgit2(clones: bool) {
    const VARS: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];
    if clones {
        return; // started by its first use, with the CA store
    }
    let saved: Vec<Option<std::ffi::OsString>> = VARS.iter().map(std::env::var_os).collect();
    // SAFETY: called first thing in `main`, before any thread exists, so nothing reads or writes
    // the environment concurrently.
    unsafe {
        for var in VARS {
            std::env::set_var(var, "/dev/null");
        }
    }
    git2::opts::strict_hash_verification(false);
    // SAFETY: as above; still the only thread.
    unsafe {
        for (var, value) in VARS.iter().zip(saved) {
            match value {
                Some(v) => std::env::set_var(var, v),
                None => std::env::remove_var(var),
            }
        }
    }
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
    let changed = match status_by_git(&loc.workdir, &loc.prefix) {
        Some(paths) => paths,
        None => status_by_libgit2(&repo, &loc.prefix)?,
    };
    let mut dirty_paths: Vec<String> = changed
        .into_iter()
        .filter(|p| !skip(&loc.from_repo(p)))
        .collect();
    dirty_paths.sort();
    dirty_paths.dedup();
    Ok(Head {
        short: sha.chars().take(12).collect(),
        sha,
        branch,
        dirty: !dirty_paths.is_empty(),
        dirty_paths,
        time,
    })
}

/// Every path (repository-relative) `git status` lists under `prefix`: changed against HEAD or
/// the index, deleted, in conflict, or untracked and not ignored.
///
/// git's own `status` first: it takes the whole tree's stat data on several threads and is two to
/// three times quicker than libgit2's on a large tree (kubernetes: 93 ms against 230 ms), where
/// it was the largest fixed cost of an audit. Run so that it writes nothing (no optional index
/// refresh) and starts no fsmonitor hook; where git is missing or refuses (another owner's
/// repository, an unsupported extension), libgit2 answers instead — the same list.
fn status_by_git(workdir: &Path, prefix: &str) -> Option<Vec<String>> {
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(workdir)
        .args(["--no-optional-locks", "-c", "core.fsmonitor=false"])
        .args(["status", "--porcelain=v2", "-z", "--untracked-files=all"])
        .args(["--no-renames", "--ignore-submodules=none"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "GIT_COMMON_DIR",
    ] {
        cmd.env_remove(var);
    }
    if !prefix.is_empty() {
        cmd.args(["--", &format!(":(top,literal){prefix}")]);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    parse_porcelain_v2(&out.stdout)
}

/// The paths of `git status --porcelain=v2 -z` output (renames off, so one path a record);
/// `None` when a record is not one this reader knows.
fn parse_porcelain_v2(out: &[u8]) -> Option<Vec<String>> {
    let mut paths = Vec::new();
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text = std::str::from_utf8(record).ok();
        let (kind, fields) = match record.first()? {
            b'1' => (1, 8),
            b'u' => (1, 10),
            b'?' => (2, 1),
            b'#' | b'!' => continue,
            _ => return None,
        };
        // Ordinary and unmerged records: the path follows a fixed number of fields.
        let path = match kind {
            2 => text.and_then(|t| t.get(2..)),
            _ => text.and_then(|t| t.splitn(fields + 1, ' ').nth(fields)),
        };
        // A name that is not UTF-8 is left out, as libgit2's list leaves it out.
        if let Some(p) = path {
            paths.push(p.to_string());
        }
    }
    Some(paths)
}

/// [`status_by_git`] by libgit2.
fn status_by_libgit2(repo: &git2::Repository, prefix: &str) -> Result<Vec<String>, String> {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    if !prefix.is_empty() {
        opts.pathspec(prefix);
    }
    Ok(repo
        .statuses(Some(&mut opts))
        .map_err(|e| format!("cannot read the work tree status: {}", e.message()))?
        .iter()
        .filter(|s| !s.status().is_ignored())
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect())
}

/// Files read as evidence whose content differs from HEAD, by content: a modification that
/// the index hides (`--skip-worktree`, `--assume-unchanged`, stale stat data) still counts, and
/// a file HEAD does not hold (untracked, ignored or not) is uncommitted evidence. Submodules
/// are compared whatever their `ignore` setting says: a checked-out commit other than the one
/// HEAD records, or changes inside, make them dirty. Paths are relative to `root`.
pub fn dirty_evidence(root: &Path, files: &[String]) -> Result<Vec<String>, String> {
    let (repo, loc) = crate::collect::git::locate(root)?;
    let tree = repo
        .head()
        .and_then(|h| h.peel_to_tree())
        .map_err(|e| format!("cannot read HEAD's tree: {}", e.message()))?;
    let mut dirty = Vec::new();
    for rel in files {
        let Ok(in_repo) = loc.to_repo(rel) else {
            continue;
        };
        let on_disk = root.join(rel);
        let differs = match tree.get_path(Path::new(&in_repo)) {
            Err(_) => on_disk.exists(),
            Ok(entry) => {
                let meta = std::fs::symlink_metadata(&on_disk);
                match meta {
                    Err(_) => true,
                    Ok(m) if m.file_type().is_symlink() => {
                        let target = std::fs::read_link(&on_disk)
                            .map(|t| t.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        git2::Oid::hash_object(git2::ObjectType::Blob, target.as_bytes())
                            .map_or(true, |id| id != entry.id())
                    }
                    Ok(_) => !same_content(&repo, entry.id(), &on_disk),
                }
            }
        };
        if differs {
            dirty.push(rel.clone());
        }
    }
    for sm in repo.submodules().unwrap_or_default() {
        let path = sm.path().to_string_lossy().replace('\\', "/");
        let moved = sm.workdir_id().is_some() && sm.workdir_id() != sm.head_id();
        let changed = sm.open().ok().is_some_and(|r| {
            let mut o = git2::StatusOptions::new();
            o.include_untracked(true);
            r.statuses(Some(&mut o))
                .map(|s| s.iter().any(|e| !e.status().is_ignored()))
                .unwrap_or(false)
        });
        let rel = loc.from_repo(&path);
        if (moved || changed) && !rel.starts_with("../") {
            dirty.push(rel);
        }
    }
    dirty.sort();
    dirty.dedup();
    Ok(dirty)
}

/// Whether the work-tree file holds what HEAD's blob `id` holds: byte for byte, or as git's
/// checkout would have written it — CRLF line ends (`eol=crlf`, `autocrlf`) and Git LFS
/// pointers (the blob names the file's sha256) — so those never read as uncommitted changes.
fn same_content(repo: &git2::Repository, id: git2::Oid, path: &Path) -> bool {
    if git2::Oid::hash_file(git2::ObjectType::Blob, path).is_ok_and(|h| h == id) {
        return true;
    }
    let (Ok(blob), Ok(bytes)) = (repo.find_blob(id), std::fs::read(path)) else {
        return false;
    };
    let head = blob.content();
    if let Some(oid) = lfs_oid(head) {
        use sha2::{Digest, Sha256};
        return hex::encode(Sha256::digest(&bytes)) == oid;
    }
    if bytes.windows(2).any(|w| w == b"\r\n") {
        let mut lf = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            lf.push(bytes[i]);
            i += 1;
        }
        return git2::Oid::hash_object(git2::ObjectType::Blob, &lf).is_ok_and(|h| h == id);
    }
    false
}

/// The sha256 a Git LFS pointer names, if `blob` is one.
fn lfs_oid(blob: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(blob).ok()?;
    if !text.starts_with("version https://git-lfs.github.com/spec/") || text.len() > 1024 {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("oid sha256:"))
        .map(|h| h.trim().to_ascii_lowercase())
}

/// Whether a published audit's only change from HEAD is the superseded note shipshape itself
/// adds: that change is shipshape's own output, not uncommitted evidence.
pub fn only_superseded_note(root: &Path, rel: &str) -> bool {
    let Ok((repo, loc)) = crate::collect::git::locate(root) else {
        return false;
    };
    let Ok(in_repo) = loc.to_repo(rel) else {
        return false;
    };
    let head = repo
        .head()
        .and_then(|h| h.peel_to_tree())
        .and_then(|t| t.get_path(Path::new(&in_repo)))
        .and_then(|e| repo.find_blob(e.id()))
        .map(|b| b.content().to_vec());
    let (Ok(head), Ok(now)) = (head, std::fs::read(root.join(rel))) else {
        return false;
    };
    let strip =
        |b: &[u8]| crate::published::strip_superseded_note(&String::from_utf8_lossy(b)).to_string();
    strip(&head) == strip(&now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=F", "-c", "user.email=f@example.com"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// git's status and libgit2's list the same paths: modified, staged, deleted, untracked
    /// (in new folders too), names with spaces and non-ASCII, ignored files left out, a
    /// sub-folder's status limited to it; and a repository git refuses falls back.
    #[test]
    fn git_and_libgit2_status_agree() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        run_git(&root, &["init", "-q", "-b", "main"]);
        for f in [
            "a.md",
            "sub/b.md",
            "sub/c d.md",
            "sub/größe.md",
            "gone.md",
            "staged.md",
        ] {
            w(f, "one\n");
        }
        w(".gitignore", "*.log\n");
        run_git(&root, &["add", "-A"]);
        run_git(&root, &["commit", "-q", "-m", "init"]);
        w("a.md", "two\n");
        w("sub/c d.md", "two\n");
        w("sub/größe.md", "two\n");
        std::fs::remove_file(root.join("gone.md")).unwrap();
        w("staged.md", "two\n");
        run_git(&root, &["add", "staged.md"]);
        w("new/deep/x.md", "new\n");
        w("sub/new file.md", "new\n");
        w("debug.log", "ignored\n");
        let repo = git2::Repository::open(&root).unwrap();
        for prefix in ["", "sub"] {
            let mut by_git = status_by_git(&root, prefix).expect("git answers");
            let mut by_lib = status_by_libgit2(&repo, prefix).unwrap();
            by_git.sort();
            by_lib.sort();
            assert_eq!(by_git, by_lib, "prefix {prefix:?}");
            assert!(!by_git.iter().any(|p| p.ends_with(".log")));
        }
        let all = status_by_git(&root, "").unwrap();
        assert_eq!(all.len(), 7, "{all:?}");
        // Not a repository git can use: no answer, so libgit2's is taken.
        std::fs::write(root.join(".git/HEAD"), "not a ref\n").unwrap();
        assert_eq!(status_by_git(&root, ""), None);
    }

    #[test]
    fn porcelain_records_give_their_paths() {
        let out = b"1 .M N... 100644 100644 100644 aa bb a b.md\0u UU N... 100644 100644 100644 100644 aa bb cc c.md\0? new dir/x\0! ignored\0";
        assert_eq!(
            parse_porcelain_v2(out).unwrap(),
            vec!["a b.md", "c.md", "new dir/x"]
        );
        assert_eq!(
            parse_porcelain_v2(b"2 R. N... 1 1 1 a b R100 new\0old\0"),
            None
        );
    }

    #[test]
    fn lfs_pointers_name_their_content() {
        let p = b"version https://git-lfs.github.com/spec/v1\noid sha256:ABCDEF0123\nsize 12\n";
        assert_eq!(lfs_oid(p).as_deref(), Some("abcdef0123"));
        assert_eq!(lfs_oid(b"Status: PASS\n"), None);
    }
}
