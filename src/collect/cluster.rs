//! The `cluster` source: Kubernetes objects of any kind (CRDs too) from the live API through
//! kube-rs, or from a recorded snapshot (`kubectl get -o yaml|json` output) — explicitly chosen,
//! never the ambient current-context by surprise. The precedence is the design contract's:
//! `--cluster-snapshot` > `--context` > `[cluster] snapshot` > `[cluster] context` >
//! `--in-cluster`; with none of them cluster rules are pending "no cluster source".
//!
//! The API is only read (discovery, list, get), every request has a timeout, lists are paged,
//! and Secrets are never asked for. Anything that goes wrong is evidence: the rule becomes
//! pending with the reason (unreachable, 401, 403 naming the verb and resource, unknown kind,
//! 410, timeout).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::k8s::{self, FieldSelector, Located, Query, Selector};
use super::source::SourceDoc;
use super::{CollectError, Collected, Ctx};
use crate::policy::model::{ClusterSettings, EvidenceRaw};

/// Seconds a single API request may take unless the rule says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Objects asked for per list page.
pub const PAGE_SIZE: u32 = 500;
/// A list stops after this many pages (5 million objects at the default page size).
const MAX_PAGES: usize = 10_000;
/// No response body (one page of a list, a discovery document) is read past this many bytes.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// A list request that returns more objects than this is pending, not half-read.
pub const MAX_OBJECTS: usize = 50_000;
/// Retries of one page answered 429, 5xx or with a dropped connection.
const MAX_RETRIES: u32 = 4;
/// Oldest snapshot cluster rules rely on unless `[cluster] max_snapshot_age` says otherwise.
pub const DEFAULT_MAX_SNAPSHOT_AGE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// `apps/v1`, `v1`, `monitoring.coreos.com/v1`; a bare group (`apps`) takes the version the
    /// server prefers.
    pub api_version: String,
    pub kind: String,
    /// `None`: the run's namespace (`--namespace` / `[cluster] namespace`), else all
    /// namespaces. `"*"`: all namespaces whatever the run says.
    pub namespace: Option<String>,
    pub selector: Option<String>,
    pub field_selector: Option<String>,
    pub name: Option<String>,
    /// `false`: only a live source will do; a snapshot leaves the rule pending.
    pub allow_snapshot: bool,
    pub timeout_secs: u64,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(
            raw,
            &[
                "kind",
                "namespace",
                "selector",
                "field_selector",
                "name",
                "allow_snapshot",
                "timeout",
            ],
        )?;
        let api_version = raw.cluster.clone().unwrap_or_default().trim().to_string();
        if api_version.is_empty() {
            return Err(
                "`cluster` needs an apiVersion (`apps/v1`, `v1`, `monitoring.coreos.com/v1`)"
                    .into(),
            );
        }
        if api_version.split('/').count() > 2 || api_version.contains(char::is_whitespace) {
            return Err(format!(
                "`cluster = \"{api_version}\"` is not an apiVersion (group/version or v1)"
            ));
        }
        let kind = raw.kind.clone().unwrap_or_default().trim().to_string();
        if kind.is_empty() {
            return Err("`cluster` needs `kind` (e.g. kind = \"Deployment\")".into());
        }
        if !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "kind `{kind}` is not a Kubernetes kind (one kind per entry)"
            ));
        }
        if kind.eq_ignore_ascii_case("Secret") || kind.eq_ignore_ascii_case("SecretList") {
            return Err("asks for Secrets: shipshape never reads Secrets from a cluster (check the workload that mounts it instead)".into());
        }
        if let Some(s) = &raw.selector {
            Selector::parse(s)?;
        }
        if let Some(f) = &raw.field_selector {
            FieldSelector::parse(f)?;
        }
        let timeout_secs = raw.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout_secs == 0 {
            return Err("timeout must be at least 1 second".into());
        }
        Ok(Spec {
            api_version,
            kind,
            namespace: raw.namespace.clone().filter(|n| !n.is_empty()),
            selector: raw.selector.clone(),
            field_selector: raw.field_selector.clone(),
            name: raw.name.clone(),
            allow_snapshot: raw.allow_snapshot.unwrap_or(true),
            timeout_secs,
        })
    }

    /// The namespace this request is limited to, if any.
    fn effective_namespace(&self, run_ns: Option<&str>) -> Option<String> {
        match self.namespace.as_deref() {
            Some("*") => None,
            Some(ns) => Some(ns.to_string()),
            None => run_ns.map(str::to_string),
        }
    }

    fn query(&self, run_ns: Option<&str>) -> Query {
        Query {
            api_version: Some(self.api_version.clone()),
            kinds: vec![self.kind.clone()],
            namespace: self.effective_namespace(run_ns),
            name: self.name.clone(),
            selector: self
                .selector
                .as_deref()
                .and_then(|s| Selector::parse(s).ok()),
            fields: self
                .field_selector
                .as_deref()
                .and_then(|s| FieldSelector::parse(s).ok()),
        }
    }
}

/// Cluster options from the command line.
#[derive(Debug, Clone, Default)]
pub struct CliOptions {
    /// `--cluster-snapshot FILE...` (paths as given, relative to the working directory).
    pub snapshots: Vec<PathBuf>,
    /// `--context NAME`.
    pub context: Option<String>,
    /// `--namespace NS[,NS…]` (repeatable).
    pub namespaces: Vec<String>,
    /// `--in-cluster`.
    pub in_cluster: bool,
    /// `--kubeconfig FILE` (else `KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--manifests PATH...` (as given, relative to the working directory).
    pub manifests: Vec<PathBuf>,
    /// `--objects-from manifests|cluster`.
    pub objects_from: Option<String>,
}

/// `--manifests` paths as the audited folder names them; one outside it is a usage error.
pub fn cli_manifests(cli: &CliOptions, root: &Path) -> Result<Vec<String>, String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    cli.manifests
        .iter()
        .map(|p| {
            let abs = std::fs::canonicalize(p).map_err(|e| {
                format!(
                    "--manifests `{}`: {}",
                    p.display(),
                    super::fs::io_reason(&e)
                )
            })?;
            let rel = abs.strip_prefix(&root).map_err(|_| {
                format!(
                    "--manifests `{}` is outside the audited folder {}",
                    p.display(),
                    root.display()
                )
            })?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            Ok(if rel.is_empty() { ".".to_string() } else { rel })
        })
        .collect()
}

