//! The `git` source: what the repository's history says about the audited folder — HEAD (and
//! whether the work tree is dirty), when a document last changed, and the release tags — so a
//! rule can demand that a DR drill record is fresh or that the release tag is annotated.
//!
//! The last change of every path the run asks about (git requests *and* artifact freshness) comes
//! from ONE walk of history per run, shared through [`Cache`] in the collection context: commits
//! are visited newest first and each still-unresolved path is compared by tree entry id against
//! the parents, so unchanged subtrees are never read. The walk follows git's default history
//! simplification, so every answer is the commit `git log -1 -- PATH` prints.
//!
//! git2 types never leave this module (and `crate::repo`): results are converted into
//! [`Change`] and plain JSON at the edge.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::commit_graph::{self, CommitGraph};
use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, Request, fs};
use crate::policy::model::EvidenceRaw;

/// What a `git` evidence entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    Head,
    LastChange,
    Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub query: Query,
    /// For `last_change`: a path or glob relative to the audited folder.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    /// For `last_change` with `fallback = "mtime"`: files git does not track (or a folder
    /// outside any repository) are dated by their modification time instead.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub mtime_fallback: bool,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        let what = raw.git.clone().unwrap_or_default();
        let query = match what.as_str() {
            "head" => Query::Head,
            "last_change" => Query::LastChange,
            "tags" => Query::Tags,
            other => {
                return Err(format!(
                    "`git = \"{other}\"` is not a git query (one of head, last_change, tags)"
                ));
            }
        };
        if query == Query::LastChange {
            super::artifact::only_options(raw, &["path", "fallback"])?;
            let mtime_fallback = match raw.fallback.as_deref() {
                None => false,
                Some("mtime") => true,
                Some(other) => {
                    return Err(format!(
                        "`fallback = \"{other}\"` is not a fallback (the only one is \"mtime\")"
                    ));
                }
            };
            let path = raw.path.clone().unwrap_or_default();
            if path.trim().is_empty() {
                return Err("`git = \"last_change\"` needs `path` (a file, folder or glob)".into());
            }
            if fs::is_glob(&path) {
                fs::glob(&path, false)?;
            }
            Ok(Spec {
                query,
                path: Some(path),
                mtime_fallback,
            })
        } else {
            super::artifact::only_options(raw, &[])?;
            Ok(Spec {
                query,
                path: None,
                mtime_fallback: false,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// shipshape's own types for what git says.

/// One commit that last changed a path, as shipshape keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub sha: String,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// The committer's UTC offset in minutes (for printing the time the way git does).
    pub offset_minutes: i32,
    pub author: String,
    pub email: String,
    pub subject: String,
}

impl Change {
    fn from_commit(c: &git2::Commit<'_>) -> Change {
        let author = c.author();
        Change {
            sha: c.id().to_string(),
            time: c.time().seconds(),
            offset_minutes: c.time().offset_minutes(),
            author: String::from_utf8_lossy(author.name_bytes()).to_string(),
            email: String::from_utf8_lossy(author.email_bytes()).to_string(),
            subject: c.summary().ok().flatten().unwrap_or("").to_string(),
        }
    }

    pub fn utc(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.time, 0).unwrap_or_default()
    }

    /// The time as `git log --format=%cI` prints it (the committer's own offset).
    pub fn iso_strict(&self) -> String {
        let offset = FixedOffset::east_opt(self.offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
        self.utc()
            .with_timezone(&offset)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The names CEL sees for a last change.
    pub fn to_value(&self, path: &str, now: DateTime<Utc>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("exists".into(), json!(true));
        m.insert("tracked".into(), json!(true));
        m.insert("path".into(), json!(path));
        m.insert("sha".into(), json!(self.sha));
        m.insert("short".into(), json!(short(&self.sha)));
        m.insert("time".into(), json!(rfc3339(self.utc())));
        m.insert("author".into(), json!(self.author));
        m.insert("email".into(), json!(self.email));
        m.insert("subject".into(), json!(self.subject));
        set_age(&mut m, path, self.utc(), now);
        m.insert("source".into(), json!("git"));
        m
    }

    /// Whether the commit claims a time after `now`, beyond [`MAX_SKEW_SECS`].
    pub fn from_future(&self, now: DateTime<Utc>) -> bool {
        from_future(self.utc(), now)
    }
}

/// Clock skew tolerated between a recorded time and the audit time.
pub const MAX_SKEW_SECS: i64 = 300;

/// A time later than `now` beyond the tolerated skew: forged, or a clock set wrong. The age of
/// evidence dated so is unknown, never "fresh".
pub fn from_future(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (t - now).num_seconds() > MAX_SKEW_SECS
}

/// The sentence for evidence dated after the audit.
pub fn future_reason(path: &str, t: DateTime<Utc>, what: &str) -> String {
    format!(
        "`{path}` is dated {} by its {what}, later than the audit time: its age is unknown",
        rfc3339(t)
    )
}

/// `age_days`, or — for a time after `now` — an `age_error` and an `unread` entry instead, so
/// a rule reading the age or the time cannot pass on it.
fn set_age(m: &mut Map<String, Value>, path: &str, t: DateTime<Utc>, now: DateTime<Utc>) {
    if from_future(t, now) {
        let why = future_reason(path, t, "commit");
        m.insert(
            "unread".into(),
            json!([{"path": path, "reason": why.clone()}]),
        );
        m.insert("age_error".into(), json!(why));
    } else {
        m.insert("age_days".into(), json!(super::age_days(now, t)));
    }
}

/// Why the last change of a path is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// Not in HEAD's tree: git has no history for it.
    Untracked,
    /// The walk reached the edge of a shallow clone before finding the change.
    Shallow { fetched: usize },
}

pub type Lookup = Result<Change, Miss>;

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn shallow_reason(path: &str, fetched: usize) -> String {
    format!(
        "the clone is shallow (history is incomplete): the last change of `{path}` lies beyond the {fetched} fetched commit(s), so its age is unknown; fetch the full history (`git fetch --unshallow`, or `fetch-depth: 0` in CI)"
    )
}

// ---------------------------------------------------------------------------------------------
// Opening the repository the audited folder sits in.

/// Where the audited folder is in its repository. Cheap to clone; the repository itself is
/// reopened by whoever needs it (a `git2::Repository` cannot be shared between threads).
#[derive(Debug, Clone)]
pub struct Located {
    pub workdir: PathBuf,
    /// The audited folder relative to the work tree root (`""` at the root, else `a/b`).
    pub prefix: String,
}

impl Located {
    /// A path relative to the audited folder → a path relative to the repository root.
    pub fn to_repo(&self, rel: &str) -> Result<String, String> {
        let mut segs: Vec<&str> = self.prefix.split('/').filter(|s| !s.is_empty()).collect();
        for seg in rel.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    if segs.pop().is_none() {
                        return Err(format!("`{rel}` leaves the repository"));
                    }
                }
                s => segs.push(s),
            }
        }
        Ok(segs.join("/"))
    }

    /// A repository path → as the policy would write it, relative to the audited folder.
    pub fn from_repo(&self, repo_path: &str) -> String {
        if self.prefix.is_empty() {
            return repo_path.to_string();
        }
        if let Some(rest) = repo_path
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            return rest.to_string();
        }
        let ups = self.prefix.split('/').count();
        format!("{}{repo_path}", "../".repeat(ups))
    }
}

