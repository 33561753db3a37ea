//! Evidence collection: one file per source, all with the same shape —
//! `fn collect(ctx: &Ctx, spec: &Spec) -> Collected` — returning plain data, never a verdict.
//! A source that cannot collect returns an error value; the rule then becomes `pending`.

/// A regex compiled once per process: collectors run their fixed patterns per file or per
/// link, and must not recompile them each time.
macro_rules! cached_regex {
    ($re:expr $(,)?) => {{
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        RE.get_or_init(|| regex::Regex::new($re).expect("static regex"))
    }};
}

pub mod cache;
pub mod comments;
pub mod commit_graph;
pub mod fs;
pub mod k8s;
pub mod kustomize;
pub mod kustomize_lines;
pub mod procs;
pub mod source;
pub mod strict_yaml;
pub mod yaml_lines;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::model::EvidenceRaw;
use source::Source;

/// Why a piece of evidence could not be collected. Becomes the `pending` sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason}")]
pub struct CollectError {
    pub reason: String,
    /// What kind of failure it was, so callers never classify by the sentence.
    #[serde(skip)]
    pub kind: ErrorKind,
}

/// The kinds of collection failure callers treat differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorKind {
    #[default]
    Other,
    /// Larger than `--max-file-bytes`.
    TooLarge,
    /// Holds a NUL byte: a binary file, not text.
    Binary,
    /// A symlink that leaves the boundary.
    Outside,
}

impl CollectError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            kind: ErrorKind::Other,
        }
    }

    pub fn of_kind(kind: ErrorKind, reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            kind,
        }
    }
}

pub type Collected = Result<Value, CollectError>;

/// Every evidence source, once: `Variant(module)`, where `module::Spec` implements
/// [`source::Source`]. The request enum and every dispatch over it are generated from this
/// list, so a source is added by writing its module and one line here.
macro_rules! sources {
    ($($variant:ident($module:ident)),* $(,)?) => {
        $(pub mod $module;)*

        /// One validated evidence request. Identical requests from different rules share one
        /// key and are collected once.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(tag = "source", rename_all = "snake_case")]
        pub enum Request {
            $($variant($module::Spec),)*
        }

        /// The names of every source, in registry order.
        pub const NAMES: &[&str] = &[$(<$module::Spec as Source>::NAME),*];

        /// What `explain --source` says of each source, in registry order.
        pub const DOCS: &[source::SourceDoc] = &[$(<$module::Spec as Source>::DOC),*];

        impl Request {
            pub fn source_name(&self) -> &'static str {
                match self {
                    $(Request::$variant(_) => <$module::Spec as Source>::NAME,)*
                }
            }

            /// A rough rank of how long collecting takes, for scheduling: commands, then
            /// network sources, then tree-wide reads, then single files. `manifests` comes
            /// last: its slow part (kustomize renders, parsing big files) is started by
            /// [`manifests::prefetch`] beside the workers.
            pub fn expected_cost(&self) -> u8 {
                match self {
                    $(Request::$variant(_) => <$module::Spec as Source>::COST,)*
                }
            }

            /// Paths and globs this request reads, for the boundary check at load time.
            pub fn paths(&self) -> Vec<String> {
                match self {
                    $(Request::$variant(s) => s.paths(),)*
                }
            }

            /// Whether the request reads a scope of files ([`Request::scope`] without compiling it).
            pub fn has_scope(&self) -> bool {
                match self {
                    $(Request::$variant(s) => s.scope().is_some(),)*
                }
            }

            /// The part of the tree this request reads, to hold it to what it could not read.
            /// `None` for sources that read no files (commands, the cluster, HTTP).
            pub fn scope(&self) -> Option<Scope> {
                let (include, exclude) = match self {
                    $(Request::$variant(s) => s.scope()?,)*
                };
                Scope::new(&include, &exclude)
            }

            /// One line for `explain RULE_ID`.
            pub fn describe(&self) -> String {
                match self {
                    $(Request::$variant(s) => s.describe(),)*
                }
            }

            /// Why the collected value matched nothing, when it did (see [`Source::matched_nothing`]).
            pub fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
                match self {
                    $(Request::$variant(s) => s.matched_nothing(name, v),)*
                }
            }

            fn collect_with(&self, ctx: &Ctx<'_>) -> Collected {
                match self {
                    $(Request::$variant(s) => s.collect(ctx),)*
                }
            }

            /// Build a request from what the policy wrote. Exactly one source key must be
            /// present.
            pub fn from_raw(raw: &EvidenceRaw) -> Result<Request, String> {
                let mut named: Vec<&str> = Vec::new();
                $(if raw.$module.is_some() {
                    named.push(<$module::Spec as Source>::NAME);
                })*
                match named.as_slice() {
                    [] => Err(format!(
                        "names no evidence source (one of {})",
                        NAMES.join(", ")
                    )),
                    $([one] if *one == <$module::Spec as Source>::NAME => {
                        <$module::Spec as Source>::from_raw(raw).map(Request::$variant)
                    })*
                    many => Err(format!(
                        "names more than one evidence source ({}); use one entry per source",
                        many.join(", ")
                    )),
                }
            }
        }
    };
}

