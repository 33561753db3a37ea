//! Auditing fleet targets: `run_index` is the whole job of one Kubernetes pod (and of one worker
//! of `fleet run`), so a local run and the Indexed Job write the same bundles.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Fleet, PolicyRef, Source, Target};
use crate::report::render::{Format, Renderer};

/// How every target of a run is audited.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub now: DateTime<Utc>,
    /// Worker threads of each audit.
    pub jobs: usize,
    pub skip_commands: bool,
    /// Where repositories are cloned (`<work>/<target id>`, removed after): the same path in
    /// every pod and on every machine, so the bundles that name it are the same bytes.
    pub work: PathBuf,
}

impl RunOptions {
    pub fn default_work() -> PathBuf {
        std::env::temp_dir().join("shipshape-fleet")
    }
}

/// What `run_index` left in `<out>/<id>/target.json`, beside the bundle (or instead of it).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TargetRecord {
    /// `shipshape-fleet-target/1`.
    pub format: String,
    pub id: String,
    pub index: usize,
    /// What was audited: the repository URL and ref, the folder, or the cluster.
    pub source: String,
    /// The commit audited (repository targets).
    pub commit: Option<String>,
    pub policy: String,
    pub env: Option<String>,
    /// `APPROVED` / `NOT_APPROVED`, or none when the audit could not run.
    pub verdict: Option<String>,
    /// Why the audit could not run.
    pub error: Option<String>,
    /// The exit code `run-index` ends with: 0 audited (whatever the verdict), 2 the target's
    /// configuration is wrong (retrying cannot help), 3 a tool failure (a retry may).
    pub exit_code: i32,
}

pub const TARGET_FILE: &str = "target.json";

impl TargetRecord {
    /// The record of target `index` before it is audited.
    fn new(target: &Target, index: usize) -> TargetRecord {
        TargetRecord {
            format: "shipshape-fleet-target/1".into(),
            id: target.id.clone(),
            index,
            source: describe_source(&target.source),
            commit: None,
            policy: target.policy.describe(),
            env: target.env.clone(),
            verdict: None,
            error: None,
            exit_code: 0,
        }
    }
}

/// Audit target `index` of `fleet` into `<out>/<id>/`: report.json (the bundle, its timings
/// cleared so it depends only on what was audited), report.md and target.json.
pub fn run_index(
    fleet: &Fleet,
    index: usize,
    out: &Path,
    opts: &RunOptions,
) -> Result<TargetRecord, crate::Error> {
    let target = fleet.target(index)?;
    let dir = out.join(&target.id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| crate::Error::Tool(format!("cannot create `{}`: {e}", dir.display())))?;
    // A retried index starts clean: no bundle of an earlier attempt stays beside a new error.
    for f in ["report.json", "report.md", TARGET_FILE] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let mut record = TargetRecord::new(target, index);
    let result = audit_target(target, &dir, opts, &mut record);
    if let Err(e) = &result {
        record.error = Some(e.to_string());
        record.exit_code = e.exit_code();
    }
    write_json(&dir.join(TARGET_FILE), &record)?;
    result.map(|()| record)
}

