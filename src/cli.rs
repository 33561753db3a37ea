//! Command-line definitions (clap). Kept apart from `main.rs` so completions and the man page
//! can be generated from the same definitions later.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shipshape::report::diff::FailOn;
use shipshape::report::render::Format;
use shipshape::trust::signoff::Decision;

#[derive(Debug, Parser)]
#[command(
    name = "shipshape",
    version,
    about = "Release-readiness evidence gate: policy → evidence → verdict",
    after_help = "Exit codes for `audit`: 0 APPROVED, 1 NOT APPROVED, 2 usage or policy error, 3 shipshape failed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logging on stderr: -v for progress steps, -vv for every evidence request.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect evidence, evaluate every rule and write the audit report.
    Audit(Box<AuditArgs>),
    /// Record cluster evidence into a snapshot file an audit reads later (--cluster-snapshot):
    /// read-only lists of the kinds the policy reads (never Secrets), with a header saying when,
    /// from which server and context. With --simulate, generate clearly SIMULATED state from
    /// rendered manifests instead (for examples and demos; every report labels it).
    Snapshot(SnapshotArgs),
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Re-render reports from a saved evidence bundle (report.json), without collecting again.
    Render(RenderArgs),
    /// Compare two evidence bundles: new, resolved, regressed and unchanged findings.
    /// Exit 0 no regression, 1 regression, 2 bad input.
    Diff(DiffArgs),
    /// Benchmark hook: print the last change of each PATH (`PATH<TAB>%cI<TAB>sha`) from one
    /// history walk, as the git collector computes it. Used by benches/git_last_change.sh.
    #[command(name = "git-last-change", hide = true)]
    GitLastChange {
        /// Repository (any folder inside its work tree).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Paths relative to the repository root.
        paths: Vec<String>,
    },
    /// Look at a repository and write a starting shipshape.toml for it.
    Init(InitArgs),
    /// Explain a rule of the policy in force, or what an evidence source yields.
    Explain(ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder.
    Man {
        /// Write shipshape.1 and shipshape-COMMAND.1 pages into this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Sign off a bundle: sign its sha256 with your role and decision (ssh-keygen -Y sign) and
    /// append the signature to the sign-off log beside it (signoffs.jsonl).
    Signoff(SignoffArgs),
    /// May this commit (and these images) ship? Exit 0 when the bundle is intact and APPROVED,
    /// taken at that commit on a clean tree, saw those image digests and carries the required
    /// valid sign-offs; 1 when not (every reason printed); 2 bad input.
    Verify(VerifyArgs),
    /// Audit a fleet of repositories and clusters listed in fleet.toml: one target per index
    /// (a pod of a Kubernetes Indexed Job, or `fleet run` here), then one dashboard.
    Fleet {
        #[command(subcommand)]
        command: FleetCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Load and validate a policy; print every problem with file:line:column.
    Validate {
        /// Policy file (or builtin:NAME).
        file: String,
    },
    /// Print the JSON Schema of the policy file format (policies/schema.json).
    Schema,
    /// Print the merged, effective policy (includes resolved) as TOML, and its digest — the
    /// sha256 the report records and `verify --policy-sha256` demands.
    Show {
        /// Policy file (or builtin:NAME); default ./shipshape.toml, else builtin:default.
        file: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Folder to audit.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Policy file (or builtin:NAME); default PATH/shipshape.toml, else builtin:default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Environment whose rules apply (one the policy declares).
    #[arg(long)]
    pub env: Option<String>,
    /// Output folder for the reports (`-`: the Markdown report on standard output, no files).
    #[arg(long, default_value = "shipshape-out")]
    pub out: PathBuf,
    /// Comma-separated output formats: md, html, json, junit, sarif, intoto (files report.md,
    /// report.html, report.json, report.junit.xml, report.sarif, report.intoto.json). Never
    /// changes the exit code.
    #[arg(long, default_value = "md,json", value_delimiter = ',')]
    pub format: Vec<Format>,
    /// Audit time (RFC 3339). Default: SOURCE_DATE_EPOCH if set, else now (UTC).
    #[arg(long)]
    pub now: Option<String>,
    /// Collect at most N pieces of evidence (commands included) at once.
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Do not run commands; rules that need them become pending (a preview: cannot approve).
    #[arg(long)]
    pub skip_commands: bool,
    /// Run every command (and kustomize render) even when a cached result is still valid.
    #[arg(long)]
    pub no_cache: bool,
    /// The cache folder, outside the audited repository (default $XDG_CACHE_HOME/shipshape,
    /// else ~/.cache/shipshape).
    #[arg(long, value_name = "DIR", env = "SHIPSHAPE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Sign the bundle with this SSH key (ssh-keygen -Y sign) into report.json.sig, for
    /// `verify --require-auditor`.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// Overwrite a signed bundle in --out (one with sign-offs or an auditor signature beside it).
    #[arg(long)]
    pub force: bool,
    /// Folder whose templates (report.md.tera) replace the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Files larger than this many bytes are not parsed.
    #[arg(long, default_value_t = shipshape::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// A previous run's bundle (report.json): every report gains "Changes since the last audit".
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Which findings fail the run besides a NOT APPROVED verdict (which always does):
    /// blocking (none), warning (any failing warning), new (warnings new since --baseline).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = FailOn::Blocking)]
    pub fail_on: FailOn,
    /// Also publish the Markdown report as DIR/final-production-readiness-audit-YYYYMMDD.md
    /// (date from --now), update DIR/audits.md and mark earlier audits superseded. DIR defaults
    /// to the policy's [audit] publish_dir inside PATH (docs/operations-artifacts).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    pub publish: Option<Option<PathBuf>>,
    /// Cluster evidence from recorded `kubectl get -o yaml|json` output instead of the live API
    /// (wins over every other cluster source).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub cluster_snapshot: Vec<PathBuf>,
    /// Query the live cluster of this kubeconfig context (never the current context by surprise).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespaces for cluster evidence that names none (repeat or comma-separate; default:
    /// the policy's [cluster] namespaces, else all namespaces).
    #[arg(long, short = 'n', value_name = "NS", value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// Kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Query the cluster this pod runs in, with its service account (lowest precedence).
    #[arg(long)]
    pub in_cluster: bool,
    /// Kubernetes manifests (files or kustomize folders inside PATH) that `manifests = []`
    /// evidence reads — the hardening pack's workloads — instead of the policy's
    /// `[cluster] manifests`.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Where `manifests = []` evidence reads objects from: the rendered manifests (before
    /// deploy) or the cluster source (live or snapshot, after deploy). Default: the policy's
    /// `[cluster] objects`, else manifests when the run has any, else the cluster.
    #[arg(long, value_name = "FROM", value_parser = ["manifests", "cluster"])]
    pub objects_from: Option<String>,
    /// Re-check only this rule (repeatable): a partial run, which says so and never approves.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// A waivers file ([[waiver]] tables), instead of the policy's `[audit] waivers_file`.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The audited folder whose policy says which kinds to record.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where to write the snapshot (`-`: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Policy file or builtin:NAME (default: PATH/shipshape.toml, else builtin:default).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Record this kind too (`Deployment`, `apps/Deployment`, `example.com/v1/Widget`).
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// The kubeconfig context to record (never the current context by surprise).
    #[arg(long, value_name = "NAME", conflicts_with = "in_cluster")]
    pub context: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Record the cluster this pod runs in, with its service account.
    #[arg(long)]
    pub in_cluster: bool,
    /// Namespaces to record (repeat or comma-separate; default: the policy's [cluster]
    /// namespaces, else all).
    #[arg(long, short = 'n', value_name = "NS", value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// Generate SIMULATED state from these manifests (file, folder or kustomize folder inside
    /// PATH) instead of recording a cluster.
    #[arg(long, value_name = "MANIFESTS", conflicts_with_all = ["context", "in_cluster", "kind"])]
    pub simulate: Option<String>,
    /// With --simulate: a leader Lease held by a pod of DEPLOYMENT (repeatable).
    #[arg(long, value_name = "DEPLOYMENT=LEASE", requires = "simulate")]
    pub leader_lease: Vec<String>,
    /// Capture time written in the header (RFC 3339). Default: SOURCE_DATE_EPOCH if set,
    /// else now. For --simulate, the moment the simulated state stands for.
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A bundle written by `audit` (report.json).
    pub bundle: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "shipshape-out")]
    pub out: PathBuf,
    /// Comma-separated output formats: md, html, json, junit, sarif, intoto.
    #[arg(long, default_value = "md", value_delimiter = ',')]
    pub format: Vec<Format>,
    /// Folder whose templates replace the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// OpenSSH allowed_signers file: verify the sign-offs the reports show (without it they
    /// are listed as not checked).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline bundle (an earlier report.json).
    pub old: PathBuf,
    /// The bundle to compare with it.
    pub new: PathBuf,
    /// `text` (terminal) or `md` (Markdown, for a pull-request comment).
    #[arg(long, default_value = "text", value_parser = ["text", "md"])]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Repository to look at; shipshape.toml is written there.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Overwrite an existing shipshape.toml.
    #[arg(long)]
    pub force: bool,
    /// Print the policy instead of writing it.
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id (from the policy in force).
    #[arg(required_unless_present = "source", conflicts_with = "source")]
    pub rule: Option<String>,
    /// Folder whose shipshape.toml applies (as for `audit`).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Policy file (or builtin:NAME); default PATH/shipshape.toml, else builtin:default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Explain an evidence source instead: artifact, files, run, scan, capture, data, links,
    /// git, cluster, manifests, http, suppressions, versions.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct SignoffArgs {
    /// The bundle to sign off (report.json).
    pub bundle: PathBuf,
    /// SSH private key (or a public key whose private half is in ssh-agent).
    #[arg(long)]
    pub key: PathBuf,
    /// The role you sign off as (must be granted to you in the verifier's allowed_signers).
    #[arg(long)]
    pub role: String,
    /// approve or reject.
    #[arg(long, value_enum)]
    pub decision: Decision,
    /// A comment kept with the sign-off (and signed).
    #[arg(long)]
    pub comment: Option<String>,
    /// Your identity as the allowed_signers file names it; default `git config user.email`.
    #[arg(long)]
    pub identity: Option<String>,
    /// The sign-off log; default signoffs.jsonl beside the bundle.
    #[arg(long, value_name = "FILE")]
    pub signoffs: Option<PathBuf>,
    /// Sign-off time (RFC 3339). Default: SOURCE_DATE_EPOCH if set, else now (UTC).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle to verify (report.json).
    pub bundle: PathBuf,
    /// The commit being deployed (full or abbreviated sha).
    #[arg(long)]
    pub commit: String,
    /// An image being deployed, pinned by digest: REF@sha256:DIGEST (repeatable).
    #[arg(long, value_name = "REF@sha256:DIGEST")]
    pub image: Vec<String>,
    /// OpenSSH allowed_signers file; roles are `roles=a,b` in each line's comment.
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The sign-off log; default signoffs.jsonl beside the bundle.
    #[arg(long, value_name = "FILE")]
    pub signoffs: Option<PathBuf>,
    /// The effective policy must have exactly this digest (`shipshape policy show` prints it).
    #[arg(long, value_name = "HEX")]
    pub policy_sha256: Option<String>,
    /// The policy must extend exactly this central policy (sha256 of its bytes).
    #[arg(long, value_name = "HEX")]
    pub central_sha256: Option<String>,
    /// The audit must be for this environment.
    #[arg(long)]
    pub env: Option<String>,
    /// The score must reach this (out of 10), whatever the bundle's policy asked.
    #[arg(long, value_name = "N")]
    pub min_score: Option<f64>,
    /// The audit may be at most this old at verify time: 30m, 24h, 7d.
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// A sign-off required on top of the policy's: ROLE or ROLE=N (repeatable).
    #[arg(long, value_name = "ROLE[=N]")]
    pub require_signoff: Vec<String>,
    /// The bundle must be signed (`audit --sign-key`) by this principal of --allowed-signers.
    #[arg(long, value_name = "PRINCIPAL")]
    pub require_auditor: Option<String>,
    /// Accept command results that came from the cache (refused by default).
    #[arg(long)]
    pub allow_cached: bool,
    /// Accept pending non-blocking rules (refused by default).
    #[arg(long)]
    pub allow_pending: bool,
    /// Accept cluster evidence from a simulated snapshot (refused by default).
    #[arg(long)]
    pub allow_simulated: bool,
    /// The verify time for --max-age (RFC 3339; default now).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Check a fleet file: every problem with file:line:column (exit 2).
    Validate {
        /// The fleet file.
        #[arg(long, default_value = "fleet.toml")]
        fleet: PathBuf,
    },
    /// Audit target INDEX into OUT/<target id>/ (report.json, report.md, target.json). Exit 0
    /// when audited, whatever the verdict; 2 when the target's configuration is wrong; 3 when
    /// a tool failed (a retry may help).
    RunIndex(FleetRunIndexArgs),
    /// Audit every target on this machine, J at a time, through the same code as run-index.
    Run(FleetRunArgs),
    /// Print the Kubernetes Indexed Job (or, with --schedule, a CronJob) that audits the fleet.
    Job(FleetJobArgs),
    /// Aggregate the bundles under DIR into the fleet dashboard (fleet.md, .html, .json).
    Report(FleetReportArgs),
}

#[derive(Debug, Args)]
pub struct FleetRunIndexArgs {
    /// The fleet file.
    #[arg(long, default_value = "fleet.toml")]
    pub fleet: PathBuf,
    /// The target's index (0-based, in file order); default `$JOB_COMPLETION_INDEX`, which a
    /// Kubernetes Indexed Job sets in every pod.
    #[arg(long, env = "JOB_COMPLETION_INDEX")]
    pub index: usize,
    #[command(flatten)]
    pub common: FleetRunCommon,
}

#[derive(Debug, Args)]
pub struct FleetRunArgs {
    /// The fleet file.
    #[arg(long, default_value = "fleet.toml")]
    pub fleet: PathBuf,
    /// Targets audited at once.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub jobs: usize,
    #[command(flatten)]
    pub common: FleetRunCommon,
}

#[derive(Debug, Args)]
pub struct FleetRunCommon {
    /// Results folder: one folder per target.
    #[arg(long, default_value = "fleet-out")]
    pub out: PathBuf,
    /// Where repositories are cloned (removed after each audit); default TMPDIR/shipshape-fleet.
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Audit as of this time (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// Do not run evidence commands (such runs never approve).
    #[arg(long)]
    pub skip_commands: bool,
}

#[derive(Debug, Args)]
pub struct FleetJobArgs {
    /// The fleet file (its target count is the Job's completions).
    #[arg(long, default_value = "fleet.toml")]
    pub fleet: PathBuf,
    /// The shipshape image, pinned by digest: REPO@sha256:HEX.
    #[arg(long)]
    pub image: String,
    /// Pods at once.
    #[arg(long, default_value_t = 4)]
    pub parallelism: usize,
    /// Retries of one target after a tool failure.
    #[arg(long, default_value_t = 2)]
    pub backoff_limit_per_index: u32,
    #[arg(long, default_value = "shipshape-fleet")]
    pub name: String,
    #[arg(long, default_value = "shipshape")]
    pub namespace: String,
    /// ConfigMap holding fleet.toml.
    #[arg(long, default_value = "shipshape-fleet")]
    pub config_map: String,
    /// PersistentVolumeClaim the bundles are written to.
    #[arg(long, default_value = "shipshape-fleet-results")]
    pub results_claim: String,
    #[arg(long, default_value = "shipshape-audit")]
    pub service_account: String,
    /// Render a CronJob on this schedule (cron syntax, UTC) instead of a Job.
    #[arg(long)]
    pub schedule: Option<String>,
}

#[derive(Debug, Args)]
pub struct FleetReportArgs {
    /// The results folder `fleet run` or the Job wrote.
    pub dir: PathBuf,
    /// The fleet file (the targets expected); default DIR/fleet.toml.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// Output formats, comma-separated: md, html, json.
    #[arg(long, default_value = "md,html,json", value_delimiter = ',')]
    pub format: Vec<String>,
    /// Output folder; default DIR.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// History of earlier reports (one JSON line each), read for the trend and appended to;
    /// default OUT/fleet-history.jsonl.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Report as of this time (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// Threads reading bundles.
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}
