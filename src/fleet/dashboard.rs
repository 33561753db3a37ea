//! `fleet report`: every target's bundle in one answer to "which of them may ship, and what
//! blocks the rest?" — verdict, score, blocking gaps, evidence age, policy digest and sign-offs
//! per target, the rules that fail most, targets whose audit is missing, failed or stale (never
//! silently absent), and the trend from earlier reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Fleet;
use super::run::{TARGET_FILE, TargetRecord, read_record};

/// One target's line on the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub id: String,
    /// `approved`, `not-approved`, `failed` (the audit could not run), `missing` (no bundle),
    /// or `stale` (a bundle older than the fleet's `stale_after_hours`).
    pub state: String,
    pub verdict: Option<String>,
    pub score: Option<String>,
    pub blocking: Vec<String>,
    /// Why it is not approved, when no blocking gap says it (the score below the threshold).
    pub reasons: Vec<String>,
    pub age_hours: Option<i64>,
    pub policy_sha256: Option<String>,
    pub commit: Option<String>,
    /// Entries in the bundle's sign-off log (verify them with `shipshape verify`).
    pub signoffs: usize,
    pub error: Option<String>,
    /// Verdicts of earlier reports, oldest first, this one last.
    pub trend: Vec<String>,
}

/// The whole dashboard, as `fleet.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dashboard {
    /// `shipshape-fleet/1`.
    pub format: String,
    pub name: String,
    pub now: String,
    pub total: usize,
    pub approved: usize,
    pub rows: Vec<Row>,
    /// (rule, targets it blocks or warns on), most first.
    pub failing_rules: Vec<(String, usize)>,
    /// (date, approved, total) of every report so far, this one last.
    pub history: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryPoint {
    pub now: String,
    pub approved: usize,
    pub total: usize,
    /// target id → verdict (or state) then.
    pub states: BTreeMap<String, String>,
}

/// What `fleet report` reads of a bundle: a few fields of a large file.
#[derive(Deserialize)]
struct BundleHead {
    report: ReportHead,
}

#[derive(Deserialize)]
struct ReportHead {
    now: String,
    verdict: String,
    #[serde(default)]
    reasons: Vec<String>,
    score: ScoreHead,
    blocking_gaps: Vec<GapHead>,
    nonblocking_gaps: Vec<GapHead>,
    provenance: ProvenanceHead,
}

#[derive(Deserialize)]
struct ScoreHead {
    shown: String,
}

#[derive(Deserialize)]
struct GapHead {
    rule: String,
}

#[derive(Deserialize)]
struct ProvenanceHead {
    policy_sha256: String,
    repository: Option<RepoHead>,
}

#[derive(Deserialize)]
struct RepoHead {
    sha: String,
}

/// Read every target's folder under `dir` (in parallel over `jobs` threads) and build the
/// dashboard at `now`, with `history` (earlier points) before this one.
pub fn build(
    fleet: &Fleet,
    dir: &Path,
    now: DateTime<Utc>,
    jobs: usize,
    history: Vec<HistoryPoint>,
) -> Dashboard {
    let ids: Vec<&str> = fleet.targets.iter().map(|t| t.id.as_str()).collect();
    let mut read: Vec<(Row, Vec<String>)> = Vec::with_capacity(ids.len());
    let chunk = ids.len().div_ceil(jobs.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|id| row(id, &dir.join(id), now, fleet.stale_after_hours))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            read.extend(h.join().unwrap_or_default());
        }
    });
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    for (_, gaps) in &read {
        for rule in gaps {
            *failing.entry(rule.clone()).or_default() += 1;
        }
    }
    let mut failing_rules: Vec<(String, usize)> = failing.into_iter().collect();
    failing_rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut rows: Vec<Row> = read.into_iter().map(|(r, _)| r).collect();
    let approved = rows.iter().filter(|r| r.state == "approved").count();
    let point = HistoryPoint {
        now: crate::collect::cluster::rfc3339(now),
        approved,
        total: rows.len(),
        states: rows
            .iter()
            .map(|r| (r.id.clone(), r.state.clone()))
            .collect(),
    };
    let mut history: Vec<HistoryPoint> =
        history.into_iter().filter(|h| h.now != point.now).collect();
    history.push(point);
    for r in &mut rows {
        r.trend = history
            .iter()
            .map(|h| h.states.get(&r.id).cloned().unwrap_or_else(|| "—".into()))
            .collect();
    }
    Dashboard {
        format: "shipshape-fleet/1".into(),
        name: fleet.name.clone(),
        now: crate::collect::cluster::rfc3339(now),
        total: rows.len(),
        approved,
        rows,
        failing_rules,
        history,
    }
}