/// libgit2 re-hashes every object it reads to check it against its id (two thirds of the CPU of
/// a history walk in the profile). The evidence walk only reads objects git itself wrote and
/// checked when they were fetched or committed; one changed on disk afterwards is a corrupted
/// repository, which `git fsck` finds, not forged evidence an audit could tell apart. Cloning
/// (fleet mode) still checks every pack it receives.
fn read_only_walk() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Find the repository of the audited folder; a clear sentence when there is none.
pub fn locate(root: &Path) -> Result<(git2::Repository, Located), String> {
    read_only_walk();
    let repo = git2::Repository::discover(root).map_err(|_| {
        format!(
            "`{}` is not inside a git repository, so there is no history to read",
            root.display()
        )
    })?;
    let workdir = repo
        .workdir()
        .ok_or("the repository is bare (no work tree)")?
        .to_path_buf();
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let prefix = canon
        .strip_prefix(&workdir)
        .map_err(|_| "the audited folder is not inside the repository's work tree".to_string())?
        .to_string_lossy()
        .replace('\\', "/");
    Ok((repo, Located { workdir, prefix }))
}

/// HEAD's commit, or why there is none (an unborn branch).
fn head_commit(repo: &git2::Repository) -> Result<git2::Oid, String> {
    match repo.head() {
        Ok(r) => r
            .peel_to_commit()
            .map(|c| c.id())
            .map_err(|e| format!("HEAD does not point at a commit: {}", e.message())),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            let branch = repo
                .find_reference("HEAD")
                .ok()
                .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
                .map(|t| t.trim_start_matches("refs/heads/").to_string())
                .unwrap_or_else(|| "HEAD".into());
            Err(format!(
                "the branch `{branch}` has no commits yet (unborn), so there is no history to read"
            ))
        }
        Err(e) => Err(format!("cannot read HEAD: {}", e.message())),
    }
}

