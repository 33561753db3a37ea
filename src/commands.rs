//! The commands that fit shipshape into where users work — `init`, `explain`, `completions`,
//! `man`, `policy schema` — and the logging/progress set-up. Kept out of `main.rs` so the
//! binary's core (audit, validate, render) stays easy to read.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli;

/// `-v`/`-vv` logging through `tracing`, to stderr. Without `-v` only warnings show.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}

/// The terminal progress display, unless asked to be quiet or stderr is not a terminal.
pub fn progress(quiet: bool) -> Option<shipshape::progress::Display> {
    if quiet {
        return None;
    }
    shipshape::progress::Display::stderr()
}

pub fn schema() -> anyhow::Result<i32> {
    print!("{}", shipshape::policy::schema::json());
    Ok(0)
}

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<i32> {
    let mut cmd = cli::Cli::command();
    clap_complete::generate(shell, &mut cmd, "shipshape", &mut std::io::stdout());
    Ok(0)
}

pub fn man(dir: Option<&Path>) -> anyhow::Result<i32> {
    let cmd = cli::Cli::command();
    match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.extend_from_slice(MAN_EXTRA.as_bytes());
            std::io::stdout().write_all(&out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                shipshape::Error::Tool(format!("cannot create `{}`: {e}", dir.display()))
            })?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| shipshape::Error::Tool(format!("cannot write man pages: {e}")))?;
            let main = dir.join("shipshape.1");
            let mut page = std::fs::read(&main)?;
            page.extend_from_slice(MAN_EXTRA.as_bytes());
            std::fs::write(&main, page)?;
            println!("wrote man pages to {}", dir.display());
        }
    }
    Ok(0)
}

/// The man page sections clap does not generate: exit status and environment.
const MAN_EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
audit: APPROVED; verify: the bundle is intact, APPROVED and meets every demand; other
commands: success.
.TP
\fB1\fR
audit: NOT APPROVED (or a warning that \fB--fail-on\fR fails); verify: not (every reason
printed); diff: a regression.
.TP
\fB2\fR
Usage or policy error, bad input (a tampered bundle, an unknown rule or environment).
.TP
\fB3\fR
shipshape itself failed (a panic included): no verdict was produced.
.TP
\fB130\fR, \fB143\fR
Interrupted (SIGINT, SIGTERM): commands it started are stopped and no half-written report is
left.
.SH ENVIRONMENT
.TP
\fBSOURCE_DATE_EPOCH\fR
The audit time when \fB--now\fR is not given (seconds since the epoch).
.TP
\fBKUBECONFIG\fR
Kubeconfig files for \fB--context\fR when \fB--kubeconfig\fR is not given (else
~/.kube/config). The current context is never used unless named.
.TP
\fBSHIPSHAPE_CACHE_DIR\fR, \fBXDG_CACHE_HOME\fR
Where command results are cached (\fB--cache-dir\fR wins; default
$XDG_CACHE_HOME/shipshape, else ~/.cache/shipshape). Never inside the audited repository.
.TP
\fBNO_COLOR\fR
When set and not empty, the terminal summary has no colour.
.TP
\fBGITHUB_STEP_SUMMARY\fR
With \fB--format github\fR, the job summary is appended to this file.
.TP
\fBKUBERNETES_SERVICE_HOST\fR
Required by \fB--in-cluster\fR (set in every pod).
"#;

pub fn init(a: cli::InitArgs) -> anyhow::Result<i32> {
    if a.stdout {
        if !a.path.is_dir() {
            return Err(
                shipshape::Error::Usage(format!("`{}` is not a folder", a.path.display())).into(),
            );
        }
        print!(
            "{}",
            shipshape::init::render(&shipshape::init::inspect(&a.path))
        );
        return Ok(0);
    }
    match shipshape::init::init(&a.path, a.force) {
        Ok(w) => {
            println!("shipshape init: found in {}", a.path.display());
            print!("{}", shipshape::init::summary(&w.findings));
            println!("wrote {}", w.path.display());
            println!("next:");
            // An audit describes committed files (a dirty tree is reported, and a policy with
            // require_clean cannot approve it): commit the new policy first.
            println!(
                "  git -C {} add shipshape.toml && git -C {} commit -m \"Add the shipshape release gate\"",
                a.path.display(),
                a.path.display()
            );
            println!("  shipshape audit {}", a.path.display());
            println!("  shipshape explain RULE_ID {}", a.path.display());
            Ok(0)
        }
        Err(e @ shipshape::init::InitError::Invalid(_)) => {
            Err(shipshape::Error::Tool(e.to_string()).into())
        }
        Err(e @ shipshape::init::InitError::Io(..)) => {
            Err(shipshape::Error::Tool(e.to_string()).into())
        }
        Err(e) => Err(shipshape::Error::Usage(e.to_string()).into()),
    }
}