/// Where cluster evidence comes from in this run.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    None,
    Snapshot {
        /// Files to read, absolute or relative to the working directory.
        files: Vec<PathBuf>,
        /// How the report names them.
        shown: Vec<String>,
        /// `--cluster-snapshot` or `[cluster] snapshot`.
        chosen_by: String,
    },
    Live {
        context: Option<String>,
        in_cluster: bool,
        kubeconfig: Option<PathBuf>,
        chosen_by: String,
    },
}

/// A cluster input given on the command line that cannot be used is a usage error (exit 2),
/// never a quiet pending: a missing snapshot file, `--kubeconfig` without `--context`, a
/// context the kubeconfig does not hold, `--in-cluster` outside a pod. Returns every problem.
pub fn check_cli(cli: &CliOptions) -> Result<(), String> {
    let mut problems = Vec::new();
    for f in &cli.snapshots {
        if !f.is_file() {
            problems.push(format!(
                "--cluster-snapshot `{}` is not a readable file",
                f.display()
            ));
        }
    }
    if cli.kubeconfig.is_some() && cli.context.is_none() {
        problems.push(
            "--kubeconfig needs --context NAME: shipshape never uses a kubeconfig's current context by surprise".into(),
        );
    }
    if let Some(name) = &cli.context {
        let kc = match &cli.kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p)
                .map_err(|e| format!("--kubeconfig `{}` cannot be read: {e}", p.display())),
            None => kube::config::Kubeconfig::read()
                .map_err(|e| format!("--context `{name}`: no kubeconfig can be read: {e}")),
        };
        match kc {
            Ok(kc) if !kc.contexts.iter().any(|c| c.name == *name) => problems.push(format!(
                "--context `{name}` is not a context of the kubeconfig (it has: {})",
                kc.contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
    }
    if cli.in_cluster && std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
        problems
            .push("--in-cluster: not running in a pod (KUBERNETES_SERVICE_HOST is not set)".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The contract's precedence, as a pure function.
pub fn resolve(cli: &CliOptions, policy: &ClusterSettings, root: &Path) -> Source {
    if !cli.snapshots.is_empty() {
        return Source::Snapshot {
            files: cli.snapshots.clone(),
            // A snapshot inside the audited folder is named relative to it (as manifests are,
            // so one file read both ways is parsed once); one elsewhere, as given.
            shown: cli
                .snapshots
                .iter()
                .map(|p| {
                    std::fs::canonicalize(p)
                        .ok()
                        .and_then(|c| {
                            c.strip_prefix(root)
                                .ok()
                                .map(|r| r.to_string_lossy().replace('\\', "/"))
                        })
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| p.display().to_string())
                })
                .collect(),
            chosen_by: "--cluster-snapshot".into(),
        };
    }
    if let Some(c) = &cli.context {
        return Source::Live {
            context: Some(c.clone()),
            in_cluster: false,
            kubeconfig: cli.kubeconfig.clone(),
            chosen_by: "--context".into(),
        };
    }
    // The command line outranks the policy: `--in-cluster` before any `[cluster]` setting.
    if cli.in_cluster {
        return Source::Live {
            context: None,
            in_cluster: true,
            kubeconfig: None,
            chosen_by: "--in-cluster".into(),
        };
    }
    if !policy.snapshot.is_empty() {
        return Source::Snapshot {
            files: policy.snapshot.iter().map(|p| root.join(p)).collect(),
            shown: policy.snapshot.clone(),
            chosen_by: "[cluster] snapshot".into(),
        };
    }
    if let Some(c) = &policy.context {
        return Source::Live {
            context: Some(c.clone()),
            in_cluster: false,
            kubeconfig: cli.kubeconfig.clone(),
            chosen_by: "[cluster] context".into(),
        };
    }
    Source::None
}

/// What the report says about the cluster source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    /// `live`, `snapshot` or `none`.
    pub kind: String,
    /// What chose it (`--context`, `[cluster] snapshot`…).
    pub chosen_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// `header` (the `# shipshape-captured-at:` comment), `file modification time` (an
    /// untracked file), `nothing (…)` (a committed file without the header: age unknown), or
    /// `query` (live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_hours: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The snapshot says it is simulated (`# shipshape-simulated: true`): not a recording of
    /// any cluster, and every report says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// What simulated state was generated from (`# shipshape-generated-from:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_from: Option<String>,
    /// The API server's version when the snapshot was recorded, or of the live server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// `[cluster] max_snapshot_age` in hours (snapshots only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_hours: Option<i64>,
    /// The snapshot is older than `max_age_hours`: cluster rules are pending.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// One line naming the source, its age and whether it is simulated: what every format shows.
    /// (Absent from bundles written before it existed, which must still hash as they did.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
}

impl Provenance {
    /// One line naming the source, its age and whether it is simulated — the same words in
    /// every format.
    pub fn describe(&self) -> String {
        let age = |h: i64| {
            if h < 48 {
                format!("{h} h old")
            } else {
                format!("{} days old", h / 24)
            }
        };
        match self.kind.as_str() {
            "none" => "none: cluster rules are pending".to_string(),
            "snapshot" if self.simulated => {
                let mut s = "SIMULATED cluster state".to_string();
                if let Some(g) = &self.generated_from {
                    s.push_str(&format!(" (generated from {g})"));
                }
                s.push_str(&format!(", not a recording: {}", self.files.join(", ")));
                if let (Some(t), Some(h)) = (&self.captured_at, self.age_hours) {
                    s.push_str(&format!(", as of {t} ({})", age(h)));
                }
                s + &self.stale_note()
            }
            "snapshot" => {
                let mut s = format!("snapshot {}", self.files.join(", "));
                if let Some(t) = &self.captured_at {
                    s.push_str(&format!(", captured {t}"));
                }
                if let Some(h) = self.age_hours {
                    s.push_str(&format!(" ({})", age(h)));
                }
                if let Some(c) = &self.context {
                    s.push_str(&format!(" from context {c}"));
                }
                s + &self.stale_note()
            }
            _ => {
                let mut s = format!(
                    "live cluster, context {}",
                    self.context.as_deref().unwrap_or("?")
                );
                if let Some(v) = &self.server {
                    s.push_str(&format!(" ({v})"));
                }
                if let Some(t) = &self.captured_at {
                    s.push_str(&format!(", queried {t}"));
                }
                s
            }
        }
    }

    fn stale_note(&self) -> String {
        match (self.stale, self.max_age_hours) {
            (true, Some(m)) => format!(
                " — older than the {m} h [cluster] max_snapshot_age: cluster rules are pending"
            ),
            _ => String::new(),
        }
    }
}

/// A loaded snapshot: every object (Secrets dropped), and when it was captured.
#[derive(Debug)]
pub struct Snapshot {
    /// Each file's parse, shared with `manifests` requests reading the same file.
    pub parts: Vec<ParsedFile>,
    pub captured_at: DateTime<Utc>,
    pub captured_at_from: &'static str,
    /// Any of its files says it is simulated.
    pub simulated: bool,
    /// The first file's `# shipshape-…` header lines.
    pub header: std::collections::BTreeMap<String, String>,
    pub shown: Vec<String>,
    pub problems: Vec<k8s::ParseProblem>,
}

/// The cluster side of a run: the chosen source, loaded at most once and shared by every rule.
pub struct State {
    pub source: Source,
    /// Namespaces of requests that name none (`--namespace`, else `[cluster] namespaces` /
    /// `namespace`); empty: all namespaces.
    pub namespaces: Vec<String>,
    /// The audited environment (`{env}` in manifest paths).
    pub env: String,
    /// What an empty `manifests = []` entry reads (`--manifests`, else `[cluster] manifests`;
    /// `{env}` replaced).
    pub manifests: Vec<String>,
    /// Where an empty `manifests = []` entry reads objects from: `Some("cluster")`,
    /// `Some("manifests")`, or `None` (manifests when there are any, else the cluster source).
    pub objects_from: Option<String>,
    /// `[cluster] max_snapshot_age` in seconds.
    pub max_snapshot_age_secs: i64,
    snapshot: OnceLock<Result<Snapshot, String>>,
    live: OnceLock<Result<Live, String>>,
    /// Manifest and snapshot files parsed once per run, however many rules (kinds) read them
    /// and whether as manifests or as the snapshot: keyed by canonical path and shown name.
    parsed: std::sync::Mutex<std::collections::HashMap<(PathBuf, String), ParseCell>>,
}

type ParseCell = std::sync::Arc<OnceLock<ParsedFile>>;

/// A manifest file's objects and the documents that did not parse.
pub type ParsedFile = std::sync::Arc<(Vec<Located>, Vec<k8s::ParseProblem>)>;

impl Default for State {
    fn default() -> Self {
        State::new(Source::None, Vec::new())
    }
}

impl State {
    pub fn new(source: Source, namespaces: Vec<String>) -> State {
        State {
            source,
            namespaces,
            env: String::new(),
            manifests: Vec::new(),
            objects_from: None,
            max_snapshot_age_secs: DEFAULT_MAX_SNAPSHOT_AGE_SECS,
            snapshot: OnceLock::new(),
            live: OnceLock::new(),
            parsed: Default::default(),
        }
    }

    /// Drop the parsed files once collection is over (the snapshot keeps its capture time and
    /// problems for the report).
    pub fn release_caches(&mut self) {
        self.parsed
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Some(Ok(snap)) = self.snapshot.get_mut() {
            snap.parts.clear();
        }
    }

    /// Parse a file at most once per run: concurrent callers wait for the first parse.
    pub fn parsed(
        &self,
        path: &Path,
        name: &str,
        parse: impl FnOnce() -> ParsedFile,
    ) -> ParsedFile {
        let key = (
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            name.to_string(),
        );
        let cell = {
            let mut m = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(key).or_default().clone()
        };
        cell.get_or_init(parse).clone()
    }

    fn snapshot(&self, max_bytes: u64) -> Result<&Snapshot, String> {
        let Source::Snapshot { files, shown, .. } = &self.source else {
            return Err("no snapshot source".into());
        };
        self.snapshot
            .get_or_init(|| load_snapshot(self, files, shown, max_bytes))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Why a loaded snapshot is too old to rely on, if it is (also when dated after `now`).
    fn snapshot_too_old(&self, snap: &Snapshot, now: DateTime<Utc>) -> Option<String> {
        let age = (now - snap.captured_at).num_seconds();
        if age < -300 {
            return Some(format!(
                "the cluster snapshot is dated {} — after the audit time {}; not relied on",
                rfc3339(snap.captured_at),
                rfc3339(now)
            ));
        }
        if snap.captured_at == DateTime::<Utc>::UNIX_EPOCH {
            return Some(
                "the cluster snapshot has no `# shipshape-captured-at:` header and is committed to git, so when it was captured is unknown (its file time is the checkout's): record it with `shipshape snapshot`".into(),
            );
        }
        (age > self.max_snapshot_age_secs).then(|| {
            format!(
                "the cluster snapshot is {} h old (captured {}, from its {}), older than the {} h [cluster] max_snapshot_age: record a fresh one with `shipshape snapshot`",
                age_hours(now, snap.captured_at),
                rfc3339(snap.captured_at),
                snap.captured_at_from,
                self.max_snapshot_age_secs / 3600
            )
        })
    }

    fn live(&self) -> Result<&Live, String> {
        let Source::Live {
            context,
            in_cluster,
            kubeconfig,
            ..
        } = &self.source
        else {
            return Err("no live source".into());
        };
        self.live
            .get_or_init(|| Live::connect(context.as_deref(), *in_cluster, kubeconfig.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// What the report's banner says, after collection (a source no rule used is not loaded).
    pub fn provenance(&self, now: DateTime<Utc>) -> Provenance {
        let mut p = self.provenance_fields(now);
        p.summary = p.describe();
        if let Some(e) = &p.error {
            p.summary.push_str(&format!(" — not loaded: {e}"));
        }
        p
    }

    fn provenance_fields(&self, now: DateTime<Utc>) -> Provenance {
        match &self.source {
            Source::None => Provenance {
                kind: "none".into(),
                chosen_by: "nothing (no --cluster-snapshot, --context, [cluster] or --in-cluster)"
                    .into(),
                ..Provenance::default()
            },
            Source::Snapshot {
                shown, chosen_by, ..
            } => {
                let mut p = Provenance {
                    kind: "snapshot".into(),
                    chosen_by: chosen_by.clone(),
                    files: shown.clone(),
                    ..Provenance::default()
                };
                match self.snapshot.get() {
                    Some(Ok(s)) => {
                        p.captured_at = Some(rfc3339(s.captured_at));
                        p.captured_at_from = Some(s.captured_at_from.into());
                        p.simulated = s.simulated;
                        p.age_hours = Some(age_hours(now, s.captured_at));
                        p.generated_from = s.header.get("generated-from").cloned();
                        p.server = s.header.get("server").cloned();
                        p.context = s.header.get("context").cloned();
                        p.server_version = s.header.get("server-version").cloned();
                        p.max_age_hours = Some(self.max_snapshot_age_secs / 3600);
                        p.stale = self.snapshot_too_old(s, now).is_some();
                    }
                    Some(Err(e)) => p.error = Some(e.clone()),
                    None => {}
                }
                p
            }
            Source::Live {
                context,
                in_cluster,
                chosen_by,
                ..
            } => {
                let mut p = Provenance {
                    kind: "live".into(),
                    chosen_by: chosen_by.clone(),
                    context: context
                        .clone()
                        .or_else(|| in_cluster.then(|| "in-cluster".into())),
                    ..Provenance::default()
                };
                match self.live.get() {
                    Some(Ok(l)) => {
                        p.server = Some(l.server.clone());
                        p.captured_at = Some(rfc3339(now));
                        p.captured_at_from = Some("query".into());
                        p.age_hours = Some(0);
                    }
                    Some(Err(e)) => p.error = Some(e.clone()),
                    None => {}
                }
                p
            }
        }
    }
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whole hours between `t` and `now`, floored (never negative).
pub fn age_hours(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (now - t).num_seconds().div_euclid(3600).max(0)
}

/// The `# shipshape-KEY: value` lines among a snapshot's leading comments, where `shipshape
/// snapshot` records how it was taken: `captured-at`, `server`, `context`, `server-version`,
/// and for generated state `simulated` and `generated-from`.
pub fn header_fields(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .take(50)
        .map(str::trim)
        .take_while(|t| t.is_empty() || *t == "---" || t.starts_with('#'))
        .filter_map(|t| t.strip_prefix('#'))
        .filter_map(|c| c.trim().strip_prefix("shipshape-"))
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .fold(Default::default(), |mut m, (k, v)| {
            // The first occurrence wins, as for the capture time.
            m.entry(k).or_insert(v);
            m
        })
}

/// Whether a snapshot's leading comments say `# shipshape-simulated: true`.
pub fn simulated_header(text: &str) -> bool {
    header_fields(text)
        .get("simulated")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `# shipshape-captured-at: 2026-02-10T09:00:00Z` among the leading comment lines.
pub fn captured_at_header(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(header_fields(text).get("captured-at")?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn load_snapshot(
    state: &State,
    files: &[PathBuf],
    shown: &[String],
    max_bytes: u64,
) -> Result<Snapshot, String> {
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    let mut captured: Option<(DateTime<Utc>, &'static str)> = None;
    let mut simulated = false;
    let mut first_header = None;
    for (file, name) in files.iter().zip(shown) {
        // The capture time is in the first lines; the file is read whole only to be parsed.
        let header = read_head(file).map_err(|e| {
            format!(
                "cluster snapshot: cannot read `{name}`: {}",
                super::fs::io_reason(&e)
            )
        })?;
        simulated |= simulated_header(&header);
        first_header.get_or_insert_with(|| header_fields(&header));
        let at = match captured_at_header(&header) {
            Some(t) => (t, "header"),
            // A committed file's time is the checkout's, not the capture's: its age is unknown,
            // so it is as old as can be (and the report says why).
            None if tracked_by_git(file) => (
                DateTime::<Utc>::UNIX_EPOCH,
                "nothing (no header; committed, so its file time is the checkout's)",
            ),
            None => {
                let mtime = std::fs::metadata(file)
                    .and_then(|m| m.modified())
                    .map(DateTime::<Utc>::from)
                    .map_err(|e| format!("cluster snapshot `{name}`: {e}"))?;
                (mtime, "file modification time")
            }
        };
        // Several files: the evidence is as old as the oldest of them.
        if captured.is_none_or(|(t, _)| at.0 < t) {
            captured = Some(at);
        }
        let mut unreadable = None;
        let parsed = state.parsed(file, name, || {
            std::sync::Arc::new(match super::fs::read_text(file, name, max_bytes) {
                Ok(t) => k8s::parse_stream(&t.text, name),
                Err(e) => {
                    unreadable = Some(e.reason.clone());
                    (
                        Vec::new(),
                        vec![k8s::ParseProblem {
                            path: name.to_string(),
                            line: 0,
                            message: e.reason,
                        }],
                    )
                }
            })
        });
        if let Some(reason) = unreadable {
            return Err(format!("cluster snapshot: {reason}"));
        }
        problems.extend(parsed.1.iter().cloned());
        parts.push(parsed);
    }
    let snapshot_objects = parts.iter().flat_map(|p| p.0.iter()).count();
    if snapshot_objects == 0 && !problems.is_empty() {
        let p = &problems[0];
        return Err(format!(
            "cluster snapshot `{}` could not be parsed (line {}): {}",
            p.path, p.line, p.message
        ));
    }
    let (captured_at, captured_at_from) = captured.ok_or("cluster snapshot: no file given")?;
    Ok(Snapshot {
        parts,
        captured_at,
        captured_at_from,
        simulated,
        header: first_header.unwrap_or_default(),
        shown: shown.to_vec(),
        problems,
    })
}

/// Whether git tracks the file (then its modification time says when it was checked out).
fn tracked_by_git(file: &Path) -> bool {
    let Ok(abs) = std::fs::canonicalize(file) else {
        return false;
    };
    let Ok(repo) = git2::Repository::discover(abs.parent().unwrap_or(&abs)) else {
        return false;
    };
    let (Some(wd), Ok(index)) = (repo.workdir(), repo.index()) else {
        return false;
    };
    let wd = std::fs::canonicalize(wd).unwrap_or_else(|_| wd.to_path_buf());
    abs.strip_prefix(&wd)
        .is_ok_and(|rel| index.get_path(rel, 0).is_some())
}

/// The first 16 KiB of a file, where a snapshot's capture-time header is.
fn read_head(file: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(16 * 1024);
    std::fs::File::open(file)?
        .take(16 * 1024)
        .read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

impl Snapshot {
    /// The objects a snapshot serves: every parsed object but Secrets (`kubectl get
    /// all,secrets` may have captured some; they are never served).
    pub fn objects(&self) -> impl Iterator<Item = &Located> {
        self.parts
            .iter()
            .flat_map(|p| p.0.iter())
            .filter(|o| o.value.get("kind").and_then(Value::as_str) != Some("Secret"))
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let namespaces = &ctx.cluster().namespaces;
    if spec.namespace.is_some() || namespaces.len() < 2 {
        return collect_in(ctx, spec, namespaces.first().map(String::as_str));
    }
    // Several namespaces: one request each (the API lists one namespace or all), one answer.
    let parts = namespaces
        .iter()
        .map(|ns| collect_in(ctx, spec, Some(ns)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merge(parts, |_| true))
}

/// Several collected answers as one: objects (each once), errors and unread concatenated, the
/// first answer's source.
fn merge(parts: Vec<Value>, keep: impl Fn(&Value) -> bool) -> Value {
    let mut objects: Vec<Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut errors: Vec<Value> = Vec::new();
    let mut unread: Vec<Value> = Vec::new();
    let mut source = Value::Null;
    for mut got in parts {
        if source.is_null() {
            source = got["source"].take();
        }
        for (key, into) in [("errors", &mut errors), ("unread", &mut unread)] {
            if let Value::Array(a) = got[key].take() {
                into.extend(a);
            }
        }
        if let Value::Array(a) = got["objects"].take() {
            for o in a.into_iter().filter(|o| keep(o)) {
                let id = (
                    o.get("apiVersion").cloned(),
                    o.get("kind").cloned(),
                    o.get("_namespace").cloned(),
                    o.pointer("/metadata/name").cloned(),
                );
                if seen.insert(format!("{id:?}")) {
                    objects.push(o);
                }
            }
        }
    }
    // A snapshot's unread documents are listed once, not once per kind or namespace.
    unread.sort_by_key(|v| v.to_string());
    unread.dedup();
    errors.sort_by_key(|v| v.to_string());
    errors.dedup();
    let idx = k8s::indexes(&objects);
    let v = json!({
        "count": objects.len(),
        "by_namespace": null,
        "by_name": null,
        "objects": null,
        "errors": errors,
        "unread": unread,
        "source": source,
    });
    k8s::with_objects(v, objects, idx)
}

fn collect_in(ctx: &Ctx<'_>, spec: &Spec, run_ns: Option<&str>) -> Collected {
    let state = ctx.cluster();
    match &state.source {
        Source::None => Err(CollectError::new(
            "no cluster source (give --cluster-snapshot FILE or --context NAME, set [cluster] snapshot or context in the policy, or run with --in-cluster)",
        )),
        Source::Snapshot { .. } if !spec.allow_snapshot => Err(CollectError::new(
            "this rule needs a live cluster (allow_snapshot = false) and the cluster source is a snapshot",
        )),
        Source::Snapshot { .. } => {
            let snap = state
                .snapshot(ctx.options.max_file_bytes)
                .map_err(CollectError::new)?;
            if let Some(why) = state.snapshot_too_old(snap, ctx.options.now) {
                return Err(CollectError::new(why));
            }
            Ok(from_snapshot(snap, spec, run_ns, ctx.options.now))
        }
        Source::Live { .. } => {
            let live = state.live().map_err(CollectError::new)?;
            live.query(spec, run_ns, ctx.options.now)
        }
    }
}

/// A `manifests = []` request asked of the cluster source: several kinds at once, as the
/// hardening pack's workload rules ask for them.
#[derive(Debug, Clone, Default)]
pub struct KindsQuery {
    pub kinds: Vec<String>,
    pub api_version: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<String>,
    pub field_selector: Option<String>,
    pub name: Option<String>,
}

/// The API group (`apps`) or core version (`v1`) of the kinds a manifests request names
/// without an `api_version`; any other kind needs one.
pub fn well_known_group(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Pod"
        | "Service"
        | "ServiceAccount"
        | "ConfigMap"
        | "Namespace"
        | "PersistentVolumeClaim"
        | "ReplicationController" => "v1",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps",
        "Job" | "CronJob" => "batch",
        "PodDisruptionBudget" => "policy",
        "HorizontalPodAutoscaler" => "autoscaling",
        "NetworkPolicy" | "Ingress" => "networking.k8s.io",
        "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding" => {
            "rbac.authorization.k8s.io"
        }
        "Lease" => "coordination.k8s.io",
        "ServiceMonitor" | "PodMonitor" | "PrometheusRule" => "monitoring.coreos.com",
        _ => return None,
    })
}

/// The workload kind whose template an object was made from, when the request also reads
/// that kind: a live Pod of a ReplicaSet (of a Deployment), a Job of a CronJob. Such objects
/// are checked through their owner, once, with the owner's name in the finding.
fn owned_by_requested(v: &Value, kinds: &[String]) -> bool {
    let Some(owners) = v
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
    else {
        return false;
    };
    owners
        .iter()
        .filter(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .filter_map(|o| o.get("kind").and_then(Value::as_str))
        .any(|owner| {
            let via: &[&str] = match owner {
                "ReplicaSet" => &["ReplicaSet", "Deployment"],
                "Job" => &["Job", "CronJob"],
                "StatefulSet" => &["StatefulSet"],
                "DaemonSet" => &["DaemonSet"],
                "CronJob" => &["CronJob"],
                _ => &[],
            };
            via.iter().any(|k| kinds.iter().any(|w| w == k))
        })
}

/// Objects of several kinds from the cluster source (live or snapshot), in the shape a
/// manifests request has, so the same CEL runs on both. Any kind that cannot be read makes the
/// whole request an error (pending), naming it.
pub fn objects_of_kinds(ctx: &Ctx<'_>, q: &KindsQuery) -> Collected {
    if q.kinds.is_empty() {
        return Err(CollectError::new(
            "reading the cluster for `manifests = []` needs `kind` (e.g. kind = \"Deployment,StatefulSet\")",
        ));
    }
    let mut parts = Vec::new();
    for kind in &q.kinds {
        let api_version = match (&q.api_version, well_known_group(kind)) {
            (Some(a), _) => a.clone(),
            (None, Some(g)) => g.to_string(),
            (None, None) => {
                return Err(CollectError::new(format!(
                    "kind `{kind}` needs `api_version` to be read from the cluster"
                )));
            }
        };
        let spec = Spec {
            api_version,
            kind: kind.clone(),
            namespace: q.namespace.clone(),
            selector: q.selector.clone(),
            field_selector: q.field_selector.clone(),
            name: q.name.clone(),
            allow_snapshot: true,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
        };
        parts.push(collect(ctx, &spec).map_err(|e| {
            CollectError::new(format!("reading {kind} from the cluster: {}", e.reason))
        })?);
    }
    let mut v = merge(parts, |o| !owned_by_requested(o, &q.kinds));
    for key in ["files", "rendered", "missing"] {
        v[key] = json!([]);
    }
    Ok(v)
}

/// Serve a request from a snapshot: the same filtering the API server would do.
pub fn from_snapshot(
    snap: &Snapshot,
    spec: &Spec,
    run_ns: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let q = spec.query(run_ns);
    let objects: Vec<Value> = snap
        .objects()
        .filter(|o| q.matches(&o.value))
        .map(|o| {
            let mut o = o.clone();
            k8s::scrub(&mut o.value);
            k8s::annotate(o)
        })
        .collect();
    let idx = k8s::indexes(&objects);
    let errors: Vec<Value> = snap
        .problems
        .iter()
        .map(|p| json!({"path": p.path, "line": p.line, "message": p.message}))
        .collect();
    // A snapshot document that did not parse may have held an object this rule asks about.
    let unread: Vec<Value> = snap
        .problems
        .iter()
        .map(|p| {
            json!({"path": p.path, "reason": format!("document at line {} not read: {}", p.line, p.message)})
        })
        .collect();
    let v = json!({
        "count": objects.len(),
        "by_namespace": null,
        "by_name": null,
        "objects": null,
        "errors": errors,
        "unread": unread,
        "source": {
            "kind": "snapshot",
            "files": snap.shown,
            "captured_at": rfc3339(snap.captured_at),
            "captured_at_from": snap.captured_at_from,
            "age_hours": age_hours(now, snap.captured_at),
        },
    });
    k8s::with_objects(v, objects, idx)
}

// ---------------------------------------------------------------------------------------------
// Live

/// A connected client and the runtime it lives on, shared by every rule of the run.
pub struct Live {
    rt: tokio::runtime::Runtime,
    client: kube::Client,
    pub server: String,
    pub context: Option<String>,
}

impl Live {
    /// Build the client as kubectl would: `--kubeconfig`, else `KUBECONFIG`, else
    /// `~/.kube/config`, with the named context (exec credential plugins included); or the
    /// pod's service account with `--in-cluster`.
    pub fn connect(
        context: Option<&str>,
        in_cluster: bool,
        kubeconfig: Option<&Path>,
    ) -> Result<Live, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Kubernetes client runtime: {e}"))?;
        let config = rt.block_on(async {
            if in_cluster {
                return kube::Config::incluster()
                    .map_err(|e| format!("--in-cluster: no service-account configuration: {e}"));
            }
            let options = kube::config::KubeConfigOptions {
                context: context.map(str::to_string),
                cluster: None,
                user: None,
            };
            let shown = context.unwrap_or("(current)");
            match kubeconfig {
                Some(path) => {
                    let kc = kube::config::Kubeconfig::read_from(path)
                        .map_err(|e| format!("cannot read kubeconfig `{}`: {e}", path.display()))?;
                    kube::Config::from_custom_kubeconfig(kc, &options)
                        .await
                        .map_err(|e| format!("kubeconfig context `{shown}`: {e}"))
                }
                None => kube::Config::from_kubeconfig(&options)
                    .await
                    .map_err(|e| format!("kubeconfig context `{shown}`: {e}")),
            }
        })?;
        Self::with_config(rt, config, context.map(str::to_string))
    }

    fn with_config(
        rt: tokio::runtime::Runtime,
        mut config: kube::Config,
        context: Option<String>,
    ) -> Result<Live, String> {
        let server = config.cluster_url.to_string();
        config.connect_timeout = Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS));
        config.read_timeout = Some(Duration::from_secs(60));
        let client = {
            let _guard = rt.enter();
            // Every response body is capped: a server that never stops sending ends in an
            // error at the cap, not in memory exhaustion.
            let cap = tower_http::map_response_body::MapResponseBodyLayer::new(|b| {
                http_body_util::Limited::new(b, MAX_RESPONSE_BYTES)
            });
            kube::client::ClientBuilder::try_from(config)
                .map_err(|e| format!("cannot build a client for {server}: {e}"))?
                .with_layer(&cap)
                .build()
        };
        Ok(Live {
            rt,
            client,
            server,
            context,
        })
    }

    /// Every object of one kind (discovery, then paged lists), for `shipshape snapshot`.
    pub fn list(&self, spec: &Spec) -> Result<Vec<Located>, String> {
        let limit = Duration::from_secs(spec.timeout_secs);
        self.rt
            .block_on(fetch(self.client.clone(), spec, None, limit))
    }

    /// The server's version (`v1.31.2`), when it answers `/version`.
    pub fn server_version(&self) -> Option<String> {
        let client = self.client.clone();
        self.rt
            .block_on(async move {
                tokio::time::timeout(
                    Duration::from_secs(DEFAULT_TIMEOUT_SECS),
                    client.apiserver_version(),
                )
                .await
            })
            .ok()?
            .ok()
            .map(|v| v.git_version)
    }

    /// Run one request: resolve the kind through discovery, then get or list (paged).
    pub fn query(&self, spec: &Spec, run_ns: Option<&str>, now: DateTime<Utc>) -> Collected {
        let limit = Duration::from_secs(spec.timeout_secs);
        let objects = self
            .rt
            .block_on(fetch(self.client.clone(), spec, run_ns, limit))
            .map_err(|e| CollectError::new(format!("{e} (server {})", self.server)))?;
        let objects: Vec<Value> = objects.into_iter().map(k8s::annotate).collect();
        let idx = k8s::indexes(&objects);
        let mut source = json!({
            "kind": "live",
            "server": self.server,
            "captured_at": rfc3339(now),
            "captured_at_from": "query",
            "age_hours": 0,
        });
        if let Some(c) = &self.context {
            source["context"] = json!(c);
        }
        let v = json!({
            "count": objects.len(),
            "by_namespace": null,
            "by_name": null,
            "objects": null,
            "errors": [],
            "source": source,
        });
        Ok(k8s::with_objects(v, objects, idx))
    }
}

/// Read-only access to one kind: discovery, then `get` (with `name`) or paged `list`. Public so
/// tests can drive it with a client of their own.
pub async fn fetch(
    client: kube::Client,
    spec: &Spec,
    run_ns: Option<&str>,
    limit: Duration,
) -> Result<Vec<Located>, String> {
    use kube::api::{Api, DynamicObject, ListParams};
    use kube::discovery::{self, Scope};

    let within = |what: String| move |_| format!("timed out after {}s {what}", limit.as_secs());
    let (group, version) = match spec.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), Some(v.to_string())),
        None if spec.api_version == "v1" => (String::new(), Some("v1".to_string())),
        None => (spec.api_version.clone(), None),
    };
    let resolved = match &version {
        Some(v) => {
            let gvk = kube::api::GroupVersionKind::gvk(&group, v, &spec.kind);
            tokio::time::timeout(limit, discovery::pinned_kind(&client, &gvk))
                .await
                .map_err(within(format!("discovering {}", spec.api_version)))?
                .map_err(|e| explain(&e, Verb::Discover, spec, None))?
        }
        None => {
            let g = tokio::time::timeout(limit, discovery::group(&client, &group))
                .await
                .map_err(within(format!("discovering group {group}")))?
                .map_err(|e| explain(&e, Verb::Discover, spec, None))?;
            g.recommended_kind(&spec.kind).ok_or_else(|| {
                format!(
                    "unknown kind `{}` in API group `{group}` (is the CRD installed?)",
                    spec.kind
                )
            })?
        }
    };
    let (ar, caps) = resolved;
    let ns = match caps.scope {
        Scope::Namespaced => spec.effective_namespace(run_ns),
        Scope::Cluster => None,
    };
    let api: Api<DynamicObject> = match &ns {
        Some(n) => Api::namespaced_with(client, n, &ar),
        None => Api::all_with(client, &ar),
    };
    let fill = |o: DynamicObject| -> Located {
        let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.entry("apiVersion")
                .or_insert_with(|| json!(ar.api_version));
            m.entry("kind").or_insert_with(|| json!(ar.kind));
        }
        k8s::scrub(&mut v);
        Located {
            value: v,
            path: None,
            line: None,
            fields: Default::default(),
        }
    };
    if let Some(name) = &spec.name {
        let got = tokio::time::timeout(limit, api.get_opt(name))
            .await
            .map_err(within(format!("getting {} {name}", ar.kind)))?
            .map_err(|e| explain(&e, Verb::Get, spec, ns.as_deref()))?;
        let fields = spec
            .field_selector
            .as_deref()
            .and_then(|f| FieldSelector::parse(f).ok());
        let sel = spec
            .selector
            .as_deref()
            .and_then(|s| Selector::parse(s).ok());
        return Ok(got
            .map(fill)
            .into_iter()
            .filter(|o| {
                fields.as_ref().is_none_or(|f| f.matches(&o.value))
                    && sel.as_ref().is_none_or(|s| {
                        s.matches(o.value.get("metadata").and_then(|m| m.get("labels")))
                    })
            })
            .collect());
    }
    // One deadline for the whole paginated request: endless `continue` tokens end with it.
    let deadline = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let lp = ListParams {
            label_selector: spec.selector.clone(),
            field_selector: spec.field_selector.clone(),
            limit: Some(PAGE_SIZE),
            continue_token: token.clone(),
            ..ListParams::default()
        };
        let page = list_page(&api, &lp, deadline)
            .await
            .map_err(|e| match e {
                PageError::Timeout => format!(
                    "timed out after {}s listing {} ({} objects read; the whole request has one deadline)",
                    limit.as_secs(),
                    ar.plural,
                    out.len()
                ),
                PageError::TooLarge => format!(
                    "a page of {} was larger than {} MiB; not read further",
                    ar.plural,
                    MAX_RESPONSE_BYTES / (1024 * 1024)
                ),
                PageError::Kube(e) => explain(&e, Verb::List, spec, ns.as_deref()),
            })?;
        token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
        out.extend(page.items.into_iter().map(fill));
        if out.len() > MAX_OBJECTS {
            return Err(format!(
                "listing {} returned more than {MAX_OBJECTS} objects; not read further (narrow the request with a namespace or selector)",
                ar.plural
            ));
        }
        if token.is_none() {
            return Ok(out);
        }
    }
    Err(format!(
        "listing {} stopped after {MAX_PAGES} pages",
        ar.plural
    ))
}

enum PageError {
    Timeout,
    TooLarge,
    Kube(kube::Error),
}

/// Whether the error is the response-size cap (never retried: the next answer would be as big).
fn too_large(e: &kube::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// One page, retried with jittered exponential backoff on 429, 5xx and dropped connections,
/// never past the request's deadline.
async fn list_page(
    api: &kube::api::Api<kube::api::DynamicObject>,
    lp: &kube::api::ListParams,
    deadline: tokio::time::Instant,
) -> Result<kube::api::ObjectList<kube::api::DynamicObject>, PageError> {
    let mut attempt = 0u32;
    loop {
        let r = tokio::time::timeout_at(deadline, api.list(lp))
            .await
            .map_err(|_| PageError::Timeout)?;
        if let Err(e) = &r
            && too_large(e)
        {
            return Err(PageError::TooLarge);
        }
        let retry = match &r {
            Err(kube::Error::Api(s)) => s.code == 429 || s.code >= 500,
            Err(kube::Error::HyperError(_)) | Err(kube::Error::Service(_)) => true,
            _ => false,
        };
        if !retry || attempt >= MAX_RETRIES {
            return r.map_err(PageError::Kube);
        }
        attempt += 1;
        let base = 200u64 << attempt.min(6);
        let jitter = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        ) % base;
        let wake = tokio::time::Instant::now() + Duration::from_millis(base / 2 + jitter);
        if wake >= deadline {
            return Err(PageError::Timeout);
        }
        tokio::time::sleep_until(wake).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Discover,
    Get,
    List,
}

/// A kube error as a sentence a reader can act on.
fn explain(e: &kube::Error, verb: Verb, spec: &Spec, ns: Option<&str>) -> String {
    let resource = format!("{} ({})", spec.kind, spec.api_version);
    let verb_word = match verb {
        Verb::Discover => "get (discovery)",
        Verb::Get => "get",
        Verb::List => "list",
    };
    let scope = match ns {
        Some(n) => format!("in namespace `{n}`"),
        None => "cluster-wide".to_string(),
    };
    match e {
        kube::Error::Api(s) => {
            let msg = s.message.trim();
            match s.code {
                401 => {
                    format!("unauthorized (401): the API server rejected the credentials: {msg}")
                }
                403 => format!(
                    "forbidden (403): missing permission to `{verb_word}` {resource} {scope}: {msg}"
                ),
                404 if verb == Verb::Discover => format!(
                    "unknown kind (404): the API server does not serve `{}` (is the CRD installed?)",
                    spec.api_version
                ),
                404 => format!("not found (404): {resource} {scope}: {msg}"),
                410 => format!(
                    "gone (410): the list changed while it was being paged (continue token expired); run again: {msg}"
                ),
                code => format!("API error {code} on `{verb_word}` {resource} {scope}: {msg}"),
            }
        }
        kube::Error::Discovery(d) => format!(
            "unknown kind `{}` in `{}`: {d} (is the CRD installed?)",
            spec.kind, spec.api_version
        ),
        kube::Error::HyperError(h) => format!("cannot reach the API server: {h}"),
        kube::Error::Service(s) => format!("cannot reach the API server: {s}"),
        kube::Error::Auth(a) => format!("cannot authenticate: {a}"),
        other => format!("{verb_word} {resource} failed: {other}"),
    }
}

impl super::source::Source for Spec {
    const NAME: &'static str = "cluster";
    const DOC: SourceDoc = SourceDoc {
        name: "cluster",
        summary: "Objects of any kind (CRDs too) from the live API or a snapshot (`kubectl get -o yaml` output).",
        options: "kind, namespace, selector, field_selector, name, allow_snapshot, timeout",
        // `cluster` shares the object shape of `manifests`, without the file bookkeeping.
        names: super::manifests::OBJECT_NAMES.split_at(9).0,
        example: r#"[[rule]]
id = "pdb-present"
area = "example"
title = "A PodDisruptionBudget exists"
evidence.pdb = { cluster = "policy/v1", kind = "PodDisruptionBudget" }
expect = ['pdb.count > 0']
"#,
    };
    const COST: u8 = 3;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "cluster {} {}{}{}",
            self.api_version,
            self.kind,
            self.namespace
                .as_ref()
                .map(|n| format!(" in namespace {n}"))
                .unwrap_or_default(),
            self.selector
                .as_ref()
                .map(|l| format!(" selected by {l}"))
                .unwrap_or_default()
        )
    }

    fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
        (v.get("count").and_then(Value::as_u64) == Some(0))
            .then(|| format!("`{name}` holds no objects"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(snapshot: &[&str], context: Option<&str>) -> ClusterSettings {
        ClusterSettings {
            snapshot: snapshot.iter().map(|s| s.to_string()).collect(),
            context: context.map(str::to_string),
            ..ClusterSettings::default()
        }
    }

    #[test]
    fn precedence_follows_the_contract() {
        let root = Path::new("/repo");
        let cli = |snap: bool, ctx: bool, inc: bool| CliOptions {
            snapshots: if snap { vec!["s.yaml".into()] } else { vec![] },
            context: ctx.then(|| "cli-ctx".into()),
            in_cluster: inc,
            ..CliOptions::default()
        };
        let full = settings(&["evidence/snap.yaml"], Some("pol-ctx"));
        let by = |s: Source| match s {
            Source::Snapshot { chosen_by, .. } | Source::Live { chosen_by, .. } => chosen_by,
            Source::None => "none".into(),
        };
        assert_eq!(
            by(resolve(&cli(true, true, true), &full, root)),
            "--cluster-snapshot"
        );
        assert_eq!(
            by(resolve(&cli(false, true, true), &full, root)),
            "--context"
        );
        // The command line outranks the policy: `--in-cluster` beats `[cluster]` settings.
        assert_eq!(
            by(resolve(&cli(false, false, true), &full, root)),
            "--in-cluster"
        );
        assert_eq!(
            by(resolve(&cli(false, false, false), &full, root)),
            "[cluster] snapshot"
        );
        assert_eq!(
            by(resolve(
                &cli(false, false, false),
                &settings(&[], Some("p")),
                root
            )),
            "[cluster] context"
        );
        assert_eq!(
            by(resolve(
                &cli(false, false, true),
                &settings(&[], None),
                root
            )),
            "--in-cluster"
        );
        assert_eq!(
            by(resolve(
                &cli(false, false, false),
                &settings(&[], None),
                root
            )),
            "none"
        );
    }

    #[test]
    fn secrets_are_a_policy_error() {
        let raw = EvidenceRaw {
            cluster: Some("v1".into()),
            kind: Some("Secret".into()),
            ..EvidenceRaw::default()
        };
        assert!(Spec::from_raw(&raw).unwrap_err().contains("Secrets"));
        let raw = EvidenceRaw {
            cluster: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            selector: Some("app in (".into()),
            ..EvidenceRaw::default()
        };
        assert!(Spec::from_raw(&raw).is_err());
    }

    #[test]
    fn capture_time_header() {
        let t = captured_at_header(
            "# kubectl get -o yaml\n# shipshape-captured-at: 2026-02-10T09:00:00Z\napiVersion: v1\n",
        );
        assert_eq!(t.map(rfc3339).as_deref(), Some("2026-02-10T09:00:00Z"));
        assert!(
            captured_at_header("apiVersion: v1\n# shipshape-captured-at: 2026-02-10T09:00:00Z\n")
                .is_none()
        );
    }
}
