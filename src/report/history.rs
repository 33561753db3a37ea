//! How readiness moved across releases: the published audits in the repository (and a bundle
//! published beside one, when present) read back into rows of date, version, verdict, score
//! and blocking gaps, plus this audit; and the inline SVG chart the HTML report draws from them.

use std::path::Path;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Report;
use super::publish::{is_audit_name, stated_summary, strip_superseded_note, unseal};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryRow {
    pub date: String,
    /// The published file (empty for this audit).
    pub audit: String,
    pub version: String,
    pub verdict: String,
    pub score: Option<f64>,
    /// `7.3/10`, or `—` when the audit states no score.
    pub score_shown: String,
    pub blocking_gaps: Option<usize>,
    /// `sealed` (published by shipshape, unchanged), `bundle` (read from its bundle),
    /// `unsealed` (a document named like an audit; what it states, unverified) or `this audit`.
    pub source: String,
}

/// Rows of the published audits in `dir` (inside `root`) dated before this audit's day, oldest
/// first, then this audit. Unreadable files are left out; nothing here is evidence for a rule.
pub fn collect(root: &Path, boundary: &Path, dir: &str, report: &Report) -> Vec<HistoryRow> {
    let mut rows = Vec::new();
    let folder = root.join(dir);
    // Never read a folder that leads out of the repository.
    let inside = std::fs::canonicalize(&folder).is_ok_and(|f| f.starts_with(boundary));
    let listing = if inside {
        std::fs::read_dir(&folder).ok()
    } else {
        None
    };
    let Some(listing) = listing else {
        rows.push(this_audit(report));
        return rows;
    };
    let mut names: Vec<String> = listing
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| is_audit_name(n))
        .collect();
    names.sort();
    for name in names {
        let Some(date) = date_of(&name) else { continue };
        // Earlier days only: an audit published today may be this very audit (publishing
        // again must change no byte), and a later date is not history yet.
        if date >= report.date {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(folder.join(&name)) else {
            continue;
        };
        let body = strip_superseded_note(&text);
        let bundle = folder.join(name.replace(".md", ".json"));
        let mut row = from_markdown(&date, &name, body);
        if let Some(b) = read_bundle(&bundle) {
            row.verdict = b.verdict_text.clone();
            row.score = b.score.value.is_finite().then_some(b.score.value);
            row.score_shown = shown(row.score);
            row.blocking_gaps = Some(b.blocking_gaps.len());
            row.source = "bundle".into();
        }
        rows.push(row);
    }
    rows.push(this_audit(report));
    rows
}

fn this_audit(report: &Report) -> HistoryRow {
    HistoryRow {
        date: report.date.clone(),
        audit: String::new(),
        version: report
            .provenance
            .repository
            .as_ref()
            .map(|h| format!("commit {}", h.short))
            .unwrap_or_else(|| "—".into()),
        verdict: report.verdict_text.clone(),
        score: report.score.value.is_finite().then_some(report.score.value),
        score_shown: format!("{}/10", report.score.shown),
        blocking_gaps: Some(report.blocking_gaps.len()),
        source: "this audit".into(),
    }
}

fn shown(score: Option<f64>) -> String {
    score
        .map(|s| format!("{s:.1}/10"))
        .unwrap_or_else(|| "—".into())
}

fn read_bundle(path: &Path) -> Option<Report> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(v.get("report")?.clone()).ok()
}

fn date_of(name: &str) -> Option<String> {
    let d = Regex::new(r"(\d{4})(\d{2})(\d{2})").ok()?.captures(name)?;
    Some(format!("{}-{}-{}", &d[1], &d[2], &d[3]))
}

fn version_in(text: &str) -> Option<String> {
    Regex::new(r"(?m)^(?:Release under review|Version|Release):\s*`?v?([0-9][0-9A-Za-z.+-]*)")
        .ok()?
        .captures(text)
        .map(|c| c[1].to_string())
}

/// What a published audit states: a shipshape report's summary line, or the wording of a
/// hand-written audit (`Final verdict: **NOT APPROVED**`, `**7.3/10**`, numbered blocking gaps).
fn from_markdown(date: &str, name: &str, body: &str) -> HistoryRow {
    let sealed = unseal(body).is_ok();
    let (verdict, score) = match stated_summary(body) {
        Some((verdict, score)) => (verdict, score.parse().ok()),
        None => (
            Regex::new(r"(?i)verdict:?\s*\**\s*(NOT APPROVED|APPROVED)")
                .expect("static regex")
                .captures(body)
                .map(|c| c[1].to_ascii_uppercase())
                .unwrap_or_else(|| "—".into()),
            Regex::new(r"\*\*([0-9]+(?:\.[0-9]+)?)/10\*\*")
                .expect("static regex")
                .captures(body)
                .and_then(|c| c[1].parse().ok()),
        ),
    };
    let blocking = Regex::new(r"Blocking gaps: (\d+)\.")
        .expect("static regex")
        .captures(body)
        .and_then(|c| c[1].parse().ok())
        .or_else(|| numbered_items_under(body, "Blocking Gaps"));
    HistoryRow {
        date: date.to_string(),
        audit: name.to_string(),
        version: version_in(body).unwrap_or_else(|| "—".into()),
        verdict,
        score,
        score_shown: shown(score),
        blocking_gaps: blocking,
        source: if sealed { "sealed" } else { "unsealed" }.into(),
    }
}