sources! {
    Artifact(artifact),
    Files(files),
    Run(run),
    Scan(scan),
    Capture(capture),
    Data(data),
    Links(links),
    Git(git),
    Cluster(cluster),
    Manifests(manifests),
    Http(http),
    Suppressions(suppressions),
    Versions(versions),
}

impl Request {
    /// A stable identity for de-duplication and for the bundle.
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The files a request reads, as globs: a file finding (too large, binary, a symlink out)
/// inside it is evidence the request did not read.
pub struct Scope {
    include: std::sync::Arc<globset::GlobSet>,
    exclude: std::sync::Arc<globset::GlobSet>,
    /// The literal folder prefix of each include pattern: a folder that could not be walked is
    /// in scope when it may hold a file the pattern names.
    prefixes: Vec<String>,
}

impl Scope {
    pub fn new(include: &[String], exclude: &[String]) -> Option<Scope> {
        let norm = |p: &String| p.trim_start_matches("./").to_string();
        let include: Vec<String> = include.iter().map(norm).collect();
        let prefixes = include
            .iter()
            .map(|p| {
                let lit = p.split(['*', '?', '[', '{']).next().unwrap_or("");
                match lit.rfind('/') {
                    Some(i) if fs::is_glob(p) => lit[..=i].to_string(),
                    None if fs::is_glob(p) => String::new(),
                    _ => lit.to_string(),
                }
            })
            .collect();
        Some(Scope {
            include: fs::globset(&include, true).ok()?,
            exclude: fs::globset(exclude, true).ok()?,
            prefixes,
        })
    }

