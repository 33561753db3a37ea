//! shipshape: a release-readiness evidence gate. The pipeline is
//! policy → plan → collect → evaluate → score + verdict → report, each stage its own module;
//! this file wires them together behind one call the binary (and tests) use.

pub mod collect;
pub mod evaluate;
pub mod evidence;
pub mod explain;
pub mod fleet;
pub mod init;
pub mod policy;
pub mod progress;
pub mod published;
pub mod redact;
pub mod repo;
pub mod report;
pub mod snapshot;
pub mod trust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};

use collect::Request;
use evidence::{Bundle, RunInfo};
use policy::model::Policy;

/// Default size above which a file is not parsed (a finding instead).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line use: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The policy is wrong: exit 2.
    #[error(transparent)]
    Policy(#[from] policy::PolicyErrors),
    /// shipshape itself failed: exit 3.
    #[error("{0}")]
    Tool(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Policy(_) => 2,
            Error::Tool(_) => 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub path: PathBuf,
    pub policy: Option<PathBuf>,
    pub env: Option<String>,
    pub now: DateTime<Utc>,
    pub jobs: usize,
    pub skip_commands: bool,
    pub max_file_bytes: u64,
    /// `--waivers FILE`: a separate waivers file (instead of `[audit] waivers_file`).
    pub waivers: Option<PathBuf>,
    /// Folder of the command cache (`<out>/.cache` from the command line); `None` runs every
    /// command (`--no-cache`).
    pub cache_dir: Option<PathBuf>,
    /// `--rule ID…`: check only these rules (a partial run, which never approves).
    pub only_rules: Vec<String>,
}

pub struct AuditResult {
    pub policy: Policy,
    pub bundle: Bundle,
    /// Where the report is to be published (set when [`run`] is given a publish folder).
    pub publish_dir: Option<PathBuf>,
}

/// Which policy applies: `--policy`, else `PATH/shipshape.toml`, else the nearest
/// `shipshape.toml` in a folder above PATH up to the repository root (as rustfmt and cargo-deny
/// look for their configuration), else the built-in default.
pub fn discover_policy(path: &Path, explicit: Option<&Path>) -> policy::Location {
    find_policy(path, explicit).0
}

/// [`discover_policy`], and how the policy was found, in words for the report.
pub fn find_policy(path: &Path, explicit: Option<&Path>) -> (policy::Location, String) {
    if let Some(p) = explicit {
        let s = p.to_string_lossy();
        if s.starts_with("builtin:") {
            return (
                policy::Location::Builtin(s.trim_start_matches("builtin:").to_string()),
                "given with --policy".into(),
            );
        }
        return (
            policy::Location::File(p.to_path_buf()),
            "given with --policy".into(),
        );
    }
    let local = path.join("shipshape.toml");
    if local.is_file() {
        return (
            policy::Location::File(local),
            "shipshape.toml in the audited folder".into(),
        );
    }
    let start = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(top) = repo::work_tree_root(&start).filter(|t| start.starts_with(t)) {
        for dir in start.ancestors().skip(1) {
            if !dir.starts_with(&top) {
                break;
            }
            let candidate = dir.join("shipshape.toml");
            if candidate.is_file() {
                let shown = dir
                    .strip_prefix(&top)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                let at = if shown.is_empty() {
                    "the repository root".to_string()
                } else {
                    format!("`{shown}/`")
                };
                return (
                    policy::Location::File(candidate),
                    format!("found in {at}, above the audited folder (none in the folder itself)"),
                );
            }
        }
    }
    (
        policy::Location::Builtin("default".into()),
        "no shipshape.toml in the audited folder or above it up to the repository root".into(),
    )
}

/// Run a whole audit and return the bundle (report inside).
pub fn audit(opts: &AuditOptions) -> Result<AuditResult, Error> {
    run(opts, None, None, &collect::cluster::CliOptions::default())
}

/// [`audit`] with the cluster options of the command line (`--cluster-snapshot`, `--context`,
/// `--namespace`, `--in-cluster`, `--kubeconfig`).
pub fn audit_with(
    opts: &AuditOptions,
    cluster: &collect::cluster::CliOptions,
) -> Result<AuditResult, Error> {
    run(opts, None, None, cluster)
}

/// Publish an audit's Markdown report into the folder [`run`] was given.
pub fn publish(result: &AuditResult, markdown: &str) -> Result<report::publish::Published, Error> {
    let dir = result
        .publish_dir
        .as_deref()
        .ok_or_else(|| Error::Usage("this audit was not run for publishing".into()))?;
    report::publish::publish(dir, &result.bundle.report, markdown).map_err(Error::Tool)
}

/// The whole audit with every option: publishing (`Some(dir)`), a progress display and the
/// command line's cluster options.
pub fn run(
    opts: &AuditOptions,
    publish: Option<Option<PathBuf>>,
    progress: Option<&dyn collect::Progress>,
    cluster: &collect::cluster::CliOptions,
) -> Result<AuditResult, Error> {
    let started = Instant::now();
    memtrace("start");
    // Locating the folder starts libgit2, which loads the system's CA certificates (its https
    // support) — 8 ms of the example's audit; the policy is read and compiled meanwhile.
    let (folder, loaded) = std::thread::scope(|s| {
        let folder = s.spawn(|| audited_folder(opts, cluster));
        let loaded = load_policy(opts);
        let folder = folder
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (folder, loaded)
    });
    let (root, boundary) = folder?;
    let governed = governed_policy(opts, loaded?, &root, &boundary)?;
    memtrace("policy loaded");
    let (mut policy, env) = (governed.policy, governed.env);
    select_rules(&mut policy, &opts.only_rules)?;
    let (plan, document_keys) = plan_of(&policy);
    memtrace("plan made");
    let (publish_dir, publish_rel) = publish_folder(publish, &root, &boundary, &policy)?;
    let mut ctx = collection_ctx(
        opts,
        &policy,
        &root,
        boundary,
        publish_rel.as_deref(),
        progress,
    )
    .with_cluster(cluster_state(cluster, &policy, &root, &env));
    tracing::info!(
        policy = %policy.name,
        rules = policy.rules.len(),
        requests = plan.len(),
        "collecting evidence"
    );
    memtrace("before collect");
    // The work tree's status (for provenance and `require_clean`) stats every file of the
    // repository: on a large one it costs as much as collecting. It runs beside collection —
    // unless a command runs, which may write into the tree: then it is taken after, as the
    // tree the commands left.
    let commands_run =
        !opts.skip_commands && plan.values().any(|r| matches!(r, collect::Request::Run(_)));
    let ((mut evidence, timings), early_head) = std::thread::scope(|s| {
        let head = (!commands_run).then(|| {
            s.spawn(|| {
                let started = Instant::now();
                let head = repo::head_checked(&root, &|rel| ctx.is_own_output(rel)).ok();
                let ms = started.elapsed().as_millis() as u64;
                tracing::debug!(ms, "work-tree status taken");
                head
            })
        });
        let collected = collect::collect_all(&ctx, &plan);
        (collected, head.map(|h| h.join().ok().flatten()))
    });
    // Evidence completeness: each request learns which files in its scope were not read.
    // Matched against scopes as they are; file names are repository text too, so what is
    // attached and what the report lists is redacted.
    memtrace("requests collected");
    let raw_findings = ctx.findings();
    collect::attach_unread(&mut evidence, &raw_findings, &ctx.redactor);
    let file_findings: Vec<collect::fs::WalkFinding> = raw_findings
        .into_iter()
        .map(|f| collect::fs::WalkFinding {
            path: ctx.redactor.text(&f.path),
            reason: ctx.redactor.text(&f.reason),
        })
        .collect();
    // Parsed manifest files and kustomize renders were for collecting; the evidence holds
    // what rules need.
    memtrace("unread attached");
    ctx.release_caches();
    memtrace("after collect");
    let judged = judge(
        opts,
        &policy,
        &evidence,
        &env,
        (&root, early_head),
        &ctx,
        &governed.ignored,
    );
    let mut report = report::build(report::Inputs {
        policy: &policy,
        evidence: &evidence,
        outcomes: &judged.outcomes,
        score: judged.score,
        verdict: judged.verdict,
        reasons: judged.reasons,
        target: opts.path.to_string_lossy().replace('\\', "/"),
        env,
        now: opts.now,
        head: judged.head,
        document_keys,
    });
    report.warnings.extend(judged.loose);
    report::add_file_findings(&mut report, file_findings);
    report.trust = trust::TrustSection::of(&policy, governed.waivers_source, governed.ignored);
    report.provenance.cluster = Some(ctx.cluster().provenance(opts.now));
    report.provenance.policy_found = Some(governed.policy_found);
    let history_dir = publish_rel
        .clone()
        .unwrap_or_else(|| policy.audit.publish_dir.clone());
    report.history = report::history::collect(&root, &ctx.boundary, &history_dir, &report)
        .into_iter()
        .map(|mut h| {
            h.version = ctx.redactor.text(&h.version);
            h
        })
        .collect();
    // This audit alone is no history.
    if report.history.len() < 2 {
        report.history.clear();
    }
    let run = RunInfo {
        duration_ms: started.elapsed().as_millis() as u64,
        timings_ms: timings,
        cached: BTreeMap::new(),
    };
    memtrace("after report");
    let bundle = Bundle::new(report, judged.outcomes, evidence, run);
    memtrace("after bundle");
    Ok(AuditResult {
        policy,
        bundle,
        publish_dir,
    })
}

/// The audited folder (canonical) and the boundary nothing may be read beyond (its git work
/// tree, else itself), once the command line's folder and cluster options are usable.
fn audited_folder(
    opts: &AuditOptions,
    cluster: &collect::cluster::CliOptions,
) -> Result<(PathBuf, PathBuf), Error> {
    if !opts.path.is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is not a folder to audit",
            opts.path.display()
        )));
    }
    let root = std::fs::canonicalize(&opts.path)
        .map_err(|e| Error::Usage(format!("cannot open `{}`: {e}", opts.path.display())))?;
    let boundary = repo::work_tree_root(&root)
        .filter(|wt| root.starts_with(wt))
        .unwrap_or_else(|| root.clone());
    collect::cluster::check_cli(cluster).map_err(Error::Usage)?;
    collect::cluster::cli_manifests(cluster, &root).map_err(Error::Usage)?;
    if let Some(dir) = &opts.cache_dir {
        collect::cache::check_outside(dir, &boundary).map_err(Error::Usage)?;
    }
    Ok((root, boundary))
}

