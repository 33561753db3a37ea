//! Comparing two audits by their findings' fingerprints: what is new, what was resolved, what
//! got worse, and how the score and verdict moved. Used by `shipshape diff` and by
//! `audit --baseline`, which stores the result in the report so every format can show it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Finding, Report};
use crate::evaluate::Status;
use crate::evaluate::score::Verdict;
use crate::policy::model::Severity;

/// A finding present in both audits that now counts for more than it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Regressed {
    /// The finding as it is now.
    pub finding: Finding,
    /// What it was in the baseline, e.g. `waived warning`.
    pub was: String,
}

/// What changed between a baseline audit and this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Changes {
    /// sha256 of the baseline bundle.
    pub baseline_sha256: String,
    /// Audit time of the baseline.
    pub baseline_now: String,
    pub baseline_verdict: Verdict,
    /// Baseline score as shown (one decimal).
    pub baseline_score: String,
    pub verdict: Verdict,
    pub score: String,
    /// Exact score difference (this audit minus the baseline), out of 10.
    pub score_delta: f64,
    /// Findings whose fingerprint the baseline does not have.
    pub new: Vec<Finding>,
    /// Baseline findings that are gone.
    pub resolved: Vec<Finding>,
    /// Findings in both that count for more now (a waiver lapsed, severity raised, waived→fail).
    pub regressed: Vec<Regressed>,
    /// Findings in both that count the same or less.
    pub unchanged: Vec<Finding>,
    /// True when a new or regressed finding is an active blocking one, or the verdict got worse.
    pub regression: bool,
    /// One sentence for people.
    pub summary: String,
    /// How the run's exit code used these changes (`audit --fail-on`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// "policy changed since the baseline: …" when the policy digests differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_changed: Option<String>,
}

/// How much a finding counts: waived < warning/info < blocking; pending and fail count alike.
fn weight(f: &Finding) -> u8 {
    if !f.active() {
        return 0;
    }
    match f.severity {
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Blocking => 3,
    }
}

fn describe(f: &Finding) -> String {
    let status = match f.status {
        Status::Waived => "waived",
        Status::Pending => "pending",
        _ => "failing",
    };
    format!("{status} {}", f.severity.as_str())
}

/// A new or regressed finding that blocks the release.
pub fn blocks(f: &Finding) -> bool {
    f.active() && f.severity == Severity::Blocking
}

/// Compare `old` (the baseline) with `new`.
pub fn diff(old: &Report, new: &Report) -> Changes {
    let before: BTreeMap<&str, &Finding> = old
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let after: BTreeMap<&str, &Finding> = new
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let mut changes = Changes {
        baseline_sha256: old.provenance.bundle_sha256.clone(),
        baseline_now: old.now.clone(),
        baseline_verdict: old.verdict,
        baseline_score: old.score.shown.clone(),
        verdict: new.verdict,
        score: new.score.shown.clone(),
        score_delta: new.score.value - old.score.value,
        new: Vec::new(),
        resolved: Vec::new(),
        regressed: Vec::new(),
        unchanged: Vec::new(),
        regression: false,
        summary: String::new(),
        gate: None,
        policy_changed: None,
    };
    // Keep the report's order (rule order, then place) rather than fingerprint order.
    for f in &new.findings {
        match before.get(f.fingerprint.as_str()) {
            None => changes.new.push(f.clone()),
            Some(was) if weight(f) > weight(was) => changes.regressed.push(Regressed {
                finding: f.clone(),
                was: describe(was),
            }),
            Some(_) => changes.unchanged.push(f.clone()),
        }
    }
    for f in &old.findings {
        if !after.contains_key(f.fingerprint.as_str()) {
            changes.resolved.push(f.clone());
        }
    }
    let verdict_worse = old.verdict == Verdict::Approved && new.verdict == Verdict::NotApproved;
    changes.regression = verdict_worse
        || changes.new.iter().any(blocks)
        || changes.regressed.iter().any(|r| blocks(&r.finding));
    let verdict = if old.verdict == new.verdict {
        format!("verdict unchanged ({})", new.verdict.as_str())
    } else {
        format!(
            "verdict {} → {}",
            old.verdict.as_str(),
            new.verdict.as_str()
        )
    };
    changes.summary = format!(
        "{} new, {} resolved, {} regressed, {} unchanged; score {} → {} ({:+.2}); {}",
        changes.new.len(),
        changes.resolved.len(),
        changes.regressed.len(),
        changes.unchanged.len(),
        old.score.shown,
        new.score.shown,
        changes.score_delta,
        verdict
    );
    changes
}

/// Which findings fail an audit run besides a NOT APPROVED verdict (which always fails it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only the verdict decides.
    Blocking,
    /// Any failing or pending warning fails the run too.
    Warning,
    /// Warnings fail the run only when new (or regressed) since the baseline. Blocking findings
    /// keep blocking through the verdict whether or not they are new.
    New,
}

impl FailOn {
    /// The name `--fail-on` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Blocking => "blocking",
            FailOn::Warning => "warning",
            FailOn::New => "new",
        }
    }
}

fn active_warning(f: &Finding) -> bool {
    f.active() && f.severity == Severity::Warning
}

/// Whether the run fails (exit 1) under `fail_on`. A NOT APPROVED verdict always fails it.
pub fn gate_fails(report: &Report, fail_on: FailOn) -> bool {
    if report.verdict == Verdict::NotApproved {
        return true;
    }
    match fail_on {
        FailOn::Blocking => false,
        FailOn::Warning => report.findings.iter().any(active_warning),
        FailOn::New => report.changes.as_ref().is_some_and(|c| {
            c.new.iter().any(active_warning)
                || c.regressed.iter().any(|r| active_warning(&r.finding))
        }),
    }
}