    /// Whether `rel` (a file, or a folder that was not walked) is in this scope.
    pub fn holds(&self, rel: &str) -> bool {
        if self.exclude.is_match(rel) {
            return false;
        }
        if self.include.is_match(rel) {
            return true;
        }
        // A folder: in scope when a pattern's literal part reaches into it or through it.
        let dir = format!("{}/", rel.trim_end_matches('/'));
        rel_is_folder_like(rel)
            && self
                .prefixes
                .iter()
                .any(|p| p.is_empty() || dir.starts_with(p.as_str()) || p.starts_with(&dir))
    }
}

/// A finding's path names a folder when it has no extension-like last part; folder findings
/// come only from the walk ("not walked"), which is why a looser test is enough here.
fn rel_is_folder_like(rel: &str) -> bool {
    let last = rel.rsplit('/').next().unwrap_or(rel);
    !last.contains('.')
}

/// Attach to each collected item the files in its scope that were not read (`unread`): the
/// rule reading it can then not pass.
pub fn attach_unread(
    items: &mut BTreeMap<String, Item>,
    findings: &[fs::WalkFinding],
    redactor: &crate::redact::Redactor,
) {
    for item in items.values_mut() {
        let ItemResult::Value(Value::Object(m)) = &mut item.result else {
            continue;
        };
        // A scope is compiled globs: built only when there are findings to place.
        let scope = match findings.is_empty() {
            true => item.request.has_scope().then_some(None),
            false => item.request.scope().map(Some),
        };
        let Some(scope) = scope else {
            continue;
        };
        let mut unread: Vec<Value> = match m.remove("unread") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let in_scope = |f: &&fs::WalkFinding| scope.as_ref().is_some_and(|s| s.holds(&f.path));
        for f in findings.iter().filter(in_scope) {
            let v = serde_json::json!({
                "path": redactor.text(&f.path),
                "reason": redactor.text(&f.reason),
            });
            if !unread.contains(&v) {
                unread.push(v);
            }
        }
        m.insert("unread".into(), Value::Array(unread));
    }
}

/// One render per kustomize folder and run, shared by every request that reads it.
pub(crate) type KustomizeRenders = std::collections::HashMap<
    PathBuf,
    std::sync::Arc<OnceLock<Result<Vec<k8s::Located>, CollectError>>>,
>;

/// Options that shape the whole run's collection.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: DateTime<Utc>,
    pub skip_commands: bool,
    pub jobs: usize,
    pub max_file_bytes: u64,
    /// Where `run` results are cached (`None`: `--no-cache`, every command runs).
    pub cache_dir: Option<PathBuf>,
    /// Cached results older than this are not reused (`[audit] cache_max_age`).
    pub cache_max_age: chrono::Duration,
}

/// What every collector may use: where the audited tree is, where the boundary is, the clock,
/// and one shared listing of the tree (walked once per run, not once per rule).
pub struct Ctx<'p> {
    /// The audited folder, canonical.
    pub root: PathBuf,
    /// Nothing outside this folder is read (the enclosing git work tree, or `root`).
    pub boundary: PathBuf,
    pub options: Options,
    pub placeholders: &'p artifact::PlaceholderSet,
    /// Relative folder whose files are published audits (skipped by placeholder checks and scans).
    pub publish_dir: String,
    /// Applied to everything collected, before it is evaluated, truncated or stored.
    pub redactor: crate::redact::Redactor,
    /// Files this run is about to write (the audit being published and its index): not evidence
    /// of themselves, so they are left out of the listing.
    pub own_outputs: Vec<String>,
    files: OnceLock<fs::Listing>,
    /// sha256 over every walked file's path and content, for cache keys; hashed once per run.
    tree_digest: OnceLock<[u8; 32]>,
    /// Kustomize folders rendered this run: several rules read the same overlay, and
    /// `kubectl kustomize` is the slowest step of collecting it.
    pub(crate) kustomize_renders: Mutex<KustomizeRenders>,
    /// Files the repository's kustomizations apply as patches (→ the kustomization), read once.
    pub(crate) patch_files: OnceLock<std::collections::BTreeMap<String, String>>,
    /// Last changes already looked up in git: one history walk per run.
    git: git::Cache,
    progress: Option<&'p dyn Progress>,
    cluster: cluster::State,
    /// Files the collectors met but did not read whole (too big, not UTF-8), for the report.
    findings: Mutex<std::collections::BTreeSet<fs::WalkFinding>>,
    /// Every file read as evidence (relative), for the clean-tree check by content; kept only
    /// when that check runs (`require_clean`), so a large scan pays nothing for it otherwise.
    read: Option<Mutex<std::collections::BTreeSet<String>>>,
}

/// Told as evidence is collected (from worker threads), for progress displays.
pub trait Progress: Send + Sync {
    fn planned(&self, _total: usize) {}
    fn started(&self, _key: &str, _request: &Request) {}
    fn finished(&self, _key: &str, _request: &Request, _ms: u64, _ok: bool) {}
}