/// The policy in force, its waivers governed, and the environment audited.
struct Governed {
    policy: policy::model::Policy,
    policy_found: String,
    env: String,
    ignored: Vec<trust::waivers::IgnoredWaiver>,
    waivers_source: Option<policy::model::PolicySource>,
}

/// The policy the run uses, loaded and checked, and where it was found.
fn load_policy(opts: &AuditOptions) -> Result<(policy::model::Policy, String), Error> {
    let (location, policy_found) = find_policy(&opts.path, opts.policy.as_deref());
    Ok((policy::load(&location)?, policy_found))
}

/// Hold the loaded policy to the boundary, govern its waivers (and the waivers file's), and pick
/// the environment.
fn governed_policy(
    opts: &AuditOptions,
    (mut policy, policy_found): (policy::model::Policy, String),
    root: &Path,
    boundary: &Path,
) -> Result<Governed, Error> {
    policy::check_boundary(&policy, root, boundary)?;
    if let Some(w) = &opts.waivers
        && !w.is_file()
    {
        return Err(Error::Usage(format!(
            "--waivers `{}` is not a file",
            w.display()
        )));
    }
    // Waivers: the policy's and the waivers file's, governed; a bad one is ignored and reported.
    let mut waivers = std::mem::take(&mut policy.waivers);
    let mut ignored = Vec::new();
    let mut waivers_source = None;
    if let Some(path) = opts.waivers.clone().or(policy.trust.waivers_file.clone()) {
        let f = trust::waivers::load_file(&path);
        waivers.extend(f.waivers);
        ignored.extend(f.ignored);
        waivers_source = f.source;
    }
    let (valid, governed_out) = trust::waivers::govern(&policy, waivers, opts.now);
    policy.waivers = valid;
    ignored.extend(governed_out);
    let env = opts
        .env
        .clone()
        .unwrap_or_else(|| policy.audit.default_env.clone());
    if !policy.audit.environments.contains(&env) {
        return Err(Error::Usage(format!(
            "unknown environment `{env}`: the policy declares {}",
            policy.audit.environments.join(", ")
        )));
    }

    Ok(Governed {
        policy,
        policy_found,
        env,
        ignored,
        waivers_source,
    })
}

