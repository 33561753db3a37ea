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
    /// Comma-separated output formats: md, json.
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
    /// Cluster evidence from recorded `kubectl get -o yaml|json` output instead of the live API
    /// (wins over every other cluster source).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub cluster_snapshot: Vec<PathBuf>,
    /// Query the live cluster of this kubeconfig context (never the current context by surprise).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace for cluster evidence that names none (default: all namespaces).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Query the cluster this pod runs in, with its service account (lowest precedence).
    #[arg(long)]
    pub in_cluster: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A bundle written by `audit` (report.json).
    pub bundle: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "shipshape-out")]
    pub out: PathBuf,
    /// Comma-separated output formats: md, json.
    #[arg(long, default_value = "md", value_delimiter = ',')]
    pub format: Vec<String>,
    /// Folder whose templates replace the built-in ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
}