impl<'p> Ctx<'p> {
    pub fn new(
        root: PathBuf,
        boundary: PathBuf,
        options: Options,
        placeholders: &'p artifact::PlaceholderSet,
        publish_dir: String,
    ) -> Self {
        Self {
            root,
            boundary,
            options,
            placeholders,
            publish_dir,
            redactor: crate::redact::Redactor::new(&[]),
            own_outputs: Vec::new(),
            files: OnceLock::new(),
            tree_digest: OnceLock::new(),
            kustomize_renders: Mutex::new(KustomizeRenders::new()),
            patch_files: OnceLock::new(),
            git: git::Cache::default(),
            progress: None,
            cluster: cluster::State::default(),
            findings: Mutex::new(Default::default()),
            read: None,
        }
    }

    /// Keep the list of files read as evidence (for `require_clean`).
    pub fn with_read_tracking(mut self, on: bool) -> Self {
        self.read = on.then(Default::default);
        self
    }

    /// Every file read as evidence so far, sorted (empty without read tracking).
    pub fn files_read(&self) -> Vec<String> {
        self.read
            .as_ref()
            .and_then(|m| m.lock().ok().map(|r| r.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// Use a redactor with the policy's own patterns.
    pub fn with_redactor(mut self, redactor: crate::redact::Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Report collection to `progress` (a terminal display, say).
    pub fn with_progress(mut self, progress: Option<&'p dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Give the run its cluster source and Kubernetes settings (default: no cluster source).
    pub fn with_cluster(mut self, state: cluster::State) -> Self {
        self.cluster = state;
        self
    }

    /// The run's cluster source, loaded lazily and shared by every rule.
    pub fn cluster(&self) -> &cluster::State {
        &self.cluster
    }

    /// Free what only collecting needed (parsed manifest and snapshot files, kustomize
    /// renders): at 10,000 objects that is a third of the run's memory.
    pub fn release_caches(&mut self) {
        self.cluster.release_caches();
        self.kustomize_renders
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Every file under the audited folder (relative, `/`-separated), gitignore-aware, hidden
    /// files included, `.git` excluded, symlinks not followed.
    pub fn listing(&self) -> &fs::Listing {
        self.files.get_or_init(|| {
            let mut l = fs::Listing::evidence(&self.root, &self.boundary, self.options.jobs);
            l.files.retain(|f| !self.own_outputs.contains(f));
            l
        })
    }

    /// What the whole audited tree holds, as one sha256: every walked file's path and the
    /// sha256 of its content (gitignored files are not in the walk). Cache keys that depend on
    /// the whole tree share this one hashing per run.
    pub fn tree_digest(&self) -> [u8; 32] {
        *self.tree_digest.get_or_init(|| {
            use sha2::{Digest, Sha256};
            let files: Vec<&str> = self.listing().files.iter().map(String::as_str).collect();
            let hashes = scan::per_file(self, &files, |rel| self.file_sha256(rel));
            let mut h = Sha256::new();
            for (rel, digest) in files.iter().zip(hashes) {
                h.update(b"\0");
                h.update(rel.as_bytes());
                h.update(b"\0");
                match digest {
                    Some(d) => h.update(d),
                    None => h.update(b"unreadable"),
                }
            }
            h.finalize().into()
        })
    }

    /// The sha256 of a file's bytes, read within the boundary; `None` when it cannot be read.
    pub fn file_sha256(&self, rel: &str) -> Option<[u8; 32]> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut bytes = Vec::new();
        let read = if self.files.get().is_some_and(|l| l.is_plain_file(rel)) {
            // As in `read_text`: a file the walk met as a plain file needs no resolving.
            fs::open_plain(&self.root.join(rel)).and_then(|mut f| f.read_to_end(&mut bytes))
        } else {
            let path = self.resolve(rel).ok()?;
            std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
        };
        read.ok().map(|_| Sha256::digest(&bytes).into())
    }

    /// The run's cache of git history lookups.
    pub fn git_cache(&self) -> &git::Cache {
        &self.git
    }

    /// Resolve a policy path against the audited folder and hold it to the boundary.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, CollectError> {
        fs::resolve_within(&self.root, &self.boundary, rel)
    }

    /// Read a text file inside the boundary, bounded in size, lossily for non-UTF-8. A file
    /// refused for its size, or read with replacement characters, is also a finding.
    pub fn read_text(&self, rel: &str) -> Result<fs::Text, CollectError> {
        if let Some(Ok(mut r)) = self.read.as_ref().map(Mutex::lock) {
            r.insert(rel.trim_start_matches("./").to_string());
        }
        // A file the walk met as a plain file needs no resolving (eight `readlink`s a file for
        // a canonical path dominated scanning a large tree).
        let read = if self.files.get().is_some_and(|l| l.is_plain_file(rel)) {
            fs::read_plain_text(&self.root.join(rel), rel, self.options.max_file_bytes)
        } else {
            let path = self.resolve(rel).inspect_err(|e| {
                if e.kind == ErrorKind::Outside {
                    self.finding(rel, fs::OUTSIDE);
                }
            })?;
            fs::read_text(&path, rel, self.options.max_file_bytes)
        };
        match read {
            Ok(t) => {
                if t.lossy {
                    self.finding(rel, fs::NOT_UTF8);
                }
                Ok(t)
            }
            Err(e) => {
                match e.kind {
                    ErrorKind::TooLarge => self.finding(
                        rel,
                        &format!(
                            "larger than --max-file-bytes ({} bytes); not read",
                            self.options.max_file_bytes
                        ),
                    ),
                    ErrorKind::Binary => self.finding(rel, fs::BINARY),
                    _ => {}
                }
                Err(e)
            }
        }
    }

    /// Note a problem with a file (it stays out of the evidence, and the report lists it).
    pub fn finding(&self, rel: &str, reason: &str) {
        if let Ok(mut f) = self.findings.lock() {
            f.insert(fs::WalkFinding {
                path: rel.to_string(),
                reason: reason.to_string(),
            });
        }
    }

    /// Every file finding of the run: the walk's (symlinks leaving the boundary, loops,
    /// unreadable folders) and the collectors' (too big, not UTF-8), sorted, without repeats.
    pub fn findings(&self) -> Vec<fs::WalkFinding> {
        let mut all: std::collections::BTreeSet<fs::WalkFinding> =
            self.listing().findings.iter().cloned().collect();
        if let Ok(f) = self.findings.lock() {
            all.extend(f.iter().cloned());
        }
        all.into_iter().collect()
    }

    /// shipshape's own output, not uncommitted evidence: a file this run is about to publish,
    /// or a published audit whose only change since HEAD is the superseded note shipshape adds.
    pub fn is_own_output(&self, rel: &str) -> bool {
        self.own_outputs.iter().any(|o| o == rel)
            || (self.is_published_audit(rel) && crate::repo::only_superseded_note(&self.root, rel))
    }

    /// A published audit (or the index of published audits) in the publish folder, by name.
    pub fn is_published_audit(&self, rel: &str) -> bool {
        if self.publish_dir.is_empty() {
            return false;
        }
        let dir = self.publish_dir.trim_end_matches('/');
        rel.strip_prefix(dir)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| {
                (name.starts_with("final-production-readiness-audit-") && name.ends_with(".md"))
                    || name == crate::published::INDEX
            })
    }
}

/// The result of collecting one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Item {
    /// The request as the policy made it: `source` names the collector, the other keys are its
    /// options (they vary by source and grow with new collectors).
    #[schemars(schema_with = "request_schema")]
    pub request: Request,
    #[serde(flatten)]
    pub result: ItemResult,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemResult {
    Value(Value),
    Error(String),
}

fn request_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "required": ["source"],
        "properties": { "source": { "type": "string" } },
        "additionalProperties": true
    })
}