/// Every distinct request once, plus the artifact and links requests of each `[[document]]`
/// row (whose keys are returned in document order).
fn plan_of(policy: &policy::model::Policy) -> (BTreeMap<String, Request>, Vec<(String, String)>) {
    let mut plan: BTreeMap<String, Request> = BTreeMap::new();
    for rule in policy.rules.iter().filter(|r| !r.deselected) {
        for req in rule.evidence.values() {
            plan.entry(req.key()).or_insert_with(|| req.clone());
        }
    }
    // Each row of the documentation matrix is derived from evidence: the artifact and its links.
    let document_keys: Vec<(String, String)> = policy
        .documents
        .iter()
        .map(|d| {
            let doc = Request::Artifact(collect::artifact::Spec {
                glob: d.path.clone(),
            });
            let links = Request::Links(collect::links::Spec {
                include: vec![d.path.clone()],
                exclude: vec![],
            });
            let keys = (doc.key(), links.key());
            plan.entry(keys.0.clone()).or_insert(doc);
            plan.entry(keys.1.clone()).or_insert(links);
            keys
        })
        .collect();

    (plan, document_keys)
}

/// Where `--publish` writes (it must resolve inside the repository), and that folder relative
/// to the audited folder when it is inside it.
fn publish_folder(
    publish: Option<Option<PathBuf>>,
    root: &Path,
    boundary: &Path,
    policy: &policy::model::Policy,
) -> Result<(Option<PathBuf>, Option<String>), Error> {
    let publish_dir =
        publish.map(|dir| dir.unwrap_or_else(|| root.join(&policy.audit.publish_dir)));
    // Published audits are the repository's record: the folder must really be inside it.
    if let Some(d) = &publish_dir
        && !collect::fs::resolved(d).starts_with(boundary)
    {
        return Err(Error::Usage(format!(
            "the publish folder `{}` resolves to `{}`, outside the repository ({}): published audits belong in it (is a folder on the way a symlink?)",
            d.display(),
            collect::fs::resolved(d).display(),
            boundary.display()
        )));
    }
    // A publish folder inside the audited folder is where published audits live for this run.
    let publish_rel = publish_dir.as_deref().and_then(|d| {
        let abs = if d.is_absolute() {
            d.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(d)
        };
        let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
        abs.strip_prefix(root)
            .ok()
            .map(|r| r.to_string_lossy().replace('\\', "/"))
    });
    Ok((publish_dir, publish_rel))
}