pub fn explain(a: cli::ExplainArgs) -> anyhow::Result<i32> {
    if let Some(name) = &a.source {
        return match shipshape::explain::source(name) {
            Some(doc) => {
                print!("{}", shipshape::explain::explain_source(doc));
                Ok(0)
            }
            None => Err(shipshape::Error::Usage(format!(
                "unknown evidence source `{name}` (one of {})",
                shipshape::explain::source_names()
            ))
            .into()),
        };
    }
    let id = a.rule.unwrap_or_default();
    let location = shipshape::discover_policy(&a.path, a.policy.as_deref());
    let policy = shipshape::policy::load(&location).map_err(shipshape::Error::from)?;
    match policy.rules.iter().find(|r| r.id == id) {
        Some(rule) => {
            print!("{}", shipshape::explain::explain_rule(&policy, rule));
            Ok(0)
        }
        None => {
            let similar = shipshape::explain::similar(&policy, &id);
            let hint = if similar.is_empty() {
                format!(
                    "its rules: {}",
                    policy
                        .rules
                        .iter()
                        .map(|r| r.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("did you mean: {}", similar.join(", "))
            };
            Err(
                shipshape::Error::Usage(format!("no rule `{id}` in {} — {hint}", policy.name))
                    .into(),
            )
        }
    }
}

/// `policy show [FILE]`: the effective policy and its digest.
pub fn show_policy(file: Option<&str>) -> anyhow::Result<i32> {
    let location = match file {
        Some(f) => shipshape::policy::Location::parse(f, None),
        None => shipshape::discover_policy(std::path::Path::new("."), None),
    };
    match shipshape::policy::load(&location) {
        Ok(p) => {
            println!("# The effective policy: {} (includes resolved).", p.name);
            println!("# sha256 {}", p.digest);
            print!("{}", shipshape::policy::show_toml(&p));
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(2)
        }
    }
}

/// `shipshape snapshot`: record the kinds the policy reads from a live cluster, or simulate
/// them from rendered manifests.
pub fn snapshot(a: cli::SnapshotArgs, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<i32> {
    use shipshape::Error;
    use shipshape::snapshot as snap;
    if let Some(manifests) = &a.simulate {
        let leases = a
            .leader_lease
            .iter()
            .map(|l| {
                l.split_once('=')
                    .filter(|(d, n)| !d.is_empty() && !n.is_empty())
                    .map(|(d, n)| (d.to_string(), n.to_string()))
                    .ok_or_else(|| {
                        Error::Usage(format!("--leader-lease `{l}` is not DEPLOYMENT=LEASE"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = snap::simulate(
            &a.path,
            &snap::Simulation {
                manifests: manifests.trim_end_matches('/').to_string(),
                at: now,
                leases,
            },
        )?;
        snap::write(&a.out, &text)?;
        return Ok(0);
    }
    let cluster = shipshape::collect::cluster::CliOptions {
        context: a.context.clone(),
        in_cluster: a.in_cluster,
        kubeconfig: a.kubeconfig.clone(),
        ..Default::default()
    };
    if a.context.is_none() && !a.in_cluster {
        return Err(Error::Usage(
            "snapshot needs a cluster: --context NAME (with --kubeconfig FILE) or --in-cluster; or --simulate MANIFESTS".into(),
        )
        .into());
    }
    shipshape::collect::cluster::check_cli(&cluster).map_err(Error::Usage)?;
    let policy =
        shipshape::policy::load(&shipshape::discover_policy(&a.path, a.policy.as_deref()))?;
    let ns = if a.namespace.is_empty() {
        policy.cluster.namespaces.clone()
    } else {
        a.namespace.clone()
    };
    let mut wanted = snap::wanted_by(&policy, &ns);
    for k in &a.kind {
        wanted.extend(snap::parse_kind(k, &ns)?);
    }
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(Error::Usage(
            "the policy reads nothing from a cluster: name kinds with --kind".into(),
        )
        .into());
    }
    let live = shipshape::collect::cluster::Live::connect(
        a.context.as_deref(),
        a.in_cluster,
        a.kubeconfig.as_deref(),
    )
    .map_err(Error::Tool)?;
    let context = a.context.clone().unwrap_or_else(|| "in-cluster".into());
    let text = snap::record(&live, &wanted, &context, now)?;
    snap::write(&a.out, &text)?;
    Ok(0)
}
