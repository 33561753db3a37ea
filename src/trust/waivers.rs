//! Waiver governance. A waiver that breaks the policy's `[waivers]` rules (its own owner
//! approved it, an approver not on the list, no ticket, longer than the severity allows) is
//! *ignored* — the rule keeps its outcome — and reported, never a load error: the team's waiver
//! list must not be able to brick the gate. The same holds for a separate waivers file
//! (`[audit] waivers_file`, `--waivers`), which may have its own CODEOWNERS.

use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evaluate::Outcome;
use crate::policy::model::{Origin, Policy, PolicySource, Waiver, WaiverRaw};

/// A waiver that was not applied, and every reason why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IgnoredWaiver {
    /// The rule it names ("" when it names none).
    pub rule: String,
    pub owner: String,
    /// `file:line:column` of the waiver.
    pub at: String,
    pub reasons: Vec<String>,
}

impl IgnoredWaiver {
    pub fn sentence(&self) -> String {
        format!(
            "waiver ignored ({}{}): {}",
            self.at,
            if self.owner.is_empty() {
                String::new()
            } else {
                format!(", owner {}", self.owner)
            },
            self.reasons.join("; ")
        )
    }
}

/// The waivers of a separate waivers file, and the ones it holds that cannot even be read.
pub struct FileWaivers {
    pub waivers: Vec<Waiver>,
    pub ignored: Vec<IgnoredWaiver>,
    pub source: Option<PolicySource>,
}

/// Read a waivers file: `[[waiver]]` tables only. Nothing in it is fatal.
pub fn load_file(path: &Path) -> FileWaivers {
    let name = path.display().to_string();
    let whole = |reason: String| IgnoredWaiver {
        rule: String::new(),
        owner: String::new(),
        at: format!("{name}:1:1"),
        reasons: vec![reason],
    };
    let mut out = FileWaivers {
        waivers: vec![],
        ignored: vec![],
        source: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            out.ignored.push(whole(format!(
                "the waivers file cannot be read ({}); none of its waivers apply",
                crate::collect::fs::io_reason(&e)
            )));
            return out;
        }
    };
    out.source = Some(PolicySource {
        name: name.clone(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    });
    let at = |offset: usize| {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Origin {
            file: name.clone(),
            line,
            column,
        }
    };
    let doc = match toml::de::DeTable::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            let o = at(e.span().map(|s| s.start).unwrap_or(0));
            out.ignored.push(IgnoredWaiver {
                at: o.to_string(),
                ..whole(format!(
                    "TOML syntax error ({}); none of the file's waivers apply",
                    e.message().trim()
                ))
            });
            return out;
        }
    };
    for (key, value) in doc.get_ref().iter() {
        let o = at(key.span().start);
        if key.get_ref() != "waiver" {
            out.ignored.push(IgnoredWaiver {
                at: o.to_string(),
                ..whole(format!(
                    "unknown key `{}` in a waivers file (only [[waiver]] tables belong there)",
                    key.get_ref()
                ))
            });
            continue;
        }
        let Some(items) = value.get_ref().as_array() else {
            out.ignored.push(IgnoredWaiver {
                at: o.to_string(),
                ..whole("`waiver` must be an array of tables ([[waiver]])".into())
            });
            continue;
        };
        for item in items.iter() {
            let o = at(item.span().start);
            let mut unknown = Vec::new();
            let de = toml::de::ValueDeserializer::from(item.clone());
            let parsed: Result<WaiverRaw, _> =
                serde_ignored::deserialize(de, |p| unknown.push(p.to_string()));
            match parsed {
                Err(e) => out.ignored.push(IgnoredWaiver {
                    at: o.to_string(),
                    ..whole(e.message().trim().to_string())
                }),
                Ok(w) => match to_waiver(&w, o.clone(), &unknown) {
                    Ok(w) => out.waivers.push(w),
                    Err(reasons) => out.ignored.push(IgnoredWaiver {
                        rule: w.rule.clone().unwrap_or_default(),
                        owner: w.owner.clone().unwrap_or_default(),
                        at: o.to_string(),
                        reasons,
                    }),
                },
            }
        }
    }
    out
}