/// The sentence the reports show about how `--fail-on` used the changes.
pub fn gate_sentence(changes: &Changes, fail_on: FailOn) -> Option<String> {
    let fresh = changes.new.iter().filter(|f| active_warning(f)).count()
        + changes
            .regressed
            .iter()
            .filter(|r| active_warning(&r.finding))
            .count();
    let old = changes
        .unchanged
        .iter()
        .filter(|f| active_warning(f))
        .count();
    match fail_on {
        FailOn::New => Some(format!(
            "Gate `--fail-on new`: blocking findings fail the run whether new or not (unless \
             waived); of the failing warnings only the {fresh} new or regressed one(s) fail it, \
             the {old} already in the baseline do not."
        )),
        FailOn::Warning => Some(format!(
            "Gate `--fail-on warning`: every failing warning fails the run ({} new or regressed, \
             {old} already in the baseline).",
            fresh
        )),
        FailOn::Blocking => None,
    }
}

fn line(f: &Finding) -> String {
    let (icon, _) = super::icon_word(f.status, f.severity);
    let mut s = format!("{icon} {} {} at {}", f.status.as_str(), f.rule, f.place());
    if let Some(t) = &f.text {
        s.push_str(&format!(" `{}`", t.trim()));
    }
    s.push_str(&format!(" [{}]", f.fingerprint));
    s
}

/// The comparison for a terminal.
pub fn to_text(c: &Changes) -> String {
    let mut out = format!(
        "shipshape diff: {}\n  baseline {} ({}): {} {}/10\n  now: {} {}/10\n",
        c.summary,
        c.baseline_sha256,
        c.baseline_now,
        c.baseline_verdict.as_str(),
        c.baseline_score,
        c.verdict.as_str(),
        c.score
    );
    let sections: [(&str, Vec<String>); 4] = [
        ("new", c.new.iter().map(line).collect()),
        (
            "regressed",
            c.regressed
                .iter()
                .map(|r| format!("{} (was {})", line(&r.finding), r.was))
                .collect(),
        ),
        ("resolved", c.resolved.iter().map(line).collect()),
        ("unchanged", c.unchanged.iter().map(line).collect()),
    ];
    for (name, lines) in sections {
        out.push_str(&format!("  {name} ({}):\n", lines.len()));
        for l in lines {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out.push_str(if c.regression {
        "  regression: yes (a new failing blocking finding or a worse verdict)\n"
    } else {
        "  regression: no\n"
    });
    out
}

/// The comparison as Markdown (a pull-request comment).
pub fn to_markdown(c: &Changes) -> String {
    use super::render::md_cell;
    let cell = |f: &Finding| {
        format!(
            "`{}` | {} | {} {} | {} | `{}`",
            f.rule,
            md_cell(&f.place()),
            f.status.as_str(),
            f.severity.as_str(),
            md_cell(f.text.as_deref().unwrap_or(&f.title)),
            f.fingerprint
        )
    };
    let mut out = format!(
        "## Changes since the last audit\n\nBaseline: bundle `{}` (audit of {}): {}, score {}/10. \
         Now: {}, score {}/10.\n\n**{}** — {}\n\n",
        c.baseline_sha256,
        c.baseline_now,
        c.baseline_verdict.as_str(),
        c.baseline_score,
        c.verdict.as_str(),
        c.score,
        md_cell(&c.summary),
        if c.regression {
            "❌ Regression"
        } else {
            "✅ No regression"
        }
    );
    out.push_str(
        "| Change | Rule | Place | Now | Evidence | Fingerprint |\n|---|---|---|---|---|---|\n",
    );
    for f in &c.new {
        out.push_str(&format!("| 🆕 New | {} |\n", cell(f)));
    }
    for r in &c.regressed {
        out.push_str(&format!(
            "| 📉 Regressed (was {}) | {} |\n",
            r.was,
            cell(&r.finding)
        ));
    }
    for f in &c.resolved {
        out.push_str(&format!("| ✅ Resolved | {} |\n", cell(f)));
    }
    for f in &c.unchanged {
        out.push_str(&format!("| = Unchanged | {} |\n", cell(f)));
    }
    out
}

/// Attach the comparison with `baseline` to `bundle`'s report and hash the bundle again (the
/// changes are part of the report, so of the digest).
pub fn with_baseline(
    bundle: crate::evidence::Bundle,
    baseline: &crate::evidence::Bundle,
    fail_on: FailOn,
) -> crate::evidence::Bundle {
    let mut changes = diff(&baseline.report, &bundle.report);
    changes.gate = gate_sentence(&changes, fail_on);
    changes.policy_changed = crate::trust::policy_changed(&baseline.report, &bundle.report);
    let crate::evidence::Bundle {
        mut report,
        outcomes,
        evidence,
        run,
        ..
    } = bundle;
    report.changes = Some(changes);
    crate::evidence::Bundle::new(report, outcomes, evidence, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(fp: &str, severity: Severity, status: Status) -> Finding {
        Finding {
            fingerprint: fp.into(),
            rule: "r".into(),
            area: "a".into(),
            title: "t".into(),
            severity,
            status,
            message: "m".into(),
            path: None,
            line: None,
            column: None,
            text: None,
            fix: None,
        }
    }

    #[test]
    fn weights_order_waived_below_active() {
        let waived = finding("x", Severity::Blocking, Status::Waived);
        let warn = finding("x", Severity::Warning, Status::Fail);
        let block = finding("x", Severity::Blocking, Status::Pending);
        assert!(weight(&waived) < weight(&warn));
        assert!(weight(&warn) < weight(&block));
        assert!(blocks(&block) && !blocks(&waived) && !blocks(&warn));
    }
}