impl Item {
    pub fn as_result(&self) -> Result<&Value, &str> {
        match &self.result {
            ItemResult::Value(v) => Ok(v),
            ItemResult::Error(e) => Err(e),
        }
    }
}

/// Collect every request of the plan, in parallel up to `jobs`. Returns evidence by request key
/// and how long each took (kept out of the digest).
pub fn collect_all(
    ctx: &Ctx<'_>,
    plan: &BTreeMap<String, Request>,
) -> (BTreeMap<String, Item>, BTreeMap<String, u64>) {
    // Slowest first (longest-processing-time scheduling): commands and external renders start
    // at once and overlap the many quick file reads, instead of starting after them.
    let mut order: Vec<(&String, &Request)> = plan.iter().collect();
    order.sort_by_key(|(key, request)| (std::cmp::Reverse(request.expected_cost()), *key));
    order.reverse();
    let queue: Mutex<Vec<(&String, &Request)>> = Mutex::new(order);
    let results: Mutex<BTreeMap<String, Item>> = Mutex::new(BTreeMap::new());
    let timings: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let workers = ctx.options.jobs.max(1).min(plan.len().max(1));
    if let Some(p) = ctx.progress {
        p.planned(plan.len());
    }
    std::thread::scope(|scope| {
        // Kustomize renders and manifest parses start first, beside everything else.
        scope.spawn(|| {
            let started = Instant::now();
            manifests::prefetch(ctx, plan.values());
            let ms = started.elapsed().as_millis() as u64;
            tracing::debug!(ms, "kustomize renders and manifests prefetched");
            crate::memtrace("manifests prefetched");
        });
        // The listing is shared; walk it before the workers start so they do not race to
        // build it.
        let _ = ctx.listing();
        crate::memtrace("tree walked");
        // Likewise the last changes in git: every rule's paths are resolved by one history
        // walk.
        git::prepare(ctx, plan);
        crate::memtrace("git history walked");
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop()).unwrap_or(None);
                    let Some((key, request)) = next else { break };
                    let started = Instant::now();
                    if let Request::Run(r) = request {
                        tracing::info!(command = %r.command, "running");
                    } else {
                        tracing::debug!(source = request.source_name(), request = %key, "collecting");
                    }
                    if let Some(p) = ctx.progress {
                        p.started(key, request);
                    }
                    let result = collect_one(ctx, request);
                    let ms = started.elapsed().as_millis() as u64;
                    if let Request::Run(r) = request {
                        tracing::info!(command = %r.command, ms, collected = result.is_ok(), "finished");
                    } else {
                        tracing::debug!(ms, ok = result.is_ok(), request = %key, "collected");
                    }
                    if let Some(p) = ctx.progress {
                        p.finished(key, request, ms, result.is_ok());
                    }
                    let item = Item {
                        request: request.clone(),
                        result: match result {
                            Ok(v) => ItemResult::Value(v),
                            Err(e) => ItemResult::Error(e.reason),
                        },
                    };
                    if let Ok(mut r) = results.lock() {
                        r.insert(key.clone(), item);
                    }
                    if let Ok(mut t) = timings.lock() {
                        t.insert(key.clone(), ms);
                    }
                }
            });
        }
    });
    (
        results.into_inner().unwrap_or_default(),
        timings.into_inner().unwrap_or_default(),
    )
}

fn collect_one(ctx: &Ctx<'_>, request: &Request) -> Collected {
    // A panicking collector must not take the run with it: the rule becomes pending.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| request.collect_with(ctx)));
    match outcome {
        Ok(Ok(mut v)) => {
            ctx.redactor.value(&mut v);
            Ok(v)
        }
        Ok(Err(e)) => Err(CollectError::new(ctx.redactor.text(&e.reason))),
        Err(_) => Err(CollectError::new(format!(
            "the {} collector failed unexpectedly (internal error)",
            request.source_name()
        ))),
    }
}

/// Whole days between `t` and `now`, floored, as the contract says.
pub fn age_days(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (now - t).num_seconds().div_euclid(86_400)
}

/// `/`-separated relative display of a path under `root`.
pub fn rel_display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