fn to_waiver(w: &WaiverRaw, origin: Origin, unknown: &[String]) -> Result<Waiver, Vec<String>> {
    let mut reasons: Vec<String> = unknown
        .iter()
        .map(|k| format!("unknown key `{k}`"))
        .collect();
    let text = |v: &Option<String>| v.as_deref().filter(|s| !s.trim().is_empty()).is_some();
    let mut missing = Vec::new();
    if !text(&w.rule) {
        missing.push("rule");
    }
    if !text(&w.reason) {
        missing.push("reason");
    }
    if !text(&w.owner) {
        missing.push("owner");
    }
    if w.expires.is_none() {
        missing.push("expires");
    }
    if !missing.is_empty() {
        reasons.push(format!("it needs {}", missing.join(", ")));
    }
    reasons.extend(w.finding_problems());
    let expires = w.expires.as_ref().and_then(crate::policy::toml_date);
    if w.expires.is_some() && expires.is_none() {
        reasons.push("expires must be a date (YYYY-MM-DD)".into());
    }
    let granted = w.granted.as_ref().map(crate::policy::toml_date);
    if granted == Some(None) {
        reasons.push("granted must be a date (YYYY-MM-DD)".into());
    }
    match (reasons.is_empty(), expires) {
        (true, Some(expires)) => Ok(Waiver {
            rule: w.rule.clone().unwrap_or_default(),
            reason: w.reason.clone().unwrap_or_default(),
            owner: w.owner.clone().unwrap_or_default(),
            approver: w.approver.clone(),
            ticket: w.ticket.clone(),
            expires,
            granted: granted.flatten(),
            origin,
            finding: w.finding(),
        }),
        _ => Err(reasons),
    }
}

/// Split waivers into those that follow the policy's rules and those that do not.
pub fn govern(
    policy: &Policy,
    waivers: Vec<Waiver>,
    now: DateTime<Utc>,
) -> (Vec<Waiver>, Vec<IgnoredWaiver>) {
    let mut valid = Vec::new();
    let mut ignored = Vec::new();
    let today = now.date_naive();
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    for w in waivers {
        let mut reasons = Vec::new();
        let rule = policy.rules.iter().find(|r| r.id == w.rule);
        if rule.is_none() {
            reasons.push(format!("there is no rule `{}` in the policy", w.rule));
        }
        let approver = w.approver.as_deref().filter(|a| !a.trim().is_empty());
        if let Some(a) = approver
            && same(a, &w.owner)
        {
            reasons.push(format!(
                "approved by its own owner `{a}` (the approver must be someone else)"
            ));
        }
        if w.granted.is_some_and(|g| w.expires < g) {
            reasons.push("it expires before it was granted".into());
        }
        if let Some(g) = &policy.trust.waivers {
            match approver {
                None => reasons.push("it has no approver".into()),
                Some(a) => {
                    if let Some(list) = &g.approvers
                        && !list.iter().any(|x| same(x, a))
                    {
                        reasons.push(format!(
                            "approver `{a}` may not approve waivers (allowed: {})",
                            list.join(", ")
                        ));
                    }
                }
            }
            if g.require_ticket && w.ticket.as_deref().is_none_or(|t| t.trim().is_empty()) {
                reasons.push("it has no ticket (the policy requires one)".into());
            }
            if let Some(rule) = rule
                && let Some(max) = g.max_days.get(rule.severity)
            {
                let sev = rule.severity.as_str();
                match w.granted {
                    None => reasons.push(format!(
                        "it has no `granted` date, needed to check the {max}-day limit on waivers of {sev} rules"
                    )),
                    Some(granted) if granted > today => reasons.push(format!(
                        "it is granted in the future ({granted}, audit date {today})"
                    )),
                    Some(granted) => {
                        let days = (w.expires - granted).num_days();
                        if days > max {
                            reasons.push(format!(
                                "it lasts {days} days (granted {granted}, expires {}); a waiver of a {sev} rule may last at most {max} days",
                                w.expires
                            ));
                        }
                    }
                }
            }
        }
        if reasons.is_empty() {
            valid.push(w);
        } else {
            ignored.push(IgnoredWaiver {
                rule: w.rule.clone(),
                owner: w.owner.clone(),
                at: w.origin.to_string(),
                reasons,
            });
        }
    }
    (valid, ignored)
}

/// Put each ignored waiver on its rule's outcome as a warning, so every report shows it where
/// the rule is. Returns the sentences of those that name no rule of the policy.
pub fn annotate(outcomes: &mut [Outcome], ignored: &[IgnoredWaiver]) -> Vec<String> {
    let mut loose = Vec::new();
    for i in ignored {
        match outcomes.iter_mut().find(|o| o.rule == i.rule) {
            Some(o) => o.warnings.push(format!(
                "{}: the {} stands",
                i.sentence(),
                o.status.as_str()
            )),
            None => loose.push(i.sentence()),
        }
    }
    loose
}
