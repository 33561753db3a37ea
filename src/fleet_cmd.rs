//! The `fleet` subcommands at the binary edge: read arguments, call `shipshape::fleet`, print.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli;
use shipshape::fleet::{self, dashboard, run};

pub fn dispatch(
    command: cli::FleetCommand,
    now: impl Fn(Option<&str>) -> Result<DateTime<Utc>, shipshape::Error>,
) -> anyhow::Result<i32> {
    match command {
        cli::FleetCommand::Validate { fleet } => {
            let f = load(&fleet)?;
            println!("{}: {} target(s), valid", fleet.display(), f.targets.len());
            Ok(0)
        }
        cli::FleetCommand::RunIndex(a) => {
            let f = load(&a.fleet)?;
            let opts = options(&a.common, now(a.common.now.as_deref())?, 0);
            keep_fleet_file(&a.fleet, &a.common.out)?;
            let record = run::run_index(&f, a.index, &a.common.out, &opts)?;
            println!(
                "{} (index {}): {}",
                record.id,
                record.index,
                record.verdict.as_deref().unwrap_or("not audited")
            );
            Ok(0)
        }
        cli::FleetCommand::Run(a) => {
            let f = load(&a.fleet)?;
            let opts = options(&a.common, now(a.common.now.as_deref())?, a.jobs);
            keep_fleet_file(&a.fleet, &a.common.out)?;
            let records = run::run_all(&f, &a.common.out, a.jobs, &opts);
            let mut failed = 0;
            for r in &records {
                match (&r.verdict, &r.error) {
                    (Some(v), _) => println!("  {:<28} {v}", r.id),
                    (None, Some(e)) => {
                        failed += 1;
                        println!(
                            "  {:<28} FAILED (exit {}): {}",
                            r.id,
                            r.exit_code,
                            first_line(e)
                        );
                    }
                    (None, None) => println!("  {:<28} not audited", r.id),
                }
            }
            println!(
                "{} target(s) audited into {}; {failed} could not be audited",
                records.len() - failed,
                a.common.out.display()
            );
            Ok(if failed > 0 { 3 } else { 0 })
        }
        cli::FleetCommand::Job(a) => {
            let f = load(&a.fleet)?;
            print!(
                "{}",
                fleet::job::render(&fleet::job::JobOptions {
                    name: a.name,
                    namespace: a.namespace,
                    image: a.image,
                    completions: f.targets.len(),
                    parallelism: a.parallelism,
                    backoff_limit_per_index: a.backoff_limit_per_index,
                    config_map: a.config_map,
                    results_claim: a.results_claim,
                    service_account: a.service_account,
                    schedule: a.schedule,
                })
            );
            Ok(0)
        }
        cli::FleetCommand::Report(a) => report(a, now),
    }
}

fn report(
    a: cli::FleetReportArgs,
    now: impl Fn(Option<&str>) -> Result<DateTime<Utc>, shipshape::Error>,
) -> anyhow::Result<i32> {
    let file = a.fleet.clone().unwrap_or_else(|| a.dir.join("fleet.toml"));
    let f = load(&file)?;
    let out = a.out.clone().unwrap_or_else(|| a.dir.clone());
    let history_file = a
        .history
        .clone()
        .unwrap_or_else(|| out.join("fleet-history.jsonl"));
    let history = dashboard::read_history(&history_file)?;
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let d = dashboard::build(&f, &a.dir, now(a.now.as_deref())?, jobs, history);
    let formats: Vec<&str> = a.format.iter().map(String::as_str).collect();
    for p in dashboard::write(&d, &out, &formats)? {
        println!("wrote {}", p.display());
    }
    dashboard::write_history(&history_file, &d)?;
    println!("{}: {} of {} targets may ship", d.name, d.approved, d.total);
    Ok(0)
}

fn load(file: &Path) -> anyhow::Result<fleet::Fleet> {
    fleet::load(file).map_err(|e| shipshape::Error::Usage(e.to_string()).into())
}

fn options(c: &cli::FleetRunCommon, now: DateTime<Utc>, workers: usize) -> run::RunOptions {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    run::RunOptions {
        now,
        // Workers share the cores: each audit gets its part.
        jobs: (cores / workers.max(1)).max(1),
        skip_commands: c.skip_commands,
        work: c.work.clone().unwrap_or_else(run::RunOptions::default_work),
    }
}

/// A copy of the fleet file in the results folder, so `fleet report DIR` knows every target
/// expected (the same bytes from every pod).
fn keep_fleet_file(file: &Path, out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read(file)?;
    std::fs::create_dir_all(out)?;
    let dest = out.join("fleet.toml");
    if std::fs::read(&dest).ok().as_deref() != Some(text.as_slice()) {
        shipshape::write_atomic_with(&dest, |w| w.write_all(&text))?;
    }
    Ok(())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
