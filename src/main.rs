//! The binary edge: parse the command line, call the library, map the result to the documented
//! exit code (0 approved, 1 not approved, 2 usage/policy error, 3 tool failure — panics too).

mod cli;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;

use shipshape::evaluate::score::Verdict;
use shipshape::evidence::Bundle;
use shipshape::report::render::{Format, Renderer};

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("shipshape: internal error: {info}");
        eprintln!("This is a bug in shipshape; the run produced no verdict (exit 3).");
    }));
    let code = std::panic::catch_unwind(run).unwrap_or(3);
    ExitCode::from(code as u8)
}

fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        cli::Command::Audit(a) => audit(a),
        cli::Command::Policy {
            command: cli::PolicyCommand::Validate { file },
        } => validate(&file),
        cli::Command::Render(r) => render(r),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = e
                .downcast_ref::<shipshape::Error>()
                .map(shipshape::Error::exit_code)
                .unwrap_or(3);
            eprintln!("{e:#}");
            code
        }
    }
}

fn parse_now(arg: Option<&str>) -> Result<DateTime<Utc>, shipshape::Error> {
    if let Some(s) = arg {
        return DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                shipshape::Error::Usage(format!(
                    "--now `{s}` is not an RFC 3339 time (e.g. 2026-02-10T12:00:00Z): {e}"
                ))
            });
    }
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        let secs: i64 = epoch.trim().parse().map_err(|_| {
            shipshape::Error::Usage(format!("SOURCE_DATE_EPOCH `{epoch}` is not a number"))
        })?;
        return DateTime::from_timestamp(secs, 0).ok_or_else(|| {
            shipshape::Error::Usage(format!("SOURCE_DATE_EPOCH `{epoch}` is out of range"))
        });
    }
    Ok(Utc::now())
}

fn formats(list: &[String]) -> Result<Vec<Format>, shipshape::Error> {
    let mut out = Vec::new();
    for f in list {
        let f = f.trim();
        if f.is_empty() {
            continue;
        }
        let parsed = Format::parse(f).ok_or_else(|| {
            shipshape::Error::Usage(format!("unknown format `{f}` (available: md, json)"))
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn write_outputs(
    bundle: &Bundle,
    formats: &[Format],
    out: &Path,
    templates: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    let renderer = Renderer::new(templates).map_err(|e| shipshape::Error::Usage(e.to_string()))?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder `{}`", out.display()))?;
    // Keep the default output folder out of git without asking the user to edit .gitignore.
    let ignore = out.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(&ignore, "*\n");
    }
    let mut written = Vec::new();
    for f in formats {
        let mut buf = Vec::new();
        match f {
            Format::Markdown => renderer
                .markdown(&bundle.report, &mut buf)
                .map_err(|e| anyhow::anyhow!(shipshape::Error::Tool(e.to_string())))?,
            Format::Json => {
                serde_json::to_writer_pretty(&mut buf, bundle)?;
                buf.push(b'\n');
            }
        }
        let path = out.join(f.file_name());
        shipshape::write_atomic(&path, &buf).map_err(|e| {
            shipshape::Error::Tool(format!("cannot write `{}`: {e}", path.display()))
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn audit(a: cli::AuditArgs) -> anyhow::Result<i32> {
    let now = parse_now(a.now.as_deref())?;
    let formats = formats(&a.format)?;
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let cluster = shipshape::collect::cluster::CliOptions {
        snapshots: a.cluster_snapshot.clone(),
        context: a.context.clone(),
        namespace: a.namespace.clone(),
        in_cluster: a.in_cluster,
        kubeconfig: a.kubeconfig.clone(),
    };
    let result = shipshape::audit_with(
        &shipshape::AuditOptions {
            path: a.path.clone(),
            policy: a.policy.clone(),
            env: a.env.clone(),
            now,
            jobs,
            skip_commands: a.skip_commands,
            max_file_bytes: a.max_file_bytes,
        },
        &cluster,
    )?;
    let written = write_outputs(&result.bundle, &formats, &a.out, a.templates.as_deref())?;
    if !a.quiet {
        summary(&result.bundle, &written, a.skip_commands);
    }
    Ok(match result.bundle.report.verdict {
        Verdict::Approved => 0,
        Verdict::NotApproved => 1,
    })
}

fn summary(bundle: &Bundle, written: &[String], skipped_commands: bool) {
    let r = &bundle.report;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "shipshape: {} — score {}/10 (approval needs {}), evidence coverage {}",
        r.verdict_text, r.score.shown, r.score.threshold, r.score.coverage_shown
    );
    let c = &r.counts;
    let _ = writeln!(
        out,
        "  {} rules: {} pass, {} fail, {} pending, {} waived, {} skipped",
        c.rules, c.pass, c.fail, c.pending, c.waived, c.skipped
    );
    for a in &r.score.areas {
        if let Some(s) = a.score {
            let _ = writeln!(
                out,
                "  {:<40} {:>4.0}%  ({}/{})",
                a.title,
                s * 100.0,
                a.passed_weight,
                a.applicable_weight
            );
        }
    }
    if !r.blocking_gaps.is_empty() {
        let _ = writeln!(out, "  blocking gaps:");
        for g in &r.blocking_gaps {
            let _ = writeln!(out, "    {} {} — {}", g.icon, g.rule, g.sentence);
        }
    }
    if !r.nonblocking_gaps.is_empty() {
        let _ = writeln!(out, "  non-blocking gaps:");
        for g in &r.nonblocking_gaps {
            let _ = writeln!(out, "    {} {} — {}", g.icon, g.rule, g.sentence);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if skipped_commands {
        let _ = writeln!(
            out,
            "  note: --skip-commands: rules that need commands are pending; this run cannot approve them"
        );
    }
    for w in written {
        let _ = writeln!(out, "  wrote {w}");
    }
}

fn validate(file: &str) -> anyhow::Result<i32> {
    let location = shipshape::policy::Location::parse(file, None);
    match shipshape::policy::load(&location) {
        Ok(p) => {
            println!(
                "{file}: ok — {} areas, {} rules, {} waivers (sha256 {})",
                p.areas.len(),
                p.rules.len(),
                p.waivers.len(),
                p.digest
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{} problem(s) in {file}", e.0.len());
            Ok(2)
        }
    }
}

fn render(r: cli::RenderArgs) -> anyhow::Result<i32> {
    let formats = formats(&r.format)?;
    let text = match std::fs::read_to_string(&r.bundle) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read bundle `{}`: {e}", r.bundle.display());
            return Ok(2);
        }
    };
    let bundle = match Bundle::from_json(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", r.bundle.display());
            return Ok(2);
        }
    };
    if !bundle.intact() {
        eprintln!(
            "{}: the bundle's sha256 does not match its content (edited or corrupted)",
            r.bundle.display()
        );
        return Ok(2);
    }
    let written = write_outputs(&bundle, &formats, &r.out, r.templates.as_deref())?;
    for w in written {
        println!("wrote {w}");
    }
    Ok(0)
}
