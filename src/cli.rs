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
    /// More logging on stderr: -v for progress steps, -vv for every evidence request.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
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
    /// Explain an evidence source instead: artifact, files, run, scan, capture, data, git,
    /// links, manifests, cluster, http.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}
