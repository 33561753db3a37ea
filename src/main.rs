//! The binary edge: parse the command line, call the library, map the result to the documented
//! exit code (0 approved, 1 not approved, 2 usage/policy error, 3 tool failure — panics too).

mod cli;
mod commands;
mod fleet_cmd;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;

use shipshape::evaluate::score::Verdict;
use shipshape::evidence::Bundle;
use shipshape::report::diff::{self, FailOn};
use shipshape::report::render::{Format, Renderer};
use shipshape::report::terminal::{self, Paint, signoff_lines, verdict_line};
use shipshape::trust::signoff::{self, SignoffEntry};

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: shipshape internal error: {info}");
        eprintln!("error: this is a bug in shipshape; the run produced no verdict (exit 3)");
    }));
    // Only fleet mode clones over https.
    shipshape::repo::start_libgit2(std::env::args().any(|a| a == "fleet"));
    on_signals();
    let code = std::panic::catch_unwind(run).unwrap_or(3);
    ExitCode::from(code as u8)
}

/// SIGINT and SIGTERM end the run cleanly: every running command's process group is killed, the
/// temp files of reports being written are removed (reports are renamed into place whole, so
/// none is ever half-written), and the exit code is 128 + the signal (130, 143).
fn on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let (killed, removed) = shipshape::interrupted();
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            eprintln!(
                "shipshape: interrupted ({name}): killed {killed} running command(s), removed {removed} unfinished file(s); no verdict"
            );
            std::process::exit(128 + sig);
        }
    });
}

fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    commands::init_logging(cli.verbose);
    let verbose = cli.verbose;
    let result = match cli.command {
        cli::Command::Audit(a) => audit(*a, verbose),
        cli::Command::Snapshot(a) => parse_now(a.now.as_deref())
            .map_err(anyhow::Error::from)
            .and_then(|now| commands::snapshot(a, now)),
        cli::Command::Policy {
            command: cli::PolicyCommand::Validate { file },
        } => validate(&file),
        cli::Command::Render(r) => render(r),
        cli::Command::Diff(d) => diff(d),
        cli::Command::GitLastChange { repo, paths } => git_last_change(&repo, &paths),
        cli::Command::Policy {
            command: cli::PolicyCommand::Schema,
        } => commands::schema(),
        cli::Command::Policy {
            command: cli::PolicyCommand::Show { file },
        } => commands::show_policy(file.as_deref()),
        cli::Command::Init(a) => commands::init(a),
        cli::Command::Explain(a) => commands::explain(a),
        cli::Command::Completions { shell } => commands::completions(shell),
        cli::Command::Man { dir } => commands::man(dir.as_deref()),
        cli::Command::Signoff(s) => signoff(s),
        cli::Command::Verify(v) => verify(v),
        cli::Command::Fleet { command } => fleet_cmd::dispatch(command, parse_now),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = e
                .downcast_ref::<shipshape::Error>()
                .map(shipshape::Error::exit_code)
                .unwrap_or(3);
            print_error(&format!("{e:#}"));
            code
        }
    }
}

