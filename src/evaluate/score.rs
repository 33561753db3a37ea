//! Scoring and the verdict, exactly as DESIGN.md defines them, with the arithmetic kept so the
//! report can show its working.

use serde::{Deserialize, Serialize};

use super::{Outcome, Status};
use crate::policy::model::{Policy, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AreaScore {
    pub area: String,
    pub title: String,
    pub weight: f64,
    /// Σ weight of passed and waived rules.
    pub passed_weight: f64,
    /// Σ weight of applicable rules (pass, fail, pending, waived; not info).
    pub applicable_weight: f64,
    /// None when the area has no applicable rule (it is left out of the overall score).
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Score {
    pub areas: Vec<AreaScore>,
    /// Exact overall score out of 10.
    pub value: f64,
    /// Rounded half-up to one decimal, as shown.
    pub shown: String,
    pub threshold: f64,
    /// Evidence coverage in percent.
    pub coverage: f64,
    pub coverage_shown: String,
    /// `(3/4×1 + 4/4×2) / 3 × 10 = 9.1667, shown as 9.2`
    pub arithmetic: String,
    /// When the policy extends a central one: the central policy's own rules scored alone
    /// against its own threshold (an overlay's added rules cannot lift the verdict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central: Option<Box<Score>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Approved,
    NotApproved,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "APPROVED",
            Verdict::NotApproved => "NOT APPROVED",
        }
    }
}

/// Half-up rounding to one decimal, on the exact value.
pub fn round1(x: f64) -> String {
    // A tiny epsilon keeps 7.25 (stored as 7.2499999…) rounding up as a person expects.
    let r = ((x * 10.0) + 0.5 + 1e-9).floor() / 10.0;
    format!("{r:.1}")
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub fn score(policy: &Policy, outcomes: &[Outcome]) -> Score {
    let mut s = score_of(policy, outcomes, |_| true, policy.audit.approve_min_score);
    if let Some(min) = policy.trust.central_min_score {
        s.central = Some(Box::new(score_of(policy, outcomes, |r| r.central, min)));
    }
    s
}

/// The score over the rules `counts` keeps, against `threshold`.
fn score_of(
    policy: &Policy,
    outcomes: &[Outcome],
    counts: impl Fn(&crate::policy::model::Rule) -> bool,
    threshold: f64,
) -> Score {
    let mut areas = Vec::new();
    let (mut collected_w, mut applicable_total) = (0.0, 0.0);
    for area in &policy.areas {
        let (mut passed, mut applicable) = (0.0, 0.0);
        for (rule, o) in policy.rules.iter().zip(outcomes) {
            if rule.area != area.id || rule.severity == Severity::Info || !counts(rule) {
                continue;
            }
            if o.status == Status::Skipped {
                continue;
            }
            applicable += rule.weight;
            if matches!(o.status, Status::Pass | Status::Waived) {
                passed += rule.weight;
            }
            if o.underlying != Status::Pending {
                collected_w += rule.weight;
            }
        }
        applicable_total += applicable;
        areas.push(AreaScore {
            area: area.id.clone(),
            title: area.title.clone(),
            weight: area.weight,
            passed_weight: passed,
            applicable_weight: applicable,
            score: (applicable > 0.0).then(|| passed / applicable),
        });
    }
    let counted: Vec<&AreaScore> = areas.iter().filter(|a| a.score.is_some()).collect();
    let total_w: f64 = counted.iter().map(|a| a.weight).sum();
    let sum: f64 = counted
        .iter()
        .map(|a| a.weight * a.score.unwrap_or(0.0))
        .sum();
    let value = if total_w > 0.0 {
        sum / total_w * 10.0
    } else {
        0.0
    };
    let terms: Vec<String> = counted
        .iter()
        .map(|a| {
            // The area score as the exact fraction it is, so the sum can be redone by hand.
            format!(
                "{}/{}×{}",
                fmt_num(a.passed_weight),
                fmt_num(a.applicable_weight),
                fmt_num(a.weight)
            )
        })
        .collect();
    let arithmetic = if counted.is_empty() {
        "no applicable rules: score 0".to_string()
    } else {
        format!(
            "({}) / {} × 10 = {:.4}, shown as {}",
            terms.join(" + "),
            fmt_num(total_w),
            value,
            round1(value)
        )
    };
    let coverage = if applicable_total > 0.0 {
        collected_w / applicable_total * 100.0
    } else {
        0.0
    };
    Score {
        areas,
        shown: round1(value),
        value,
        threshold,
        coverage,
        coverage_shown: format!("{}%", round1(coverage).trim_end_matches(".0")),
        arithmetic,
        central: None,
    }
}

/// APPROVED only when no blocking rule fails or is pending and the score reaches the threshold.
pub fn verdict(policy: &Policy, outcomes: &[Outcome], score: &Score) -> (Verdict, Vec<String>) {
    let mut reasons = Vec::new();
    for (rule, o) in policy.rules.iter().zip(outcomes) {
        if rule.severity != Severity::Blocking {
            continue;
        }
        match o.status {
            Status::Fail => reasons.push(format!("blocking rule `{}` fails", rule.id)),
            Status::Pending => reasons.push(format!(
                "blocking rule `{}` is pending (evidence missing)",
                rule.id
            )),
            _ => {}
        }
    }
    if !score.value.is_finite() {
        reasons.push(format!(
            "the score is not a finite number ({}): nothing can be approved on it",
            score.value
        ));
    } else if score.value < score.threshold {
        reasons.push(format!(
            "score {}/10 is below the approval threshold {}",
            score.shown,
            fmt_num(score.threshold)
        ));
    }
    if let Some(c) = &score.central
        && !(c.value.is_finite() && c.value >= c.threshold)
    {
        reasons.push(format!(
            "the central policy's own rules score {}/10, below its threshold {} (rules an overlay adds cannot lift it)",
            c.shown,
            fmt_num(c.threshold)
        ));
    }
    let v = if reasons.is_empty() {
        Verdict::Approved
    } else {
        Verdict::NotApproved
    };
    (v, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round1(9.1666), "9.2");
        assert_eq!(round1(7.25), "7.3");
        assert_eq!(round1(7.24), "7.2");
        assert_eq!(round1(10.0), "10.0");
    }
}