/// The collection context of a run: its options, placeholders, redactor and own outputs.
fn collection_ctx<'a>(
    opts: &AuditOptions,
    policy: &'a policy::model::Policy,
    root: &Path,
    boundary: PathBuf,
    publish_rel: Option<&str>,
    progress: Option<&'a dyn collect::Progress>,
) -> collect::Ctx<'a> {
    let mut ctx = collect::Ctx::new(
        root.to_path_buf(),
        boundary,
        collect::Options {
            now: opts.now,
            skip_commands: opts.skip_commands,
            jobs: opts.jobs.max(1),
            max_file_bytes: opts.max_file_bytes,
            cache_dir: opts.cache_dir.clone(),
            cache_max_age: chrono::Duration::seconds(policy.audit.cache_max_age_secs),
        },
        &policy.placeholders,
        publish_rel
            .map(str::to_string)
            .unwrap_or_else(|| policy.audit.publish_dir.clone()),
    )
    .with_redactor(redact::Redactor::new(&policy.redact_patterns))
    .with_read_tracking(policy.trust.require_clean)
    .with_progress(progress);
    if let Some(rel) = publish_rel {
        let join = |name: &str| {
            if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            }
        };
        ctx.own_outputs = vec![
            join(&report::publish::file_name(
                &opts.now.format("%Y-%m-%d").to_string(),
            )),
            join(report::publish::INDEX),
        ];
    }
    ctx
}