/// The number of list items under the first heading containing `title`.
fn numbered_items_under(body: &str, title: &str) -> Option<usize> {
    let mut lines = body
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.contains(title)));
    lines.next()?;
    Some(
        lines
            .take_while(|l| !l.starts_with('#'))
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with("- ")
                    || t.split_once(". ")
                        .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            })
            .filter(|l| !l.starts_with("  "))
            .count(),
    )
}

/// An inline SVG of score (line, 0–10) and blocking gaps (bars) over the rows: no script,
/// with a title and a description that states every point in words.
pub fn svg(rows: &[HistoryRow]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 220.0, 44.0, 44.0, 16.0, 40.0);
    let n = rows.len().max(1) as f64;
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let x = |i: usize| left + plot_w * (i as f64 + 0.5) / n;
    let max_gaps = rows
        .iter()
        .filter_map(|r| r.blocking_gaps)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let esc = super::render::html_escape;
    let desc: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}: {}, score {}, {} blocking gap(s)",
                r.date,
                r.verdict,
                r.score
                    .map(|s| format!("{s:.1}/10"))
                    .unwrap_or_else(|| "unknown".into()),
                r.blocking_gaps
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "unknown".into())
            )
        })
        .collect();
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"history-title history-desc\" class=\"history-chart\">\n<title id=\"history-title\">Readiness score and blocking gaps per audit</title>\n<desc id=\"history-desc\">{}</desc>\n",
        esc(&desc.join("; "))
    );
    s.push_str(&format!(
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#d0d7de\"/>\n"
    ));
    for tick in [0.0, 5.0, 8.0, 10.0] {
        let y = top + plot_h * (1.0 - tick / 10.0);
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{tick}</text>\n",
            w - right,
            left - 6.0,
            y + 4.0
        ));
    }
    let bar_w = (plot_w / n * 0.35).min(28.0);
    for (i, r) in rows.iter().enumerate() {
        if let Some(g) = r.blocking_gaps {
            let bh = plot_h * g as f64 / max_gaps;
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{bh:.1}\" fill=\"#cf222e\" fill-opacity=\"0.35\"><title>{}: {g} blocking gap(s)</title></rect>\n",
                x(i) - bar_w / 2.0,
                top + plot_h - bh,
                esc(&r.date)
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
            x(i),
            h - bottom + 16.0,
            esc(&r.date)
        ));
    }
    let points: Vec<String> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.score.map(|v| {
                format!(
                    "{:.1},{:.1}",
                    x(i),
                    top + plot_h * (1.0 - v.clamp(0.0, 10.0) / 10.0)
                )
            })
        })
        .collect();
    if points.len() > 1 {
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>\n",
            points.join(" ")
        ));
    }
    for p in &points {
        let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
        s.push_str(&format!(
            "<circle cx=\"{px}\" cy=\"{py}\" r=\"4\" fill=\"#0969da\"/>\n"
        ));
    }
    s.push_str(&format!(
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\" fill=\"#0969da\">— score (0–10)</text><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#cf222e\" text-anchor=\"end\">▮ blocking gaps (max {max_gaps})</text>\n</svg>",
        h - 4.0,
        w - right,
        h - 4.0
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_written_audit_is_read_for_what_it_states() {
        let body = "# Audit\nRelease under review: 0.2.2\n\nFinal verdict: **NOT APPROVED**\n\n**7.3/10**\n\n### Blocking Gaps (Must Fix)\n\n1. one\n2. two\n   detail\n\n### Next\n";
        let r = from_markdown(
            "2026-02-09",
            "final-production-readiness-audit-20260209.md",
            body,
        );
        assert_eq!(r.verdict, "NOT APPROVED");
        assert_eq!(r.score, Some(7.3));
        assert_eq!(r.blocking_gaps, Some(2));
        assert_eq!(r.version, "0.2.2");
        assert_eq!(r.source, "unsealed");
    }

    #[test]
    fn the_chart_states_every_point_in_words() {
        let rows = vec![
            HistoryRow {
                date: "2026-01-01".into(),
                audit: "a".into(),
                version: "—".into(),
                verdict: "NOT APPROVED".into(),
                score: Some(6.0),
                score_shown: "6.0/10".into(),
                blocking_gaps: Some(3),
                source: "sealed".into(),
            },
            HistoryRow {
                date: "2026-02-01".into(),
                audit: String::new(),
                version: "—".into(),
                verdict: "APPROVED".into(),
                score: Some(9.0),
                score_shown: "9.0/10".into(),
                blocking_gaps: Some(0),
                source: "this audit".into(),
            },
        ];
        let s = svg(&rows);
        assert!(s.contains("2026-01-01: NOT APPROVED, score 6.0/10, 3 blocking gap(s); 2026-02-01: APPROVED, score 9.0/10, 0 blocking gap(s)"));
        assert!(s.contains("<polyline") && !s.contains("<script"));
    }
}
