//! Fleet mode: one file lists the repositories and clusters a platform team gates, each with its
//! policy; target N is audited by `fleet run-index` (one pod of a Kubernetes Indexed Job, or one
//! worker of `fleet run` on this machine, through the same function), and `fleet report` turns
//! the bundles into one dashboard. Kubernetes is the distributed engine: nothing here schedules.

pub mod dashboard;
pub mod job;
pub mod run;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A validated fleet file.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The fleet file, as given.
    pub file: PathBuf,
    pub name: String,
    /// A bundle older than this (hours) is stale on the dashboard.
    pub stale_after_hours: u64,
    /// Targets in file order: index N is `targets[N]`.
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Unique, kebab-case: the folder of its bundle.
    pub id: String,
    pub source: Source,
    pub policy: PolicyRef,
    pub env: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A git repository cloned at `reference` (branch, tag or commit; default: its HEAD).
    Repo {
        url: String,
        reference: Option<String>,
    },
    /// A folder on this machine (or mounted into the pod), audited in place.
    Path(PathBuf),
    /// A live cluster: a kubeconfig context, or the cluster the pod runs in.
    Cluster {
        context: Option<String>,
        in_cluster: bool,
        namespaces: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyRef {
    /// The repository's own shipshape.toml (or builtin:default).
    Repository,
    /// `builtin:NAME`.
    Builtin(String),
    /// A policy file beside the fleet file, pinned by its sha256.
    Central { path: PathBuf, sha256: String },
}

impl PolicyRef {
    pub fn describe(&self) -> String {
        match self {
            PolicyRef::Repository => "the repository's shipshape.toml".into(),
            PolicyRef::Builtin(n) => format!("builtin:{n}"),
            PolicyRef::Central { path, sha256 } => {
                format!(
                    "{} (sha256 {})",
                    path.display(),
                    &sha256[..12.min(sha256.len())]
                )
            }
        }
    }
}

/// Everything wrong with a fleet file, each with file, line and column.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct FleetErrors(pub Vec<FleetDiagnostic>);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct FleetDiagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetRaw {
    fleet: Option<toml::Spanned<FleetHeadRaw>>,
    #[serde(default)]
    target: Vec<toml::Spanned<TargetRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetHeadRaw {
    name: Option<String>,
    stale_after_hours: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetRaw {
    id: Option<toml::Spanned<String>>,
    repo: Option<toml::Spanned<String>>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<toml::Spanned<String>>,
    cluster: Option<toml::Spanned<ClusterRaw>>,
    policy: Option<toml::Spanned<String>>,
    policy_sha256: Option<toml::Spanned<String>>,
    env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterRaw {
    context: Option<String>,
    #[serde(default)]
    in_cluster: bool,
    #[serde(default)]
    namespaces: Vec<String>,
}

/// Read and validate a fleet file: every problem is reported, each at its line and column.
pub fn load(file: &Path) -> Result<Fleet, FleetErrors> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| {
        FleetErrors(vec![FleetDiagnostic {
            file: name.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read the fleet file: {e}"),
        }])
    })?;
    parse(file, &text)
}

/// [`load`] of text already read (`file` names it and anchors relative policy paths).
pub fn parse(file: &Path, text: &str) -> Result<Fleet, FleetErrors> {
    let name = file.display().to_string();
    let index = crate::policy::LineIndex::new(text);
    let at = |offset: usize, message: String| {
        let (line, column) = index.at(text, offset);
        FleetDiagnostic {
            file: name.clone(),
            line,
            column,
            message,
        }
    };
    let raw: FleetRaw = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        FleetErrors(vec![at(offset, e.message().to_string())])
    })?;
    let mut diags = Vec::new();
    let head = raw.fleet.as_ref().map(|h| h.get_ref());
    let mut fleet = Fleet {
        file: file.to_path_buf(),
        name: head
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| "fleet".into()),
        stale_after_hours: head.and_then(|h| h.stale_after_hours).unwrap_or(36),
        targets: Vec::new(),
    };
    if raw.target.is_empty() {
        diags.push(at(
            0,
            "no [[target]]: a fleet lists at least one target".into(),
        ));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let mut ids = BTreeSet::new();
    for t in &raw.target {
        let checked = target(t, base, &at, &mut diags);
        // Duplicates count among all targets, valid or not, each at its id.
        let id = t
            .get_ref()
            .id
            .as_ref()
            .map(|i| i.get_ref().clone())
            .or_else(|| checked.as_ref().map(|c| c.id.clone()));
        if let Some(id) = id
            && !ids.insert(id.clone())
        {
            let offset = t
                .get_ref()
                .id
                .as_ref()
                .map_or(t.span().start, |i| i.span().start);
            diags.push(at(
                offset,
                format!("duplicate target id `{id}` (each target needs its own folder)"),
            ));
        }
        fleet.targets.extend(checked);
    }
    if diags.is_empty() {
        Ok(fleet)
    } else {
        Err(FleetErrors(diags))
    }
}

type At<'a> = dyn Fn(usize, String) -> FleetDiagnostic + 'a;