/// Every error the same way: `error: ` before each line, on stderr (as clap prints its own).
fn print_error(text: &str) {
    for line in text.lines() {
        if line.starts_with("error: ") {
            eprintln!("{line}");
        } else {
            eprintln!("error: {line}");
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

/// The formats asked for, each once, in the order given.
fn formats(list: &[Format]) -> Vec<Format> {
    let mut out: Vec<Format> = Vec::new();
    for f in list {
        if !out.contains(f) {
            out.push(*f);
        }
    }
    out
}

fn write_outputs(
    bundle: &Bundle,
    formats: &[Format],
    out: &Path,
    templates: Option<&Path>,
    (signoffs, allowed_signers): (Vec<SignoffEntry>, Option<String>),
) -> anyhow::Result<Vec<String>> {
    let renderer = Renderer::new(templates)
        .map_err(|e| shipshape::Error::Usage(e.to_string()))?
        .with_signoffs(signoffs)
        .with_allowed_signers(allowed_signers);
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder `{}`", out.display()))?;
    // Keep the default output folder out of git without asking the user to edit .gitignore.
    let ignore = out.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(&ignore, "*\n");
    }
    let mut written = Vec::new();
    for f in formats {
        let path = out.join(f.file_name());
        let mut failed = None;
        let result = shipshape::write_atomic_with(&path, |w| {
            renderer.render(*f, bundle, w).map_err(|e| {
                let msg = e.to_string();
                failed = Some(msg.clone());
                std::io::Error::other(msg)
            })
        });
        if let Some(msg) = failed {
            return Err(anyhow::anyhow!(shipshape::Error::Tool(msg)));
        }
        result.map_err(|e| {
            shipshape::Error::Tool(format!("cannot write `{}`: {e}", path.display()))
        })?;
        written.push(path.display().to_string());
        shipshape::memtrace(&format!("wrote {}", f.file_name()));
        if *f == Format::Github {
            written.extend(github_extras(&bundle.report, &path, out)?);
        }
    }
    Ok(written)
}

/// GitHub Actions reads workflow commands from the step's stdout and the job summary from the
/// file `$GITHUB_STEP_SUMMARY` names: print the one, write (and append) the other.
fn github_extras(
    report: &shipshape::report::Report,
    commands: &Path,
    out: &Path,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(commands)?;
    print!("{text}");
    let summary = shipshape::report::ci::github_summary(report);
    let path = out.join("github-step-summary.md");
    shipshape::write_atomic(&path, summary.as_bytes())
        .map_err(|e| shipshape::Error::Tool(format!("cannot write `{}`: {e}", path.display())))?;
    let mut written = vec![path.display().to_string()];
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&step)
            .and_then(|mut f| f.write_all(summary.as_bytes()))
            .map_err(|e| {
                shipshape::Error::Tool(format!(
                    "cannot append to $GITHUB_STEP_SUMMARY `{}`: {e}",
                    Path::new(&step).display()
                ))
            })?;
        written.push(format!("{} (job summary)", Path::new(&step).display()));
    }
    Ok(written)
}