/// What evaluation decided: outcomes, score, verdict and its reasons, the repository head.
struct Judged {
    outcomes: Vec<evaluate::Outcome>,
    loose: Vec<String>,
    score: evaluate::score::Score,
    verdict: evaluate::score::Verdict,
    reasons: Vec<String>,
    head: Option<repo::Head>,
}

/// Evaluate, score and decide; a partial run and a dirty tree (under `require_clean`) never
/// approve; repository text in the reasons and head is redacted.
fn judge(
    opts: &AuditOptions,
    policy: &policy::model::Policy,
    evidence: &BTreeMap<String, collect::Item>,
    env: &str,
    (root, head): (&Path, Option<Option<repo::Head>>),
    ctx: &collect::Ctx<'_>,
    ignored: &[trust::waivers::IgnoredWaiver],
) -> Judged {
    let mut outcomes = evaluate::evaluate(policy, evidence, env, opts.now);
    memtrace("after evaluate");
    let loose = trust::waivers::annotate(&mut outcomes, ignored);
    let score = evaluate::score::score(policy, &outcomes);
    let (mut verdict, mut reasons) = evaluate::score::verdict(policy, &outcomes, &score);
    if !opts.only_rules.is_empty() {
        verdict = evaluate::score::Verdict::NotApproved;
        reasons.push(format!(
            "partial run: only {} of {} rules were checked (--rule {}); a partial run never approves",
            policy.rules.iter().filter(|r| !r.deselected).count(),
            policy.rules.len(),
            opts.only_rules.join(", ")
        ));
    }
    // Taken beside collection when no command ran, else now.
    let mut head =
        head.unwrap_or_else(|| repo::head_checked(root, &|rel| ctx.is_own_output(rel)).ok());
    // Bound to what ships: an audit of uncommitted files does not describe a commit. A folder
    // outside git has no work tree to be dirty (and `verify --commit` will refuse its bundle).
    if policy.trust.require_clean {
        clean_tree_check(root, ctx, head.as_mut(), &mut verdict, &mut reasons);
    }
    // Provenance is text from the repository too: a branch or a file name can carry a secret.
    if let Some(h) = head.as_mut() {
        h.branch = ctx.redactor.text(&h.branch);
        for p in &mut h.dirty_paths {
            *p = ctx.redactor.text(p);
        }
    }
    for r in &mut reasons {
        *r = ctx.redactor.text(r);
    }

    Judged {
        outcomes,
        loose,
        score,
        verdict,
        reasons,
        head,
    }
}

/// `require_clean`: a dirty work tree cannot be APPROVED. Dirty means what git status says,
/// and also every file read as evidence that differs from HEAD by content (whatever the index
/// flags say) or that HEAD does not hold, and any changed submodule.
fn clean_tree_check(
    root: &Path,
    ctx: &collect::Ctx<'_>,
    head: Option<&mut repo::Head>,
    verdict: &mut evaluate::score::Verdict,
    reasons: &mut Vec<String>,
) {
    let Some(h) = head else { return };
    let read: Vec<String> = ctx
        .files_read()
        .into_iter()
        .filter(|f| !ctx.is_own_output(f))
        .collect();
    match repo::dirty_evidence(root, &read) {
        Ok(more) => {
            for p in more {
                if !h.dirty_paths.contains(&p) {
                    h.dirty_paths.push(p);
                }
            }
            h.dirty_paths.sort();
            h.dirty = !h.dirty_paths.is_empty();
        }
        Err(e) => {
            *verdict = evaluate::score::Verdict::NotApproved;
            reasons.push(format!(
                "the policy requires a clean tree (`require_clean`), and it cannot be checked: {e}"
            ));
            return;
        }
    }
    if h.dirty {
        *verdict = evaluate::score::Verdict::NotApproved;
        reasons.push(format!(
            "the work tree is dirty ({} uncommitted path(s): {}) and the policy requires a clean tree (`require_clean`)",
            h.dirty_paths.len(),
            trust::some_paths(&h.dirty_paths, 10)
        ));
    }
}