/// One `[[target]]`, checked.
fn target(
    t: &toml::Spanned<TargetRaw>,
    base: &Path,
    at: &At<'_>,
    diags: &mut Vec<FleetDiagnostic>,
) -> Option<Target> {
    let r = t.get_ref();
    let start = t.span().start;
    let before = diags.len();
    let sources = [r.repo.is_some(), r.path.is_some(), r.cluster.is_some()];
    if sources.iter().filter(|s| **s).count() != 1 {
        diags.push(at(
            start,
            "a target has exactly one of `repo` (git URL), `path` (folder) or `cluster`".into(),
        ));
        return None;
    }
    let source = if let Some(url) = &r.repo {
        Source::Repo {
            url: url.get_ref().clone(),
            reference: r.reference.clone(),
        }
    } else if let Some(p) = &r.path {
        let path = Path::new(p.get_ref());
        Source::Path(if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        })
    } else {
        let c = r.cluster.as_ref()?;
        let cr = c.get_ref();
        if cr.context.is_some() == cr.in_cluster {
            diags.push(at(
                c.span().start,
                "a cluster target names a `context` or sets `in_cluster = true` (one of them)"
                    .into(),
            ));
        }
        Source::Cluster {
            context: cr.context.clone(),
            in_cluster: cr.in_cluster,
            namespaces: cr.namespaces.clone(),
        }
    };
    if r.reference.is_some() && r.repo.is_none() {
        diags.push(at(start, "`ref` applies to a `repo` target only".into()));
    }
    let id = match &r.id {
        Some(id) => {
            if !is_kebab(id.get_ref()) {
                diags.push(at(
                    id.span().start,
                    format!(
                        "target id `{}` must be kebab-case (a-z, 0-9, -)",
                        id.get_ref()
                    ),
                ));
            }
            id.get_ref().clone()
        }
        None => derived_id(&source).unwrap_or_else(|| {
            diags.push(at(start, "this target needs an `id`".into()));
            String::new()
        }),
    };
    let policy = policy_ref(r, &source, start, base, at, diags);
    (diags.len() == before).then_some(Target {
        id,
        source,
        policy: policy?,
        env: r.env.clone(),
    })
}

/// The target's policy: builtin, a central file pinned by sha256, or the repository's own.
fn policy_ref(
    r: &TargetRaw,
    source: &Source,
    start: usize,
    base: &Path,
    at: &At<'_>,
    diags: &mut Vec<FleetDiagnostic>,
) -> Option<PolicyRef> {
    let Some(p) = &r.policy else {
        if let Some(pin) = &r.policy_sha256 {
            diags.push(at(pin.span().start, "policy_sha256 without policy".into()));
        }
        if matches!(source, Source::Cluster { .. }) {
            diags.push(at(
                start,
                "a cluster target has no repository policy: give `policy`".into(),
            ));
            return None;
        }
        return Some(PolicyRef::Repository);
    };
    if let Some(name) = p.get_ref().strip_prefix("builtin:") {
        if crate::policy::builtin_text(name).is_none() {
            diags.push(at(p.span().start, format!("no built-in policy `{name}`")));
            return None;
        }
        return Some(PolicyRef::Builtin(name.to_string()));
    }
    // A file: central, so its digest is pinned here (a repository cannot swap it).
    let Some(pin) = &r.policy_sha256 else {
        diags.push(at(
            p.span().start,
            format!(
                "policy `{}` is a file: pin it with policy_sha256 (its sha256 now: {})",
                p.get_ref(),
                file_sha256(&base.join(p.get_ref())).unwrap_or_else(|_| "unreadable".into())
            ),
        ));
        return None;
    };
    let path = base.join(p.get_ref());
    match file_sha256(&path) {
        Ok(d) if d.eq_ignore_ascii_case(pin.get_ref()) => {
            Some(PolicyRef::Central { path, sha256: d })
        }
        Ok(d) => {
            diags.push(at(
                pin.span().start,
                format!(
                    "policy `{}` has sha256 {d}, not the pinned {}",
                    p.get_ref(),
                    pin.get_ref()
                ),
            ));
            None
        }
        Err(e) => {
            diags.push(at(
                p.span().start,
                format!("cannot read policy `{}`: {e}", p.get_ref()),
            ));
            None
        }
    }
}

pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

/// `https://git.example.com/team/checkout.git` → `checkout`; `../billing/` → `billing`.
fn derived_id(source: &Source) -> Option<String> {
    let last = match source {
        Source::Repo { url, .. } => url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()?
            .to_string(),
        Source::Path(p) => p.file_name()?.to_string_lossy().to_string(),
        Source::Cluster { .. } => return None,
    };
    let id = last
        .trim_end_matches(".git")
        .to_lowercase()
        .replace(['_', '.', ' '], "-");
    is_kebab(&id).then_some(id)
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Fleet {
    /// Target `index`, or a usage error naming how many there are.
    pub fn target(&self, index: usize) -> Result<&Target, crate::Error> {
        self.targets.get(index).ok_or_else(|| {
            crate::Error::Usage(format!(
                "index {index} is out of range: {} lists {} target(s), indexes 0 to {}",
                self.file.display(),
                self.targets.len(),
                self.targets.len().saturating_sub(1)
            ))
        })
    }
}
