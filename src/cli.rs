//! Command-line definitions (clap). Kept apart from `main.rs` so completions and the man page
//! can be generated from the same definitions later.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect evidence, evaluate every rule and write the audit report.
    Audit(AuditArgs),
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
    /// Sign off a bundle: sign its sha256 with your role and decision (ssh-keygen -Y sign) and
    /// append the signature to the sign-off log beside it (signoffs.jsonl).
    Signoff(SignoffArgs),
    /// May this commit (and these images) ship? Exit 0 when the bundle is intact and APPROVED,
    /// taken at that commit on a clean tree, saw those image digests and carries the required
    /// valid sign-offs; 1 when not (every reason printed); 2 bad input.
    Verify(VerifyArgs),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Load and validate a policy; print every problem with file:line:column.
    Validate {
        /// Policy file (or builtin:NAME).
        file: String,
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
    /// Output folder for the reports.
    #[arg(long, default_value = "shipshape-out")]
    pub out: PathBuf,
    /// Comma-separated output formats: md, html, json, junit, sarif, intoto (files report.md,
    /// report.html, report.json, report.junit.xml, report.sarif, report.intoto.json). Never
    /// changes the exit code.
    #[arg(long, default_value = "md,json", value_delimiter = ',')]
    pub format: Vec<String>,
    /// Audit time (RFC 3339). Default: SOURCE_DATE_EPOCH if set, else now (UTC).
    #[arg(long)]
    pub now: Option<String>,
    /// Collect at most N pieces of evidence (commands included) at once.
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Do not run commands; rules that need them become pending (a preview: cannot approve).
    #[arg(long)]
    pub skip_commands: bool,
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
    #[arg(long, value_name = "MODE", default_value = "blocking", value_parser = ["blocking", "warning", "new"])]
    pub fail_on: String,
    /// A waivers file ([[waiver]] tables), instead of the policy's `[audit] waivers_file`.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
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
    pub format: Vec<String>,
    /// Folder whose templates replace the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
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
    #[arg(long, value_parser = ["approve", "reject"])]
    pub decision: String,
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
}