/// An audit never overwrites a bundle that was signed — by sign-offs beside it or by an
/// auditor's signature — unless `--force`: the signatures would then vouch for nothing.
fn refuse_signed_overwrite(out: &Path, force: bool) -> Result<(), shipshape::Error> {
    let bundle = out.join("report.json");
    let signed: Vec<std::path::PathBuf> = [
        out.join(shipshape::trust::signoff::LOG_NAME),
        shipshape::trust::auditor::sig_path(&bundle),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect();
    if force || !bundle.exists() || signed.is_empty() {
        return Ok(());
    }
    Err(shipshape::Error::Usage(format!(
        "`{}` is a signed bundle ({}): an audit will not overwrite it. Keep it, write this audit elsewhere (--out), or pass --force",
        bundle.display(),
        signed
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Read a bundle given on the command line; every problem is bad input (exit 2).
fn read_bundle(path: &Path) -> Result<Bundle, shipshape::Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        shipshape::Error::Usage(format!("cannot read bundle `{}`: {e}", path.display()))
    })?;
    let bundle = Bundle::from_json(&text)
        .map_err(|e| shipshape::Error::Usage(format!("{}: {e}", path.display())))?;
    let digest = bundle.digest();
    if digest != bundle.sha256 {
        return Err(shipshape::Error::Usage(format!(
            "{}: the bundle's sha256 does not match its content (edited or corrupted): it says {}, its content hashes to {digest}",
            path.display(),
            bundle.sha256
        )));
    }
    Ok(bundle)
}

fn audit(a: cli::AuditArgs, verbose: u8) -> anyhow::Result<i32> {
    let now = parse_now(a.now.as_deref())?;
    let formats = formats(&a.format);
    let fail_on = a.fail_on;
    if fail_on == FailOn::New && a.baseline.is_none() {
        return Err(shipshape::Error::Usage(
            "--fail-on new compares with a baseline: give --baseline OLD.json".into(),
        )
        .into());
    }
    let baseline = a.baseline.as_deref().map(read_bundle).transpose()?;
    if a.out == Path::new("-") && a.sign_key.is_some() {
        return Err(shipshape::Error::Usage(
            "--sign-key signs report.json, and --out - writes no files: give --out DIR".into(),
        )
        .into());
    }
    // Never over a bundle someone signed.
    refuse_signed_overwrite(&a.out, a.force)?;
    let opts = audit_options(&a, now);
    // A live display only for a person watching a terminal; logs (-v) replace it.
    let progress = commands::progress(a.quiet || verbose > 0);
    let progress_ref = progress
        .as_ref()
        .map(|p| p as &dyn shipshape::collect::Progress);
    let cluster = cluster_options(&a);
    let publish = a.publish.clone();
    let result = shipshape::run(&opts, publish, progress_ref, &cluster);
    drop(progress);
    let result = result?;
    let result = match &baseline {
        Some(old) => shipshape::AuditResult {
            bundle: diff::with_baseline(result.bundle, old, fail_on),
            ..result
        },
        None => result,
    };
    // `--out -`: the Markdown report on standard output, and no files.
    let to_stdout = a.out == Path::new("-");
    // A new audit starts unsigned.
    let mut written = if to_stdout {
        let renderer = Renderer::new(a.templates.as_deref())
            .map_err(|e| shipshape::Error::Usage(e.to_string()))?;
        let mut out = std::io::stdout().lock();
        renderer
            .render(Format::Markdown, &result.bundle, &mut out)
            .map_err(|e| shipshape::Error::Tool(e.to_string()))?;
        Vec::new()
    } else {
        write_outputs(
            &result.bundle,
            &formats,
            &a.out,
            a.templates.as_deref(),
            (vec![], None),
        )?
    };
    if a.publish.is_some() {
        written.extend(publish_report(&result, a.templates.as_deref())?);
    }
    let bundle = result.bundle;
    if let Some(key) = &a.sign_key {
        if !formats.contains(&Format::Json) {
            return Err(shipshape::Error::Usage(
                "--sign-key signs report.json: include json in --format".into(),
            )
            .into());
        }
        let sig = shipshape::trust::auditor::sign(&a.out.join("report.json"), &bundle, key)
            .map_err(|e| shipshape::Error::Tool(format!("--sign-key: {e}")))?;
        written.push(format!("{} (auditor signature)", sig.display()));
    }
    let fails = diff::gate_fails(&bundle.report, fail_on);
    if a.quiet {
        println!("{}", verdict_line(&bundle.report, &Paint::detect()));
    } else if to_stdout {
        // Standard output holds the report; the summary goes to the terminal's other stream.
        eprintln!("{}", verdict_line(&bundle.report, &Paint(false)));
    } else {
        print!(
            "{}",
            terminal::summary(&bundle, &written, a.skip_commands, &Paint::detect())
        );
        if fails && bundle.report.verdict == Verdict::Approved {
            println!(
                "  gate: --fail-on {} fails this run (see the warnings above)",
                a.fail_on.as_str()
            );
        }
    }
    // The bundle holds every collected object (45 MB of JSON at 10,000 Kubernetes objects):
    // freeing it tree by tree just before the process exits costs a noticeable share of the
    // run, and the OS reclaims it anyway.
    std::mem::forget(bundle);
    Ok(if fails { 1 } else { 0 })
}

/// The library's audit options from the command line.
fn audit_options(a: &cli::AuditArgs, now: DateTime<Utc>) -> shipshape::AuditOptions {
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    shipshape::AuditOptions {
        path: a.path.clone(),
        policy: a.policy.clone(),
        env: a.env.clone(),
        now,
        jobs,
        skip_commands: a.skip_commands,
        max_file_bytes: a.max_file_bytes,
        waivers: a.waivers.clone(),
        only_rules: a.rules.clone(),
        cache_dir: if a.no_cache {
            None
        } else {
            a.cache_dir
                .clone()
                .or_else(shipshape::collect::cache::default_dir)
        },
    }
}

/// Where cluster evidence comes from, as the command line says.
fn cluster_options(a: &cli::AuditArgs) -> shipshape::collect::cluster::CliOptions {
    shipshape::collect::cluster::CliOptions {
        snapshots: a.cluster_snapshot.clone(),
        context: a.context.clone(),
        namespaces: a.namespace.clone(),
        in_cluster: a.in_cluster,
        kubeconfig: a.kubeconfig.clone(),
        manifests: a.manifests.clone(),
        objects_from: a.objects_from.clone(),
    }
}

/// `--publish`: the Markdown report into the repository's audit folder; what was written.
fn publish_report(
    result: &shipshape::AuditResult,
    templates: Option<&Path>,
) -> Result<Vec<String>, shipshape::Error> {
    let renderer = Renderer::new(templates).map_err(|e| shipshape::Error::Usage(e.to_string()))?;
    let mut md = Vec::new();
    renderer
        .markdown(&result.bundle.report, &mut md)
        .map_err(|e| shipshape::Error::Tool(e.to_string()))?;
    let published = shipshape::publish(result, &String::from_utf8_lossy(&md))?;
    let mut written = Vec::new();
    if published.written.is_empty() {
        written.push(format!(
            "{} (published; unchanged)",
            published.audit.display()
        ));
    }
    for p in &published.written {
        written.push(format!("{} (published)", p.display()));
    }
    for (p, why) in &published.ignored {
        eprintln!(
            "warning: {} looks like a published audit but was not indexed or superseded: {why}",
            p.display()
        );
    }
    Ok(written)
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
            print_error(&e.to_string());
            eprintln!("{} problem(s) in {file}", e.0.len());
            Ok(2)
        }
    }
}

