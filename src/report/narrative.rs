//! The parts of a report a person reads first — the executive narrative, handoff readiness,
//! the single biggest risk and the measured values — built from outcomes and evidence, never
//! canned: every sentence names what it was computed from.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Recommendation, icon_word};
use crate::collect::Item;
use crate::collect::Request;
use crate::evaluate::{Outcome, Status};
use crate::policy::model::{HANDOFF_QUESTIONS, Policy, Rule, Severity};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Narrative {
    /// A few sentences: what passes, what is strong, what blocks, the score against the bar.
    pub summary: Vec<String>,
    /// The highest-priority blocking gap (else the highest-priority gap), and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biggest_risk: Option<Risk>,
    /// Can another team operate this? One answer per question.
    pub handoff: Vec<HandoffRow>,
    /// Numbers the evidence holds (coverage, test counts, ages).
    pub measured: Vec<Measured>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risk {
    pub rule: String,
    pub title: String,
    pub priority: String,
    /// Why: the rule's sentence.
    pub why: String,
    pub action: String,
    pub effort: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandoffRow {
    pub question: String,
    /// `yes`, `no` or `unknown`.
    pub answer: String,
    pub icon: String,
    /// The rules that answer it, each with its outcome sentence.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measured {
    pub what: String,
    /// As the report shows it (`90.65%`, `85 tests, 0 failures, …`).
    pub value: String,
    /// Where the number comes from (a file, a command).
    pub source: String,
    /// The same values as numbers, for a machine reading the bundle (`percent`, `tests`,
    /// `failures`…). Absent from bundles written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub numbers: BTreeMap<String, f64>,
}

/// Everything the narrative is computed from.
pub struct From<'a> {
    pub policy: &'a Policy,
    pub pairs: &'a [(&'a Rule, &'a Outcome)],
    pub evidence: &'a BTreeMap<String, Item>,
    pub area_scores: Vec<(String, Option<f64>)>,
    pub score_shown: String,
    pub threshold: String,
    pub verdict: &'a str,
    pub recommendations: &'a [Recommendation],
}

pub fn build(f: &From<'_>) -> Narrative {
    Narrative {
        summary: summary(f),
        biggest_risk: biggest_risk(f),
        handoff: handoff(f),
        measured: measured(f),
    }
}

fn count(f: &From<'_>, s: Status) -> usize {
    f.pairs.iter().filter(|(_, o)| o.status == s).count()
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn summary(f: &From<'_>) -> Vec<String> {
    let applicable = f.pairs.len() - count(f, Status::Skipped);
    let mut out = vec![format!(
        "{} of {applicable} applicable rules pass; {} fail, {} pending (evidence not collected), {} waived.",
        count(f, Status::Pass),
        count(f, Status::Fail),
        count(f, Status::Pending),
        count(f, Status::Waived)
    )];
    let title = |id: &str| {
        f.policy
            .area(id)
            .map(|a| a.title.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let full: Vec<String> = f
        .area_scores
        .iter()
        .filter(|(_, s)| s.is_some_and(|s| s >= 0.999))
        .map(|(id, _)| title(id))
        .collect();
    if !full.is_empty() {
        out.push(format!("Every check passes in {}.", list(&full)));
    }
    if let Some((id, Some(s))) = f
        .area_scores
        .iter()
        .filter(|(_, s)| s.is_some_and(|s| s < 0.999))
        .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
    {
        out.push(format!(
            "The weakest area is {} at {:.0}%.",
            title(id),
            s * 100.0
        ));
    }
    let blocking: Vec<String> = f
        .pairs
        .iter()
        .filter(|(r, o)| {
            r.severity == Severity::Blocking && matches!(o.status, Status::Fail | Status::Pending)
        })
        .map(|(r, o)| format!("{} ({})", r.title, o.status.as_str()))
        .collect();
    out.push(match blocking.len() {
        0 => "No blocking rule fails or lacks evidence.".to_string(),
        n => format!("{n} blocking gap(s) stop the release: {}.", list(&blocking)),
    });
    out.push(format!(
        "The score is {}/10 against the {} required: {}.",
        f.score_shown, f.threshold, f.verdict
    ));
    out
}

fn biggest_risk(f: &From<'_>) -> Option<Risk> {
    let blocking = |id: &str| {
        f.pairs
            .iter()
            .any(|(r, _)| r.id == id && r.severity == Severity::Blocking)
    };
    let rec = f
        .recommendations
        .iter()
        .find(|r| blocking(&r.rule))
        .or_else(|| f.recommendations.first())?;
    let (rule, o) = f.pairs.iter().find(|(r, _)| r.id == rec.rule)?;
    Some(Risk {
        rule: rule.id.clone(),
        title: rule.title.clone(),
        priority: rec.priority.clone(),
        why: o.sentence.clone(),
        action: rec.action.clone(),
        effort: rec.effort.clone(),
    })
}

fn handoff(f: &From<'_>) -> Vec<HandoffRow> {
    HANDOFF_QUESTIONS
        .iter()
        .map(|(key, question)| {
            let rules: Vec<&(&Rule, &Outcome)> = f
                .pairs
                .iter()
                .filter(|(r, o)| r.handoff.iter().any(|h| h == key) && o.status != Status::Skipped)
                .collect();
            let answer = if rules.is_empty() {
                Status::Pending
            } else if rules.iter().any(|(_, o)| o.status == Status::Fail) {
                Status::Fail
            } else if rules.iter().all(|(_, o)| o.status == Status::Pass) {
                Status::Pass
            } else {
                Status::Pending
            };
            let evidence = if rules.is_empty() {
                vec![format!(
                    "no rule of this policy answers it (a rule says `handoff = [\"{key}\"]`)"
                )]
            } else {
                rules
                    .iter()
                    .map(|(r, o)| {
                        let (_, word) = icon_word(o.status, r.severity);
                        let mut s = format!("{} — {word}: {}", r.title, o.sentence);
                        if let Some(age) = artifact_age(f, r) {
                            s.push_str(&format!(" ({age})"));
                        }
                        s
                    })
                    .collect()
            };
            let (icon, word) = match answer {
                Status::Pass => ("✅", "yes"),
                Status::Fail => ("❌", "no"),
                _ => ("❔", "unknown"),
            };
            HandoffRow {
                question: question.to_string(),
                answer: word.into(),
                icon: icon.into(),
                evidence,
            }
        })
        .collect()
}

/// `path, N days old` of the first dated artifact a rule reads.
fn artifact_age(f: &From<'_>, rule: &Rule) -> Option<String> {
    rule.evidence.values().find_map(|req| {
        let Request::Artifact(_) = req else {
            return None;
        };
        let v = evidence_value(f.evidence, req)?;
        let days = v["age_days"].as_i64()?;
        Some(format!("{}, {days} days old", v["path"].as_str()?))
    })
}

fn measured(f: &From<'_>) -> Vec<Measured> {
    let mut out: Vec<Measured> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (rule, _) in f.pairs {
        for req in rule.evidence.values() {
            if !seen.insert(req.key()) {
                continue;
            }
            let Some(v) = evidence_value(f.evidence, req) else {
                continue;
            };
            match req {
                Request::Data(_) => out.extend(data_measures(v)),
                Request::Run(spec) => {
                    for (k, x) in v["captures"].as_object().into_iter().flatten() {
                        out.push(Measured {
                            what: k.clone(),
                            value: plain(x),
                            source: format!(
                                "`{}` (exit code {})",
                                spec.command,
                                plain(&v["exit_code"])
                            ),
                            numbers: x.as_f64().map(|n| (k.clone(), n)).into_iter().collect(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn data_measures(v: &Value) -> Vec<Measured> {
    let path = v["path"].as_str().unwrap_or("").to_string();
    let age = v["age_days"]
        .as_i64()
        .map(|d| format!(", {d} days old"))
        .unwrap_or_default();
    let source = format!("{path}{age}");
    let mut out = Vec::new();
    if let Some(p) = v["percent"].as_f64() {
        out.push(Measured {
            what: "line coverage".into(),
            value: format!("{p:.2}%"),
            source: source.clone(),
            numbers: [("percent".to_string(), p)].into_iter().collect(),
        });
    }
    if let Some(t) = v["tests"].as_i64() {
        out.push(Measured {
            what: "recorded tests".into(),
            value: format!(
                "{t} tests, {} failures, {} errors, {} skipped",
                plain(&v["failures"]),
                plain(&v["errors"]),
                plain(&v["skipped"])
            ),
            source,
            numbers: ["tests", "failures", "errors", "skipped"]
                .into_iter()
                .filter_map(|k| Some((k.to_string(), v[k].as_f64()?)))
                .collect(),
        });
    }
    out
}

/// The collected value of a request, when it was collected.
fn evidence_value<'a>(evidence: &'a BTreeMap<String, Item>, req: &Request) -> Option<&'a Value> {
    evidence.get(&req.key()).and_then(|i| i.as_result().ok())
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}
