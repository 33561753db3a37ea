//! Outputs CI systems read natively, from the same findings SARIF carries: GitHub Actions
//! workflow commands (`::error file=…,line=…,title=…::message`) and a job-summary Markdown for
//! `$GITHUB_STEP_SUMMARY`; GitLab Code Quality JSON (the report artifact merge requests show).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Finding, Report};
use crate::evaluate::Status;
use crate::policy::model::Severity;

/// Workflow-command escaping of a property value (`%`, CR, LF, `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Workflow-command escaping of the message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_level(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "notice",
        (_, Severity::Blocking) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "notice",
    }
}

/// One workflow command per active finding, then one line with the verdict.
pub fn write_github(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings.iter().filter(|f| f.active()) {
        let mut props = Vec::new();
        if let Some(p) = &f.path {
            props.push(format!("file={}", escape_property(p)));
            if let Some(l) = f.line {
                props.push(format!("line={l}"));
            }
        }
        let status = if f.status == Status::Pending {
            " (pending: evidence not collected)"
        } else {
            ""
        };
        props.push(format!(
            "title={}",
            escape_property(&format!("{} [{}]{status}", f.title, f.rule))
        ));
        writeln!(
            out,
            "::{} {}::{}",
            gh_level(f),
            props.join(","),
            escape_data(&f.message)
        )?;
    }
    let level = if report.verdict == crate::evaluate::score::Verdict::Approved {
        "notice"
    } else {
        "error"
    };
    writeln!(
        out,
        "::{level} title={}::{}",
        escape_property(&format!("shipshape: {}", report.verdict_text)),
        escape_data(&format!(
            "score {}/10 (approval needs {}); {} blocking and {} non-blocking gap(s)",
            report.score.shown,
            report.score.threshold,
            report.blocking_gaps.len(),
            report.nonblocking_gaps.len()
        ))
    )
}

/// The job summary: verdict, score and every gap, in GitHub-flavoured Markdown.
pub fn github_summary(report: &Report) -> String {
    let mut s = format!(
        "## {} {} — {}\n\nScore **{}/10** (approval needs {}), evidence coverage {}. {} rules: {} pass, {} fail, {} pending, {} waived.\n\n",
        if report.verdict_text == "APPROVED" {
            "✅"
        } else {
            "❌"
        },
        report.title,
        report.verdict_text,
        report.score.shown,
        report.score.threshold,
        report.score.coverage_shown,
        report.counts.rules,
        report.counts.pass,
        report.counts.fail,
        report.counts.pending,
        report.counts.waived
    );
    for (title, gaps) in [
        ("Blocking gaps", &report.blocking_gaps),
        ("Non-blocking gaps", &report.nonblocking_gaps),
    ] {
        if gaps.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "### {title}\n\n| Status | Rule | Why |\n|---|---|---|\n"
        ));
        for g in gaps {
            s.push_str(&format!(
                "| {} {} | {} (`{}`) | {} |\n",
                g.icon,
                g.word,
                cell(&g.title),
                g.rule,
                cell(&g.sentence)
            ));
        }
        s.push('\n');
    }
    s
}

/// A table cell: pipes escaped, one line, and `<`/`>` as entities (GitHub drops unknown tags
/// such as `<fill-me>`).
fn cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn gl_severity(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "info",
        (_, Severity::Blocking) => "blocker",
        (_, Severity::Warning) => "major",
        (_, Severity::Info) => "info",
    }
}

/// GitLab Code Quality: an array of issues, each with `description`, `check_name`,
/// `fingerprint`, `severity` and `location.path` / `location.lines.begin`. A finding without a
/// file points at the policy file, so it still shows.
pub fn gitlab_value(report: &Report) -> Value {
    let policy = report
        .provenance
        .policy
        .trim_start_matches("./")
        .to_string();
    let issues: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.active())
        .map(|f| {
            json!({
                "type": "issue",
                "description": format!("{}: {}", f.title, f.message),
                "check_name": f.rule,
                "fingerprint": f.fingerprint,
                "severity": gl_severity(f),
                "categories": ["Compatibility"],
                "location": {
                    "path": f.path.clone().unwrap_or_else(|| policy.clone()),
                    "lines": {"begin": f.line.unwrap_or(1)},
                },
            })
        })
        .collect();
    Value::Array(issues)
}

pub fn write_gitlab(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &gitlab_value(report))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_are_escaped() {
        assert_eq!(escape_property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
    }
}