/// `--rule ID…`: mark every other rule as left out of this run. An id the policy does not
/// have is a usage error, naming the ids it has.
fn select_rules(policy: &mut Policy, only: &[String]) -> Result<(), Error> {
    if only.is_empty() {
        return Ok(());
    }
    let unknown: Vec<&String> = only
        .iter()
        .filter(|id| !policy.rules.iter().any(|r| r.id == **id))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Usage(format!(
            "--rule: the policy has no rule {} (run `shipshape explain` to list them)",
            unknown
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for r in &mut policy.rules {
        r.deselected = !only.contains(&r.id);
    }
    Ok(())
}

/// The run's cluster side: the source chosen by the contract's precedence, the namespace, and
/// the manifests an empty `manifests = []` entry reads.
fn cluster_state(
    cli: &collect::cluster::CliOptions,
    policy: &Policy,
    root: &Path,
    env: &str,
) -> collect::cluster::State {
    let source = collect::cluster::resolve(cli, &policy.cluster, root);
    let namespaces = if cli.namespaces.is_empty() {
        policy.cluster.namespaces.clone()
    } else {
        cli.namespaces.clone()
    };
    let mut state = collect::cluster::State::new(source, namespaces);
    state.env = env.to_string();
    state.manifests = if cli.manifests.is_empty() {
        policy.cluster.manifests.clone()
    } else {
        // Checked by `cluster::check_cli` before the run.
        collect::cluster::cli_manifests(cli, root).unwrap_or_default()
    };
    state.objects_from = cli
        .objects_from
        .clone()
        .or_else(|| policy.cluster.objects.clone());
    if let Some(s) = policy.cluster.max_snapshot_age_secs {
        state.max_snapshot_age_secs = s;
    }
    state
}

/// Temp files of [`write_atomic`] not yet renamed into place, so an interrupted run can remove
/// them (see [`interrupted`]).
static TEMPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Write `bytes` to `path` atomically: a temp file in the same folder, then a rename, so a
/// reader never sees half a report.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for output produced piece by piece (a large bundle is streamed to disk,
/// never held whole in memory): `write` fills a buffered temp file, renamed over `path` only
/// when it succeeded.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = {
        let mut temps = TEMPS.lock().unwrap_or_else(|e| e.into_inner());
        let t = tempfile_in(dir)?;
        temps.push(t.0.clone());
        t
    };
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, tmp.1);
    let result = write(&mut out)
        .and_then(|_| out.flush())
        .and_then(|_| out.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp.0, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
    }
    TEMPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != tmp.0);
    result
}

/// What an interrupted run (SIGINT, SIGTERM) does before it exits: kill every running command's
/// process group and remove the temp files of reports being written, so no half-written report
/// and no orphaned command is left behind. Returns (groups killed, temp files removed).
///
/// The temp-file lock is kept held: a report write that starts after this waits until the
/// process exits, and so never leaves a new temp file behind.
pub fn interrupted() -> (usize, usize) {
    let killed = collect::run::kill_running();
    let temps = TEMPS.lock().unwrap_or_else(|e| e.into_inner());
    let removed = temps
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    std::mem::forget(temps);
    (killed, removed)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for n in 0..100u32 {
        let p = dir.join(format!(".shipshape-tmp-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

/// Log a phase of the run with the process's memory (debug level, `-vv`): where a large audit
/// spends its time and memory, without a profiler.
pub fn memtrace(phase: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let started = *START.get_or_init(Instant::now);
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    tracing::debug!(
        phase,
        elapsed_ms = started.elapsed().as_millis() as u64,
        rss_mb = mb("VmRSS:"),
        peak_mb = mb("VmHWM:"),
        "phase"
    );
}