/// One target's row, and every gap rule id of its bundle (for the most-failing table).
fn row(id: &str, dir: &Path, now: DateTime<Utc>, stale_after_hours: u64) -> (Row, Vec<String>) {
    let record: Option<TargetRecord> = read_record(dir);
    let mut row = Row {
        id: id.to_string(),
        state: "missing".into(),
        verdict: None,
        score: None,
        blocking: Vec::new(),
        reasons: Vec::new(),
        age_hours: None,
        policy_sha256: None,
        commit: record.as_ref().and_then(|r| r.commit.clone()),
        signoffs: std::fs::read_to_string(dir.join(crate::trust::signoff::LOG_NAME))
            .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(0),
        error: None,
        trend: Vec::new(),
    };
    if let Some(err) = record.as_ref().and_then(|r| r.error.clone()) {
        row.state = "failed".into();
        row.error = Some(err);
        return (row, Vec::new());
    }
    let head: BundleHead = match std::fs::read(dir.join("report.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(h) => h,
        Err(e) => {
            if dir.join("report.json").exists() {
                row.state = "failed".into();
                row.error = Some(format!("report.json does not parse: {e}"));
            } else if dir.join(TARGET_FILE).exists() || dir.exists() {
                row.error = Some("no report.json".into());
            }
            return (row, Vec::new());
        }
    };
    let r = head.report;
    row.verdict = Some(r.verdict.clone());
    row.score = Some(r.score.shown);
    row.blocking = r.blocking_gaps.iter().map(|g| g.rule.clone()).collect();
    if row.blocking.is_empty() && r.verdict != "APPROVED" {
        row.reasons = r.reasons.clone();
    }
    row.policy_sha256 = Some(r.provenance.policy_sha256);
    if row.commit.is_none() {
        row.commit = r.provenance.repository.map(|h| h.sha);
    }
    row.age_hours = DateTime::parse_from_rfc3339(&r.now)
        .ok()
        .map(|t| (now - t.with_timezone(&Utc)).num_hours());
    row.state = if row.age_hours.is_some_and(|h| h > stale_after_hours as i64) {
        "stale".into()
    } else if r.verdict == "APPROVED" {
        "approved".into()
    } else {
        "not-approved".into()
    };
    let gaps = r
        .blocking_gaps
        .into_iter()
        .chain(r.nonblocking_gaps)
        .map(|g| g.rule)
        .collect();
    (row, gaps)
}

/// The history file's earlier points (one JSON object a line); none when absent.
pub fn read_history(path: &Path) -> Result<Vec<HistoryPoint>, crate::Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(crate::Error::Tool(format!(
                "cannot read `{}`: {e}",
                path.display()
            )));
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                crate::Error::Usage(format!(
                    "{}:{}: not a history point: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Every point of the dashboard's history, one a line, replacing `path`.
pub fn write_history(path: &Path, d: &Dashboard) -> Result<(), crate::Error> {
    let mut text = String::new();
    for p in &d.history {
        text.push_str(&serde_json::to_string(p).map_err(|e| crate::Error::Tool(e.to_string()))?);
        text.push('\n');
    }
    crate::write_atomic_with(path, |w| w.write_all(text.as_bytes()))
        .map_err(|e| crate::Error::Tool(format!("cannot write `{}`: {e}", path.display())))
}

fn state_word(state: &str) -> &'static str {
    match state {
        "approved" => "✅ approved",
        "not-approved" => "❌ not approved",
        "failed" => "💥 audit failed",
        "stale" => "⌛ stale",
        _ => "❓ missing",
    }
}

/// The state, and for a stale bundle what it said then.
fn state_text(r: &Row) -> String {
    match (r.state.as_str(), r.verdict.as_deref()) {
        ("stale", Some(v)) => format!(
            "⌛ stale (was {})",
            if v == "APPROVED" {
                "approved"
            } else {
                "not approved"
            }
        ),
        (s, _) => state_word(s).to_string(),
    }
}

/// The dashboard as Markdown.
pub fn markdown(d: &Dashboard) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Fleet: {}\n", d.name);
    let _ = writeln!(
        s,
        "{} of {} targets may ship ({}). Report of {}.\n",
        d.approved,
        d.total,
        percent(d.approved, d.total),
        d.now
    );
    let attention: Vec<&Row> = d
        .rows
        .iter()
        .filter(|r| matches!(r.state.as_str(), "missing" | "failed" | "stale"))
        .collect();
    if !attention.is_empty() {
        let _ = writeln!(
            s,
            "**Not audited as they should be:** {}\n",
            attention
                .iter()
                .map(|r| format!("`{}` ({})", r.id, state_word(&r.state)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s.push_str("| target | state | score | blocking gaps | evidence age | policy | commit | sign-offs | trend |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in &d.rows {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            state_text(r),
            r.score.as_deref().unwrap_or("—"),
            blocking_text(r).replace('|', "\\|"),
            r.age_hours.map_or("—".into(), |h| format!("{h} h")),
            r.policy_sha256
                .as_deref()
                .map_or("—".into(), |p| format!("`{}`", short(p))),
            r.commit
                .as_deref()
                .map_or("—".into(), |c| format!("`{}`", short(c))),
            r.signoffs,
            trend_text(&r.trend),
        );
    }
    if !d.failing_rules.is_empty() {
        s.push_str("\n## Rules that fail most\n\n| rule | targets |\n|---|---|\n");
        for (rule, n) in d.failing_rules.iter().take(20) {
            let _ = writeln!(s, "| `{rule}` | {n} |");
        }
    }
    s.push_str("\n## Approval rate over time\n\n| report | approved |\n|---|---|\n");
    for p in &d.history {
        let _ = writeln!(
            s,
            "| {} | {} of {} ({}) |",
            p.now,
            p.approved,
            p.total,
            percent(p.approved, p.total)
        );
    }
    s
}

fn blocking_text(r: &Row) -> String {
    match (&r.error, r.blocking.is_empty()) {
        (Some(e), _) => e.lines().next().unwrap_or("").to_string(),
        (None, true) if !r.reasons.is_empty() => r.reasons.join("; "),
        (None, true) => "—".into(),
        (None, false) => r
            .blocking
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn trend_text(trend: &[String]) -> String {
    trend
        .iter()
        .rev()
        .take(10)
        .rev()
        .map(|s| match s.as_str() {
            "approved" => "✅",
            "not-approved" => "❌",
            "failed" => "💥",
            "stale" => "⌛",
            "missing" => "❓",
            _ => "·",
        })
        .collect()
}

fn short(s: &str) -> &str {
    &s[..s.len().min(12)]
}

fn percent(n: usize, total: usize) -> String {
    if total == 0 {
        "—".into()
    } else {
        format!("{:.0}%", n as f64 * 100.0 / total as f64)
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The dashboard as one HTML page without JavaScript, the approval rate as inline SVG.
pub fn html(d: &Dashboard) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fleet: {name}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}}table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #ccd;padding:.3rem .6rem;text-align:left;vertical-align:top}}th{{background:#f3f4f6}}tr.approved td:nth-child(2){{color:#116329}}tr.not-approved td:nth-child(2),tr.failed td:nth-child(2){{color:#a40e26}}tr.stale td:nth-child(2),tr.missing td:nth-child(2){{color:#7d4e00}}code{{font-size:.9em}}</style></head><body>\n<h1>Fleet: {name}</h1>\n<p><strong>{a} of {t}</strong> targets may ship ({p}). Report of {now}.</p>\n",
        name = esc(&d.name),
        a = d.approved,
        t = d.total,
        p = percent(d.approved, d.total),
        now = esc(&d.now)
    );
    s.push_str(&svg(&d.history));
    s.push_str("<table><thead><tr><th>target</th><th>state</th><th>score</th><th>blocking gaps</th><th>evidence age</th><th>policy</th><th>commit</th><th>sign-offs</th><th>trend</th></tr></thead><tbody>\n");
    for r in &d.rows {
        let _ = writeln!(
            s,
            "<tr class=\"{st}\"><td><code>{id}</code></td><td>{state}</td><td>{score}</td><td>{gaps}</td><td>{age}</td><td>{pol}</td><td>{commit}</td><td>{so}</td><td>{trend}</td></tr>",
            st = esc(&r.state),
            id = esc(&r.id),
            state = esc(&state_text(r)),
            score = esc(r.score.as_deref().unwrap_or("—")),
            gaps = esc(&blocking_text(r).replace('`', "")),
            age = r.age_hours.map_or("—".into(), |h| format!("{h} h")),
            pol = esc(r.policy_sha256.as_deref().map_or("—", short)),
            commit = esc(r.commit.as_deref().map_or("—", short)),
            so = r.signoffs,
            trend = esc(&trend_text(&r.trend)),
        );
    }
    s.push_str("</tbody></table>\n");
    if !d.failing_rules.is_empty() {
        s.push_str("<h2>Rules that fail most</h2>\n<table><thead><tr><th>rule</th><th>targets</th></tr></thead><tbody>\n");
        for (rule, n) in d.failing_rules.iter().take(20) {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{n}</td></tr>",
                esc(rule)
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</body></html>\n");
    s
}

/// The approval rate of every report so far as a line chart (0–100%).
fn svg(history: &[HistoryPoint]) -> String {
    let (w, h, pad) = (640.0_f64, 160.0_f64, 30.0_f64);
    let n = history.len();
    let x = |i: usize| {
        if n <= 1 {
            pad + (w - 2.0 * pad) / 2.0
        } else {
            pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64
        }
    };
    let y = |p: &HistoryPoint| {
        let rate = if p.total == 0 {
            0.0
        } else {
            p.approved as f64 / p.total as f64
        };
        h - pad - (h - 2.0 * pad) * rate
    };
    let points: Vec<String> = history
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p)))
        .collect();
    let mut s = format!(
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"approval rate over time\">\n<line x1=\"{pad}\" y1=\"{top}\" x2=\"{pad}\" y2=\"{bottom}\" stroke=\"#888\"/><line x1=\"{pad}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#888\"/>\n<text x=\"2\" y=\"{top}\" font-size=\"10\">100%</text><text x=\"8\" y=\"{bottom}\" font-size=\"10\">0%</text>\n",
        top = pad,
        bottom = h - pad,
        right = w - pad
    );
    if n > 1 {
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"#116329\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    for (i, p) in history.iter().enumerate() {
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#116329\"><title>{}: {} of {}</title></circle>",
            x(i),
            y(p),
            esc(&p.now),
            p.approved,
            p.total
        );
    }
    s.push_str("</svg><figcaption>Approval rate, report by report</figcaption></figure>\n");
    s
}

/// Where `fleet report` writes, and what.
pub fn write(d: &Dashboard, out: &Path, formats: &[&str]) -> Result<Vec<PathBuf>, crate::Error> {
    std::fs::create_dir_all(out)
        .map_err(|e| crate::Error::Tool(format!("cannot create `{}`: {e}", out.display())))?;
    let mut written = Vec::new();
    for f in formats {
        let (name, text) = match *f {
            "md" => ("fleet.md", markdown(d)),
            "html" => ("fleet.html", html(d)),
            "json" => (
                "fleet.json",
                serde_json::to_string_pretty(d).map_err(|e| crate::Error::Tool(e.to_string()))?
                    + "\n",
            ),
            other => {
                return Err(crate::Error::Usage(format!(
                    "unknown fleet report format `{other}` (md, html, json)"
                )));
            }
        };
        let path = out.join(name);
        crate::write_atomic_with(&path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| crate::Error::Tool(format!("cannot write `{}`: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}