/// The audit of one target: prepare its folder, audit, write the bundle.
fn audit_target(
    target: &Target,
    dir: &Path,
    opts: &RunOptions,
    record: &mut TargetRecord,
) -> Result<(), crate::Error> {
    let workdir = opts.work.join(&target.id);
    let _cleanup = Cleanup(workdir.clone());
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir)
        .map_err(|e| crate::Error::Tool(format!("cannot create `{}`: {e}", workdir.display())))?;
    let path = match &target.source {
        Source::Repo { url, reference } => {
            let history = needs_history(&target.policy, None)?;
            let commit = clone(url, reference.as_deref(), &workdir, !history)?;
            // The repository's own policy is known only once it is cloned.
            if target.policy == PolicyRef::Repository
                && !history
                && needs_history(&target.policy, Some(&workdir))?
            {
                let _ = std::fs::remove_dir_all(&workdir);
                record.commit = Some(clone(url, reference.as_deref(), &workdir, false)?);
            } else {
                record.commit = Some(commit);
            }
            workdir.clone()
        }
        Source::Path(p) => p.clone(),
        Source::Cluster { .. } => workdir.clone(),
    };
    let audit = crate::AuditOptions {
        path,
        policy: match &target.policy {
            PolicyRef::Repository => None,
            PolicyRef::Builtin(n) => Some(PathBuf::from(format!("builtin:{n}"))),
            PolicyRef::Central { path, .. } => Some(path.clone()),
        },
        env: target.env.clone(),
        now: opts.now,
        jobs: opts.jobs.max(1),
        skip_commands: opts.skip_commands,
        max_file_bytes: crate::DEFAULT_MAX_FILE_BYTES,
        waivers: None,
        only_rules: Vec::new(),
        // Every pod starts without a cache; so does every local run, to write the same bytes.
        cache_dir: None,
    };
    let cluster = match &target.source {
        Source::Cluster {
            context,
            in_cluster,
            namespaces,
        } => crate::collect::cluster::CliOptions {
            context: context.clone(),
            in_cluster: *in_cluster,
            namespaces: namespaces.clone(),
            objects_from: Some("cluster".into()),
            ..Default::default()
        },
        _ => crate::collect::cluster::CliOptions::default(),
    };
    let mut result = crate::run(&audit, None, None, &cluster)?;
    result.bundle.run = crate::evidence::RunInfo::default();
    // As the bundle spells it (`APPROVED`, `NOT_APPROVED`).
    record.verdict = serde_json::to_value(result.bundle.report.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    let renderer = Renderer::new(None).map_err(|e| crate::Error::Tool(e.to_string()))?;
    for f in [Format::Json, Format::Markdown] {
        let path = dir.join(f.file_name());
        crate::write_atomic_with(&path, |w| {
            renderer
                .render(f, &result.bundle, w)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| crate::Error::Tool(format!("cannot write `{}`: {e}", path.display())))?;
    }
    Ok(())
}

/// Removes a clone when the audit is done, however it ended.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the policy reads git history or tags (a shallow clone would leave such rules
/// pending): for the repository's own policy, once `clone` holds it.
fn needs_history(policy: &PolicyRef, clone: Option<&Path>) -> Result<bool, crate::Error> {
    let location = match (policy, clone) {
        (PolicyRef::Builtin(n), _) => crate::policy::Location::Builtin(n.clone()),
        (PolicyRef::Central { path, .. }, _) => crate::policy::Location::File(path.clone()),
        (PolicyRef::Repository, Some(dir)) => crate::discover_policy(dir, None),
        (PolicyRef::Repository, None) => return Ok(false),
    };
    let policy = crate::policy::load(&location)?;
    Ok(policy.rules.iter().any(|r| {
        r.evidence.values().any(|req| {
            matches!(
                req,
                crate::collect::Request::Git(_) | crate::collect::Request::Versions(_)
            )
        })
    }))
}

/// Clone `url` into `dir` and check out `reference` (else the remote's HEAD); the commit.
/// `shallow` fetches one commit where the transport allows it (a local path does not: it is
/// cloned whole).
fn clone(
    url: &str,
    reference: Option<&str>,
    dir: &Path,
    shallow: bool,
) -> Result<String, crate::Error> {
    let fail =
        |what: &str, e: git2::Error| crate::Error::Tool(format!("{what} `{url}`: {}", e.message()));
    let mut fetch = git2::FetchOptions::new();
    if shallow && url.contains("://") && !url.starts_with("file://") {
        fetch.depth(1);
    }
    let mut builder = git2::build::RepoBuilder::new();
    builder.fetch_options(fetch);
    // A branch or tag name is cloned directly; a commit id is checked out after a full clone.
    let by_name = reference.filter(|r| !looks_like_commit(r));
    if let Some(branch) = by_name {
        builder.branch(branch);
    }
    let repo = builder
        .clone(url, dir)
        .map_err(|e| fail("cannot clone", e))?;
    if let Some(commit) = reference.filter(|r| looks_like_commit(r)) {
        let object = repo
            .revparse_single(commit)
            .map_err(|e| fail(&format!("no commit {commit} in"), e))?;
        repo.checkout_tree(&object, Some(git2::build::CheckoutBuilder::new().force()))
            .map_err(|e| fail("cannot check out", e))?;
        repo.set_head_detached(object.id())
            .map_err(|e| fail("cannot check out", e))?;
    }
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| fail("no commit in", e))?;
    Ok(head.id().to_string())
}

fn looks_like_commit(r: &str) -> bool {
    (7..=40).contains(&r.len()) && r.chars().all(|c| c.is_ascii_hexdigit())
}

fn describe_source(s: &Source) -> String {
    match s {
        Source::Repo { url, reference } => match reference {
            Some(r) => format!("{url} at {r}"),
            None => url.clone(),
        },
        Source::Path(p) => p.display().to_string(),
        Source::Cluster {
            context,
            in_cluster,
            namespaces,
        } => {
            let at = match (context, in_cluster) {
                (Some(c), _) => format!("cluster context {c}"),
                (None, true) => "the cluster the pod runs in".into(),
                (None, false) => "cluster".into(),
            };
            if namespaces.is_empty() {
                at
            } else {
                format!("{at}, namespaces {}", namespaces.join(", "))
            }
        }
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), crate::Error> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| crate::Error::Tool(e.to_string()))?;
    crate::write_atomic_with(path, |w| w.write_all(format!("{text}\n").as_bytes()))
        .map_err(|e| crate::Error::Tool(format!("cannot write `{}`: {e}", path.display())))
}

/// `fleet run`: every index on this machine, `workers` at a time, through [`run_index`]. The
/// records in index order; a target that failed has its error in its record.
pub fn run_all(fleet: &Fleet, out: &Path, workers: usize, opts: &RunOptions) -> Vec<TargetRecord> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let records = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1).min(fleet.targets.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= fleet.targets.len() {
                        break;
                    }
                    let record = run_index(fleet, i, out, opts).unwrap_or_else(|e| {
                        // run_index wrote target.json with the error, unless it could not.
                        read_record(&out.join(&fleet.targets[i].id)).unwrap_or_else(|| {
                            TargetRecord {
                                error: Some(e.to_string()),
                                exit_code: e.exit_code(),
                                ..TargetRecord::new(&fleet.targets[i], i)
                            }
                        })
                    });
                    records
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(record);
                }
            });
        }
    });
    let mut records = records.into_inner().unwrap_or_else(|p| p.into_inner());
    records.sort_by_key(|r| r.index);
    records
}

/// The target.json in `dir`, if readable.
pub fn read_record(dir: &Path) -> Option<TargetRecord> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(TARGET_FILE)).ok()?).ok()
}