/// The verifier's requirements from its own command line.
fn demands(v: &cli::VerifyArgs) -> Result<shipshape::trust::verify::Demands, String> {
    use shipshape::trust::verify::{Demands, parse_duration, parse_signoff};
    let max_age = match &v.max_age {
        Some(s) => Some(
            parse_duration(s)
                .ok_or_else(|| format!("--max-age `{s}` is not a duration (30m, 24h, 7d)"))?,
        ),
        None => None,
    };
    let signoffs = v
        .require_signoff
        .iter()
        .map(|s| {
            parse_signoff(s).ok_or_else(|| format!("--require-signoff `{s}` is not ROLE or ROLE=N"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let at = match &v.now {
        Some(n) => chrono::DateTime::parse_from_rfc3339(n)
            .map_err(|e| format!("--now `{n}`: {e}"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    if let Some(m) = v.min_score
        && !(0.0..=10.0).contains(&m)
    {
        return Err(format!("--min-score {m} is not between 0 and 10"));
    }
    Ok(Demands {
        policy_sha256: v.policy_sha256.clone(),
        central_sha256: v.central_sha256.clone(),
        env: v.env.clone(),
        min_score: v.min_score,
        max_age,
        at,
        signoffs,
        allow_cached: v.allow_cached,
        allow_pending: v.allow_pending,
        allow_simulated: v.allow_simulated,
        auditor: v.require_auditor.clone(),
    })
}

fn git_last_change(repo: &Path, paths: &[String]) -> anyhow::Result<i32> {
    for (path, found) in shipshape::collect::git::last_changes_at(repo, paths)? {
        match found {
            Ok(c) => println!("{path}\t{}\t{}", c.iso_strict(), c.sha),
            Err(miss) => println!("{path}\t-\t{miss:?}"),
        }
    }
    Ok(0)
}

fn render(r: cli::RenderArgs) -> anyhow::Result<i32> {
    let formats = formats(&r.format);
    let bundle = match read_bundle(&r.bundle) {
        Ok(b) => b,
        Err(e) => {
            print_error(&e.to_string());
            return Ok(2);
        }
    };
    // The in-toto statement lists the sign-offs logged beside the bundle (for that bundle only).
    let log = r
        .bundle
        .parent()
        .unwrap_or(Path::new("."))
        .join(signoff::LOG_NAME);
    let signoffs = signoff::read_log(&log).map(|x| x.0).unwrap_or_default();
    let allowed = match &r.allowed_signers {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            shipshape::Error::Usage(format!("--allowed-signers `{}`: {e}", p.display()))
        })?),
        None => None,
    };
    let block = shipshape::report::signoffs::block(
        &bundle.report,
        &bundle.sha256,
        &signoffs,
        allowed.as_deref(),
    );
    let written = write_outputs(
        &bundle,
        &formats,
        &r.out,
        r.templates.as_deref(),
        (signoffs, allowed),
    )?;
    for line in signoff_lines(&block) {
        println!("{line}");
    }
    for w in written {
        println!("wrote {w}");
    }
    Ok(0)
}

fn diff(d: cli::DiffArgs) -> anyhow::Result<i32> {
    let (old, new) = match (read_bundle(&d.old), read_bundle(&d.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            print_error(&e.to_string());
            return Ok(2);
        }
    };
    let changes = diff::diff(&old.report, &new.report);
    let text = match d.format.as_str() {
        "md" => diff::to_markdown(&changes),
        _ => diff::to_text(&changes),
    };
    print!("{text}");
    Ok(if changes.regression { 1 } else { 0 })
}

fn signoff(s: cli::SignoffArgs) -> anyhow::Result<i32> {
    let bundle = match read_bundle(&s.bundle) {
        Ok(b) => b,
        Err(e) => {
            print_error(&e.to_string());
            return Ok(2);
        }
    };
    let now = parse_now(s.now.as_deref())?;
    let entry = signoff::sign_off(signoff::SignoffRequest {
        bundle_sha256: &bundle.sha256,
        identity: s.identity.clone(),
        role: &s.role,
        decision: s.decision,
        comment: s.comment.clone(),
        now,
        key: &s.key,
    })
    .map_err(|e| shipshape::Error::Usage(e.to_string()))?;
    let log = s.signoffs.clone().unwrap_or_else(|| {
        s.bundle
            .parent()
            .unwrap_or(Path::new("."))
            .join(signoff::LOG_NAME)
    });
    signoff::append(&log, &entry)
        .with_context(|| format!("cannot append to `{}`", log.display()))?;
    println!(
        "signed off bundle {} as `{}` ({}) by {} → {}",
        entry.bundle_sha256,
        entry.role,
        entry.decision.as_str(),
        entry.identity,
        log.display()
    );
    if bundle.report.verdict != Verdict::Approved {
        println!(
            "  note: the bundle's verdict is {}; `shipshape verify` will refuse it whatever the sign-offs",
            bundle.report.verdict_text
        );
    }
    Ok(0)
}

fn verify(v: cli::VerifyArgs) -> anyhow::Result<i32> {
    use shipshape::trust::verify::{VerifyOptions, verify};
    let demands = match demands(&v) {
        Ok(d) => d,
        Err(e) => {
            print_error(&format!("verify: {e}"));
            return Ok(2);
        }
    };
    let result = verify(&VerifyOptions {
        bundle: v.bundle.clone(),
        commit: v.commit.clone(),
        images: v.image.clone(),
        allowed_signers: v.allowed_signers.clone(),
        signoffs: v.signoffs.clone(),
        demands,
    });
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            print_error(&format!("verify: {e}"));
            return Ok(2);
        }
    };
    let paint = Paint::detect();
    if r.ok() {
        println!(
            "shipshape verify: {} — {} may ship at commit {}",
            paint.on("1;32", "✅ VERIFIED"),
            v.bundle.display(),
            v.commit
        );
    } else {
        println!(
            "shipshape verify: {} — {} does not vouch for this release:",
            paint.on("1;31", "❌ NOT VERIFIED"),
            v.bundle.display()
        );
        for f in &r.failures {
            println!("  ✗ {f}");
        }
    }
    for n in &r.notes {
        println!("  · {n}");
    }
    Ok(if r.ok() { 0 } else { 1 })
}