/// Commits at the edge of a shallow clone (their parents were not fetched).
fn shallow_roots(repo: &git2::Repository) -> HashSet<git2::Oid> {
    let text = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
    text.lines()
        .filter_map(|l| git2::Oid::from_str(l.trim()).ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The history walk.

/// The requested paths as a tree of path components, so one descent compares them all.
#[derive(Default)]
struct Trie {
    nodes: Vec<TrieNode>,
}

#[derive(Default)]
struct TrieNode {
    children: BTreeMap<String, usize>,
    /// Index of the requested path ending here.
    target: Option<usize>,
    /// Every requested path at or below this node.
    under: Vec<usize>,
}

impl Trie {
    fn new(paths: &[String]) -> Trie {
        let mut t = Trie {
            nodes: vec![TrieNode::default()],
        };
        for (i, p) in paths.iter().enumerate() {
            let mut n = 0;
            t.nodes[0].under.push(i);
            for seg in p.split('/').filter(|s| !s.is_empty()) {
                n = match t.nodes[n].children.get(seg) {
                    Some(&c) => c,
                    None => {
                        t.nodes.push(TrieNode::default());
                        let c = t.nodes.len() - 1;
                        t.nodes[n].children.insert(seg.to_string(), c);
                        c
                    }
                };
                t.nodes[n].under.push(i);
            }
            t.nodes[n].target = Some(i);
        }
        t
    }
}

type Entry = Option<(git2::Oid, i32)>;

fn entry_of(tree: Option<&git2::Tree<'_>>, name: &str) -> Entry {
    tree.and_then(|t| t.get_name(name))
        .map(|e| (e.id(), e.filemode_raw()))
}

fn subtree(e: Entry) -> Option<git2::Oid> {
    // 0o040000: a tree entry.
    e.filter(|(_, mode)| mode & 0o170000 == 0o040000)
        .map(|(id, _)| id)
}

/// Which of the `active` requested paths differ between trees `a` and `b` (by entry id and mode;
/// equal subtrees are skipped without being read).
fn changed_paths(
    repo: &git2::Repository,
    trie: &Trie,
    node: usize,
    a: Option<git2::Oid>,
    b: Option<git2::Oid>,
    active: &[bool],
    out: &mut Vec<usize>,
) -> Result<(), git2::Error> {
    if a == b {
        return Ok(());
    }
    // The root itself (`path = "."` at the top of the work tree) changed when the trees differ.
    if let Some(t) = trie.nodes[node].target
        && node == 0
        && active[t]
    {
        out.push(t);
    }
    let ta = a.map(|id| repo.find_tree(id)).transpose()?;
    let tb = b.map(|id| repo.find_tree(id)).transpose()?;
    for (name, &child) in &trie.nodes[node].children {
        let c = &trie.nodes[child];
        if !c.under.iter().any(|&i| active[i]) {
            continue;
        }
        let ea = entry_of(ta.as_ref(), name);
        let eb = entry_of(tb.as_ref(), name);
        if ea == eb {
            continue;
        }
        if let Some(t) = c.target
            && active[t]
        {
            out.push(t);
        }
        if !c.children.is_empty() {
            changed_paths(repo, trie, child, subtree(ea), subtree(eb), active, out)?;
        }
    }
    Ok(())
}

/// A commit waiting in the walk, newest (by committer time) first.
#[derive(PartialEq, Eq)]
struct Queued {
    time: i64,
    seq: u64,
    id: git2::Oid,
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A commit as the walk needs it: from the commit-graph when the repository has one that holds
/// it, else from the object itself.
struct Node {
    tree: git2::Oid,
    parents: Vec<Parent>,
    pos: Option<u32>,
}

struct Parent {
    id: git2::Oid,
    /// Committer time, for the walk's order.
    time: i64,
    tree: git2::Oid,
    pos: Option<u32>,
}

/// Where the walk reads commits from.
struct Commits<'r> {
    repo: &'r git2::Repository,
    graph: Option<CommitGraph>,
}

impl Commits<'_> {
    fn node(&self, id: git2::Oid, pos: Option<u32>) -> Result<Node, git2::Error> {
        if let Some(graph) = &self.graph {
            let pos = pos.or_else(|| graph.position(&id));
            let from_graph = pos.and_then(|p| {
                let c = graph.commit(p)?;
                let parents = c
                    .parents
                    .iter()
                    .map(|&pp| {
                        let pc = graph.commit(pp)?;
                        Some(Parent {
                            id: graph.oid(pp)?,
                            time: pc.time,
                            tree: pc.tree,
                            pos: Some(pp),
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some(Node {
                    tree: c.tree,
                    parents,
                    pos: Some(p),
                })
            });
            if let Some(n) = from_graph {
                return Ok(n);
            }
        }
        let commit = self.repo.find_commit(id)?;
        let mut parents = Vec::new();
        for pid in commit.parent_ids() {
            let parent = self.repo.find_commit(pid)?;
            parents.push(Parent {
                id: pid,
                time: parent.time().seconds(),
                tree: parent.tree_id(),
                pos: None,
            });
        }
        Ok(Node {
            tree: commit.tree_id(),
            parents,
            pos: None,
        })
    }
}

/// The requested paths present in the tree at `start`; the others are answered `Untracked`.
fn present_paths(
    repo: &git2::Repository,
    trie: &Trie,
    head_tree: git2::Oid,
    results: &mut [Option<Lookup>],
) -> Result<Vec<usize>, git2::Error> {
    let all = vec![true; results.len()];
    let mut changed = Vec::new();
    changed_paths(repo, trie, 0, Some(head_tree), None, &all, &mut changed)?;
    let mut is_present = vec![false; results.len()];
    for i in changed {
        is_present[i] = true;
    }
    let mut present = Vec::new();
    for (i, p) in is_present.into_iter().enumerate() {
        if p {
            present.push(i);
        } else {
            results[i] = Some(Err(Miss::Untracked));
        }
    }
    Ok(present)
}

/// The last change of every path in `paths` (repository-relative, files or folders), from one
/// walk of history starting at `start`.
///
/// Each path follows git's default history simplification: at a commit with one parent the path
/// is resolved when its entry differs from the parent's; at a merge it follows the first parent
/// whose entry is the same, and is resolved at the merge only when it differs from every parent.
/// Paths that share a commit are compared together, and the walk stops once every path is
/// resolved. With a commit-graph, commits are read from it, and a path whose changed-path Bloom
/// filter rules out a change from the first parent follows that parent without reading a tree.
pub fn last_changes(
    repo: &git2::Repository,
    start: git2::Oid,
    paths: &[String],
) -> Result<Vec<Lookup>, String> {
    let err = |e: git2::Error| format!("cannot read the history: {}", e.message());
    let mut results: Vec<Option<Lookup>> = vec![None; paths.len()];
    let trie = Trie::new(paths);
    let shallow = shallow_roots(repo);
    let commits = Commits {
        repo,
        graph: CommitGraph::open(repo),
    };
    let keys: Vec<_> = match &commits.graph {
        Some(g) if g.has_filters() => paths.iter().map(|p| g.keys(p)).collect(),
        _ => paths.iter().map(|_| None).collect(),
    };

    let start_commit = repo.find_commit(start).map_err(err)?;
    let present = present_paths(repo, &trie, start_commit.tree_id(), &mut results).map_err(err)?;
    let mut walk = Walk {
        active: vec![false; paths.len()],
        ..Walk::default()
    };
    if !present.is_empty() {
        walk.push(start, start_commit.time().seconds(), None, present);
    }
    let mut visited = 0usize;
    while let Some(q) = walk.heap.pop() {
        let Some((pos, mut group)) = walk.waiting.remove(&q.id) else {
            continue;
        };
        group.sort_unstable();
        group.dedup();
        visited += 1;
        let edge = shallow.contains(&q.id);
        let node = commits.node(q.id, pos).map_err(err)?;
        if node.parents.is_empty() || edge {
            // A root commit introduced whatever it holds; at a shallow edge we cannot know.
            let found = if edge {
                Err(Miss::Shallow { fetched: visited })
            } else {
                Ok(Change::from_commit(&repo.find_commit(q.id).map_err(err)?))
            };
            for i in group {
                results[i] = Some(found.clone());
            }
            continue;
        }
        let remaining = walk
            .follow_parents(&commits, &trie, &keys, &node, group)
            .map_err(err)?;
        // Different from every parent: this commit made the change.
        if !remaining.is_empty() {
            let change = Change::from_commit(&repo.find_commit(q.id).map_err(err)?);
            for i in remaining {
                results[i] = Some(Ok(change.clone()));
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(Miss::Untracked)))
        .collect())
}

/// The walk's queue: commits newest first, each with the paths still looking through it.
#[derive(Default)]
struct Walk {
    heap: BinaryHeap<Queued>,
    waiting: HashMap<git2::Oid, (Option<u32>, Vec<usize>)>,
    seq: u64,
    /// Scratch for [`changed_paths`]: which requested paths the current comparison is about.
    active: Vec<bool>,
}

impl Walk {
    fn push(&mut self, id: git2::Oid, time: i64, pos: Option<u32>, group: Vec<usize>) {
        match self.waiting.get_mut(&id) {
            Some((_, g)) => g.extend(group),
            None => {
                self.waiting.insert(id, (pos, group));
                self.seq += 1;
                self.heap.push(Queued {
                    time,
                    seq: self.seq,
                    id,
                });
            }
        }
    }

    /// Hand each path of `group` to the first parent it is the same in; return those that differ
    /// from every parent.
    fn follow_parents(
        &mut self,
        commits: &Commits<'_>,
        trie: &Trie,
        keys: &[Option<[commit_graph::PathKeys; 2]>],
        node: &Node,
        group: Vec<usize>,
    ) -> Result<Vec<usize>, git2::Error> {
        let mut remaining = group;
        for (nth, parent) in node.parents.iter().enumerate() {
            if remaining.is_empty() {
                break;
            }
            // git consults the filter against the first parent only.
            let mut same = Vec::new();
            if let (0, Some(graph), Some(pos)) = (nth, &commits.graph, node.pos) {
                remaining.retain(|&i| {
                    let unchanged = keys[i]
                        .as_ref()
                        .and_then(|k| graph.maybe_changed(pos, k))
                        == Some(false);
                    if unchanged {
                        same.push(i);
                    }
                    !unchanged
                });
            }
            let mut changed = Vec::new();
            if !remaining.is_empty() {
                for &i in &remaining {
                    self.active[i] = true;
                }
                let found = changed_paths(
                    commits.repo,
                    trie,
                    0,
                    Some(node.tree),
                    Some(parent.tree),
                    &self.active,
                    &mut changed,
                );
                for &i in &remaining {
                    self.active[i] = false;
                }
                found?;
            }
            let changed: HashSet<usize> = changed.into_iter().collect();
            let (differs, also_same): (Vec<usize>, Vec<usize>) =
                remaining.into_iter().partition(|i| changed.contains(i));
            same.extend(also_same);
            if !same.is_empty() {
                self.push(parent.id, parent.time, parent.pos, same);
            }
            remaining = differs;
        }
        Ok(remaining)
    }
}

/// libgit2 keeps up to 256 MB of parsed objects by default. The history walk reads each tree
/// about twice (as a commit's tree, then as its child's parent tree), so a small cache loses
/// little time and keeps a walk over a large history well under 200 MB.
const OBJECT_CACHE_BYTES: libc::ssize_t = 32 * 1024 * 1024;

/// Bound libgit2's process-wide object cache, once. Called before collector threads start
/// ([`prepare`]) or from a single-threaded caller ([`last_changes_at`]).
fn tune_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2 options are process-global; this runs once, before any other thread
        // of this run uses libgit2, so nothing reads the setting while it is written.
        let _ = unsafe { git2::opts::set_cache_max_size(OBJECT_CACHE_BYTES) };
    });
}

/// The last change of repository paths of the repository at `repo`, from one walk starting at
/// HEAD (the benchmark's entry point; the collector goes through the per-run cache).
pub fn last_changes_at(
    repo: &Path,
    paths: &[String],
) -> Result<Vec<(String, Lookup)>, crate::Error> {
    tune_libgit2();
    let (repo, _) = locate(repo).map_err(crate::Error::Usage)?;
    let head = head_commit(&repo).map_err(crate::Error::Usage)?;
    let found = last_changes(&repo, head, paths).map_err(crate::Error::Tool)?;
    Ok(paths.iter().cloned().zip(found).collect())
}

/// Every file (blob) path in a tree, repository-relative.
fn tree_files(repo: &git2::Repository, tree: git2::Oid) -> Result<Vec<String>, String> {
    let tree = repo
        .find_tree(tree)
        .map_err(|e| format!("cannot read HEAD's tree: {}", e.message()))?;
    let mut out = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob)
            && let Ok(name) = entry.name()
        {
            out.push(format!("{dir}{name}"));
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(|e| format!("cannot list HEAD's tree: {}", e.message()))?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The per-run cache shared by every collector.

/// The last changes this run has already looked up, by repository path, so every rule (and every
/// artifact's freshness) is served from one walk of history.
#[derive(Default)]
pub struct Cache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    /// The repository of the audited folder, or why there is none (looked up once).
    located: Option<Result<Located, String>>,
    /// HEAD's tracked files, for globs (listed once).
    files: Option<Result<Vec<String>, String>>,
    changes: HashMap<String, Lookup>,
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn located(ctx: &Ctx<'_>) -> Result<Located, String> {
    let mut inner = ctx.git_cache().lock();
    inner
        .located
        .get_or_insert_with(|| locate(&ctx.root).map(|(_, l)| l))
        .clone()
}

fn open(loc: &Located) -> Result<git2::Repository, String> {
    read_only_walk();
    git2::Repository::open(&loc.workdir)
        .map_err(|e| format!("cannot open the repository: {}", e.message()))
}

/// HEAD's tracked files (repository paths), listed once per run.
fn head_files(ctx: &Ctx<'_>, loc: &Located) -> Result<Vec<String>, String> {
    if let Some(f) = &ctx.git_cache().lock().files {
        return f.clone();
    }
    let listed = open(loc).and_then(|repo| {
        let head = head_commit(&repo)?;
        let tree = repo
            .find_commit(head)
            .map_err(|e| e.message().to_string())?
            .tree_id();
        tree_files(&repo, tree)
    });
    ctx.git_cache().lock().files = Some(listed.clone());
    listed
}

/// The last change of each repository path, from the cache or one walk for all missing ones.
pub fn lookups(ctx: &Ctx<'_>, repo_paths: &[String]) -> Result<Vec<Lookup>, String> {
    let loc = located(ctx)?;
    let missing: Vec<String> = {
        let inner = ctx.git_cache().lock();
        let mut m: Vec<String> = repo_paths
            .iter()
            .filter(|p| !inner.changes.contains_key(*p))
            .cloned()
            .collect();
        m.sort();
        m.dedup();
        m
    };
    if !missing.is_empty() {
        let repo = open(&loc)?;
        let head = head_commit(&repo)?;
        let found = last_changes(&repo, head, &missing)?;
        let mut inner = ctx.git_cache().lock();
        for (p, r) in missing.into_iter().zip(found) {
            inner.changes.insert(p, r);
        }
    }
    let inner = ctx.git_cache().lock();
    Ok(repo_paths
        .iter()
        .map(|p| {
            inner
                .changes
                .get(p)
                .cloned()
                .unwrap_or(Err(Miss::Untracked))
        })
        .collect())
}

/// Resolve every last change the plan will ask for — git `last_change` requests and the files
/// artifact requests will read — in one walk, before the collectors run in parallel.
pub fn prepare(ctx: &Ctx<'_>, plan: &BTreeMap<String, Request>) {
    tune_libgit2();
    let mut wanted: Vec<String> = Vec::new();
    let Ok(loc) = located(ctx) else { return };
    for req in plan.values() {
        match req {
            Request::Git(Spec {
                query: Query::LastChange,
                path: Some(p),
                ..
            }) => {
                if let Ok(paths) = resolve_paths(ctx, &loc, p) {
                    wanted.extend(paths);
                }
            }
            Request::Artifact(a) => {
                for rel in super::artifact::matching_paths(ctx, &a.glob) {
                    if let Ok(p) = loc.to_repo(&rel) {
                        wanted.push(p);
                    }
                }
            }
            _ => {}
        }
    }
    if !wanted.is_empty() {
        let _ = lookups(ctx, &wanted);
    }
}

/// The repository paths a `last_change` path or glob names.
fn resolve_paths(ctx: &Ctx<'_>, loc: &Located, path: &str) -> Result<Vec<String>, String> {
    if !fs::is_glob(path) {
        return Ok(vec![
            loc.to_repo(path.trim_start_matches("./").trim_end_matches('/'))?,
        ]);
    }
    let pattern = loc.to_repo(path.trim_start_matches("./"))?;
    let set = fs::globset(&[pattern], false)?;
    Ok(head_files(ctx, loc)?
        .into_iter()
        .filter(|f| set.is_match(f))
        .collect())
}

/// What git knows about one file of the audited folder, for artifact freshness.
pub enum FileHistory {
    Tracked(Change),
    /// Tracked, but its last change cannot be known (a shallow clone).
    Unknown(String),
    /// Not tracked at HEAD, or no repository at all.
    Untracked,
}

pub fn file_history(ctx: &Ctx<'_>, rel: &str) -> FileHistory {
    let Ok(loc) = located(ctx) else {
        return FileHistory::Untracked;
    };
    let Ok(repo_path) = loc.to_repo(rel) else {
        return FileHistory::Untracked;
    };
    match lookups(ctx, std::slice::from_ref(&repo_path)) {
        Ok(mut v) => match v.pop() {
            Some(Ok(c)) => FileHistory::Tracked(c),
            Some(Err(Miss::Shallow { fetched })) => {
                FileHistory::Unknown(shallow_reason(rel, fetched))
            }
            _ => FileHistory::Untracked,
        },
        // No repository, an unborn branch: nothing is tracked.
        Err(_) => FileHistory::Untracked,
    }
}

// ---------------------------------------------------------------------------------------------
// The collector.

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    match spec.query {
        Query::Head => collect_head(ctx),
        Query::LastChange => {
            collect_last_change(ctx, spec.path.as_deref().unwrap_or(""), spec.mtime_fallback)
        }
        Query::Tags => collect_tags(ctx),
    }
}

fn collect_head(ctx: &Ctx<'_>) -> Collected {
    let head = crate::repo::head_checked(&ctx.root, &|rel| ctx.is_own_output(rel))
        .map_err(CollectError::new)?;
    let v = serde_json::to_value(&head).map_err(|e| CollectError::new(e.to_string()))?;
    let mut m = match v.clone() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("head".into(), v);
    Ok(Value::Object(m))
}

/// The last change of a file git does not know, from its modification time (seconds).
fn mtime_change(ctx: &Ctx<'_>, rel: &str) -> Option<Map<String, Value>> {
    let p = ctx.resolve(rel).ok()?;
    let t: DateTime<Utc> = std::fs::metadata(p).ok()?.modified().ok()?.into();
    let t = DateTime::from_timestamp(t.timestamp(), 0)?;
    let mut m = Map::new();
    m.insert("exists".into(), json!(true));
    m.insert("tracked".into(), json!(false));
    m.insert("path".into(), json!(rel));
    for k in ["sha", "short", "author", "email", "subject"] {
        m.insert(k.into(), json!(""));
    }
    m.insert("time".into(), json!(rfc3339(t)));
    // A modification time is the checkout's, not the repository's: no commit can forge it.
    m.insert(
        "age_days".into(),
        json!(super::age_days(ctx.options.now, t)),
    );
    m.insert("source".into(), json!("mtime"));
    Some(m)
}

/// `fallback = "mtime"` where git has nothing to say (no repository, an unborn branch): every
/// file the path or glob names is dated by its modification time.
fn mtime_only(ctx: &Ctx<'_>, path: &str) -> Collected {
    let shown = path
        .trim_start_matches("./")
        .trim_end_matches('/')
        .to_string();
    if !fs::is_glob(path) {
        return Ok(match mtime_change(ctx, &shown) {
            Some(mut m) => {
                m.insert("last_change".into(), Value::Object(m.clone()));
                Value::Object(m)
            }
            None => json!({"exists": false, "tracked": false, "path": shown}),
        });
    }
    let set = fs::globset(&[shown], false).map_err(CollectError::new)?;
    let each: Vec<Map<String, Value>> = ctx
        .listing()
        .matching(&set, None)
        .into_iter()
        .filter_map(|rel| mtime_change(ctx, rel))
        .collect();
    Ok(glob_value(path, each))
}

fn collect_last_change(ctx: &Ctx<'_>, path: &str, mtime_fallback: bool) -> Collected {
    let loc = match located(ctx) {
        Ok(loc) => loc,
        Err(_) if mtime_fallback => return mtime_only(ctx, path),
        Err(e) => return Err(CollectError::new(e)),
    };
    {
        // An unborn branch has no history: say so rather than calling everything untracked.
        let repo = open(&loc).map_err(CollectError::new)?;
        if let Err(e) = head_commit(&repo) {
            return if mtime_fallback {
                mtime_only(ctx, path)
            } else {
                Err(CollectError::new(e))
            };
        }
        if repo.is_shallow() && shallow_roots(&repo).is_empty() {
            return Err(CollectError::new(
                "the clone is shallow but its boundary is unknown (history is incomplete)",
            ));
        }
    }
    let repo_paths = resolve_paths(ctx, &loc, path).map_err(CollectError::new)?;
    let found = lookups(ctx, &repo_paths).map_err(CollectError::new)?;
    let now = ctx.options.now;
    if !fs::is_glob(path) {
        let shown = path.trim_start_matches("./").to_string();
        return match found.into_iter().next() {
            Some(Ok(c)) => {
                let mut m = c.to_value(&shown, now);
                m.insert("last_change".into(), Value::Object(m.clone()));
                Ok(Value::Object(m))
            }
            Some(Err(Miss::Shallow { fetched })) => {
                Err(CollectError::new(shallow_reason(&shown, fetched)))
            }
            _ => match mtime_fallback
                .then(|| mtime_change(ctx, shown.trim_end_matches('/')))
                .flatten()
            {
                Some(mut m) => {
                    m.insert("last_change".into(), Value::Object(m.clone()));
                    Ok(Value::Object(m))
                }
                None => Ok(json!({"exists": false, "tracked": false, "path": shown})),
            },
        };
    }
    let mut each: Vec<Map<String, Value>> = Vec::new();
    for (p, r) in repo_paths.iter().zip(found) {
        let shown = loc.from_repo(p);
        match r {
            Ok(c) => each.push(c.to_value(&shown, now)),
            Err(Miss::Shallow { fetched }) => {
                return Err(CollectError::new(shallow_reason(&shown, fetched)));
            }
            Err(Miss::Untracked) => {}
        }
    }
    if mtime_fallback {
        // Files of the work tree that HEAD does not track: dated by their modification time.
        let tracked: HashSet<String> = each
            .iter()
            .filter_map(|m| m["path"].as_str().map(str::to_string))
            .collect();
        let set = fs::globset(&[path.trim_start_matches("./").to_string()], false)
            .map_err(CollectError::new)?;
        for rel in ctx.listing().matching(&set, None) {
            if !tracked.contains(rel)
                && let Some(m) = mtime_change(ctx, rel)
            {
                each.push(m);
            }
        }
    }
    Ok(glob_value(path, each))
}

/// The value of a glob's last changes: the newest at the top level, `newest`, `oldest`, `each`.
fn glob_value(path: &str, mut each: Vec<Map<String, Value>>) -> Value {
    // Newest first; ties by path so the order is stable.
    each.sort_by(|a, b| {
        b["time"]
            .as_str()
            .cmp(&a["time"].as_str())
            .then_with(|| a["path"].as_str().cmp(&b["path"].as_str()))
    });
    let mut top = match each.first() {
        Some(n) => n.clone(),
        None => {
            let mut m = Map::new();
            m.insert("exists".into(), json!(false));
            m.insert("tracked".into(), json!(false));
            m.insert("path".into(), json!(path));
            m
        }
    };
    if let (Some(n), Some(o)) = (each.first(), each.last()) {
        top.insert("newest".into(), Value::Object(n.clone()));
        top.insert("oldest".into(), Value::Object(o.clone()));
        top.insert("last_change".into(), Value::Object(n.clone()));
    }
    top.insert("pattern".into(), json!(path));
    // Every file of the glob dated after the audit, not only the newest.
    let unread: Vec<Value> = each
        .iter()
        .filter_map(|m| m.get("unread").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    top.insert("unread".into(), Value::Array(unread));
    top.insert(
        "matches".into(),
        Value::Array(each.iter().map(|m| m["path"].clone()).collect()),
    );
    top.insert(
        "each".into(),
        Value::Array(each.into_iter().map(Value::Object).collect()),
    );
    Value::Object(top)
}

/// One tag as shipshape keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    pub name: String,
    /// The commit the tag points at (peeled).
    pub sha: String,
    pub annotated: bool,
    /// A PGP, SSH or X.509 signature is present on the tag object.
    pub signed: bool,
    /// Whether the signature was checked against trusted keys: not yet (always false).
    pub verified: bool,
    /// Tagger time for an annotated tag, else the commit's time (RFC 3339, UTC).
    pub time: String,
    pub tagger: String,
    /// The semantic version in the name (`v` prefix dropped), or "" when it is not one.
    pub version: String,
    pub points_at_head: bool,
}

fn collect_tags(ctx: &Ctx<'_>) -> Collected {
    let loc = located(ctx).map_err(CollectError::new)?;
    let repo = open(&loc).map_err(CollectError::new)?;
    let head = head_commit(&repo).map_err(CollectError::new)?;
    if repo.is_shallow() {
        return Err(CollectError::new(
            "the clone is shallow (history is incomplete): tags and the commits since them cannot be counted; fetch the full history with tags (`git fetch --unshallow --tags`, or `fetch-depth: 0` in CI)",
        ));
    }
    let tags = read_tags(&repo, head).map_err(CollectError::new)?;
    let latest = tags
        .iter()
        .filter(|t| !t.version.is_empty())
        .max_by(|a, b| semver_cmp(&a.version, &b.version).then_with(|| b.name.cmp(&a.name)));
    let (latest_tag, since) = match latest {
        Some(t) => (t.name.clone(), commits_between(&repo, head, Some(&t.sha))),
        None => (String::new(), commits_between(&repo, head, None)),
    };
    let since = since.map_err(CollectError::new)?;
    Ok(json!({
        "tags": tags,
        "latest_tag": latest_tag,
        "commits_since_tag": since,
        "head": head.to_string(),
    }))
}

/// The name of the latest semver tag reachable in the repository, when it is one and its tags
/// can be read (not a shallow clone); for sources that compare it with other statements.
pub fn latest_release_tag(ctx: &Ctx<'_>) -> Option<String> {
    let loc = located(ctx).ok()?;
    let repo = open(&loc).ok()?;
    if repo.is_shallow() {
        return None;
    }
    let head = head_commit(&repo).ok()?;
    let tags = read_tags(&repo, head).ok()?;
    tags.iter()
        .filter(|t| !t.version.is_empty())
        .max_by(|a, b| semver_cmp(&a.version, &b.version).then_with(|| b.name.cmp(&a.name)))
        .map(|t| t.name.clone())
}

fn read_tags(repo: &git2::Repository, head: git2::Oid) -> Result<Vec<Tag>, String> {
    let err = |e: git2::Error| format!("cannot read tags: {}", e.message());
    let odb = repo.odb().map_err(err)?;
    let mut out = Vec::new();
    for r in repo.references_glob("refs/tags/*").map_err(err)? {
        let r = r.map_err(err)?;
        let Ok(name) = r
            .name()
            .map(|n| n.trim_start_matches("refs/tags/").to_string())
        else {
            continue;
        };
        let Some(target) = r.target() else { continue };
        let obj = repo.find_object(target, None).map_err(err)?;
        let (annotated, signed, tagger, tag_time) = match obj.as_tag() {
            Some(tag) => {
                let raw = odb.read(target).map_err(err)?;
                let sig = tag.tagger();
                (
                    true,
                    has_signature(raw.data()),
                    sig.as_ref()
                        .map(|s| String::from_utf8_lossy(s.name_bytes()).to_string())
                        .unwrap_or_default(),
                    sig.map(|s| s.when().seconds()),
                )
            }
            None => (false, false, String::new(), None),
        };
        let commit = obj.peel_to_commit().ok();
        let sha = commit
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_else(|| target.to_string());
        let time = tag_time
            .or_else(|| commit.as_ref().map(|c| c.time().seconds()))
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .map(rfc3339)
            .unwrap_or_default();
        out.push(Tag {
            version: version_of(&name),
            points_at_head: commit.as_ref().is_some_and(|c| c.id() == head),
            name,
            sha,
            annotated,
            signed,
            verified: false,
            time,
            tagger,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Whether a raw tag object carries a signature block (git appends it to the message).
fn has_signature(raw: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"-----BEGIN PGP SIGNATURE-----",
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN SIGNED MESSAGE-----",
    ];
    MARKERS
        .iter()
        .any(|m| raw.windows(m.len()).any(|w| w == *m))
}

/// Commits reachable from `head` and not from `tag` (all of them when there is no tag).
fn commits_between(
    repo: &git2::Repository,
    head: git2::Oid,
    tag: Option<&str>,
) -> Result<usize, String> {
    let err = |e: git2::Error| format!("cannot count commits: {}", e.message());
    let mut walk = repo.revwalk().map_err(err)?;
    walk.push(head).map_err(err)?;
    if let Some(t) = tag {
        let id = git2::Oid::from_str(t).map_err(err)?;
        walk.hide(id).map_err(err)?;
    }
    let mut n = 0;
    for c in walk {
        c.map_err(err)?;
        n += 1;
    }
    Ok(n)
}

/// `v1.2.3` or `1.2.3-rc.1+build` → the version without the `v`; anything else → "".
pub fn version_of(name: &str) -> String {
    let v = name
        .strip_prefix('v')
        .or_else(|| name.strip_prefix('V'))
        .unwrap_or(name);
    match parse_semver(v) {
        Some(_) => v.to_string(),
        None => String::new(),
    }
}

type Semver<'a> = (u64, u64, u64, Option<&'a str>);

fn parse_semver(v: &str) -> Option<Semver<'_>> {
    let core_end = v.find(['-', '+']).unwrap_or(v.len());
    let core = &v[..core_end];
    let rest = &v[core_end..];
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() != 3
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let pre = match rest.strip_prefix('-') {
        Some(p) => {
            let p = p.split('+').next().unwrap_or("");
            if p.is_empty() {
                return None;
            }
            Some(p)
        }
        None => None,
    };
    let valid = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if pre.is_some_and(|p| !valid(p)) {
        return None;
    }
    if let Some(build) = rest.split_once('+').map(|(_, b)| b)
        && (build.is_empty() || !valid(build))
    {
        return None;
    }
    Some((
        nums[0].parse().ok()?,
        nums[1].parse().ok()?,
        nums[2].parse().ok()?,
        pre,
    ))
}

/// Semantic-version precedence (build metadata ignored; a pre-release sorts before its release).
pub fn semver_cmp(a: &str, b: &str) -> Ordering {
    let (Some(x), Some(y)) = (parse_semver(a), parse_semver(b)) else {
        return a.cmp(b);
    };
    (x.0, x.1, x.2)
        .cmp(&(y.0, y.1, y.2))
        .then_with(|| match (x.3, y.3) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(p), Some(q)) => {
                let mut pi = p.split('.');
                let mut qi = q.split('.');
                loop {
                    match (pi.next(), qi.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(i), Some(j)) => {
                            let o = match (i.parse::<u64>(), j.parse::<u64>()) {
                                (Ok(m), Ok(n)) => m.cmp(&n),
                                (Ok(_), Err(_)) => Ordering::Less,
                                (Err(_), Ok(_)) => Ordering::Greater,
                                (Err(_), Err(_)) => i.cmp(j),
                            };
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                    }
                }
            }
        })
}

impl Source for Spec {
    const NAME: &'static str = "git";
    const DOC: SourceDoc = SourceDoc {
        name: "git",
        summary: "Git history: HEAD, the last change of a path or glob, tags.",
        options: "path; fallback = \"mtime\" (last_change: date untracked files, or a folder outside git, by modification time)",
        names: &[
            n(
                "head",
                "map",
                "{sha, short, branch, dirty, dirty_paths, time}",
            ),
            n(
                "last_change",
                "map",
                "{path, sha, time, author, subject, age_days} plus exists, tracked, source (git or mtime)",
            ),
            n(
                "newest",
                "map",
                "for a glob: the newest matching file's last change",
            ),
            n(
                "oldest",
                "map",
                "for a glob: the oldest matching file's last change",
            ),
            n(
                "each",
                "list",
                "for a glob: every matching file's last change",
            ),
            n(
                "tags",
                "list",
                "{name, sha, annotated, signed, verified, time, tagger, version, points_at_head}",
            ),
            n("latest_tag", "string", "the highest semver tag"),
            n("commits_since_tag", "int", "commits since latest_tag"),
        ],
        example: r#"[[rule]]
id = "clean-checkout"
area = "example"
title = "Audited from a clean checkout"
evidence.repo = { git = "head" }
expect = ['!repo.head.dirty']
"#,
    };
    const COST: u8 = 2;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "git {}{}",
            serde_json::to_value(self.query)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            self.path
                .as_ref()
                .map(|p| format!(" of `{p}`"))
                .unwrap_or_default()
        )
    }

    fn paths(&self) -> Vec<String> {
        self.path.iter().cloned().collect()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.path.iter().cloned().collect(), vec![]))
    }

    fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
        let empty = v
            .get("each")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        let glob = self.path.as_deref().filter(|p| super::fs::is_glob(p))?;
        empty.then(|| format!("`{name}`: git knows no file matching `{glob}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_precedence() {
        let mut v = vec![
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "0.9.10",
            "0.9.9",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
        ];
        v.sort_by(|a, b| semver_cmp(a, b));
        assert_eq!(
            v,
            vec![
                "0.9.9",
                "0.9.10",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
        assert_eq!(version_of("v0.2.2"), "0.2.2");
        assert_eq!(version_of("0.2.2+build.5"), "0.2.2+build.5");
        assert_eq!(version_of("release-0.2.2"), "");
        assert_eq!(version_of("v1.2"), "");
    }

    #[test]
    fn paths_map_between_audited_folder_and_repository() {
        let loc = Located {
            workdir: PathBuf::from("/r"),
            prefix: "svc/api".into(),
        };
        assert_eq!(loc.to_repo("docs/x.md").unwrap(), "svc/api/docs/x.md");
        assert_eq!(loc.to_repo("../shared/y.md").unwrap(), "svc/shared/y.md");
        assert_eq!(loc.to_repo("./docs/*.md").unwrap(), "svc/api/docs/*.md");
        assert!(loc.to_repo("../../../x").is_err());
        assert_eq!(loc.from_repo("svc/api/docs/x.md"), "docs/x.md");
        assert_eq!(loc.from_repo("svc/shared/y.md"), "../../svc/shared/y.md");
        let top = Located {
            workdir: PathBuf::from("/r"),
            prefix: String::new(),
        };
        assert_eq!(top.to_repo("a/b").unwrap(), "a/b");
        assert_eq!(top.from_repo("a/b"), "a/b");
    }

    #[test]
    fn signature_blocks_are_recognised() {
        assert!(has_signature(
            b"object x\ntag v1\n\nmsg\n-----BEGIN SSH SIGNATURE-----\nabc\n"
        ));
        assert!(has_signature(b"msg\n-----BEGIN PGP SIGNATURE-----\n"));
        assert!(!has_signature(b"object x\ntag v1\n\nplain message\n"));
    }
}
