//! `shipshape explain`: what a rule of the policy in force checks, and what an evidence source
//! yields. The text for each source lives with the source (its `Source::DOC`); a test holds it
//! to `docs/policy.md` (every name listed is documented there) and loads every example snippet
//! as a real policy.

use std::fmt::Write as _;

use crate::collect::Request;
use crate::policy::model::{Policy, Rule};

pub use crate::collect::source::{Name, SourceDoc};

/// Every source's documentation, from the registry (`collect::sources!`).
pub const SOURCES: &[SourceDoc] = crate::collect::DOCS;

pub fn source(name: &str) -> Option<&'static SourceDoc> {
    SOURCES.iter().find(|s| s.name == name)
}

/// The text of `explain --source NAME`.
pub fn explain_source(doc: &SourceDoc) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "source: {}", doc.name);
    let _ = writeln!(s, "\n{}\n", doc.summary);
    let _ = writeln!(s, "options: {}\n", doc.options);
    let _ = writeln!(s, "names CEL sees under the evidence name:");
    let width = doc.names.iter().map(|n| n.name.len()).max().unwrap_or(0);
    let kwidth = doc.names.iter().map(|n| n.kind.len()).max().unwrap_or(0);
    for nm in doc.names {
        let _ = writeln!(
            s,
            "  {:width$}  {:kwidth$}  {}",
            nm.name, nm.kind, nm.meaning
        );
    }
    let _ = writeln!(s, "\nexample:\n");
    for line in doc.example.lines() {
        let _ = writeln!(s, "  {line}");
    }
    let _ = writeln!(
        s,
        "\nEvery rule also sees the globals now, env, approved and stale_after_days (docs/policy.md)."
    );
    s
}

/// The list shown by `explain --source` with an unknown name.
pub fn source_names() -> String {
    SOURCES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn describe_request(req: &Request) -> String {
    req.describe()
}

/// The text of `explain RULE_ID`.
pub fn explain_rule(policy: &Policy, rule: &Rule) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "rule: {} — {}", rule.id, rule.title);
    let _ = writeln!(s, "policy: {} ({})", policy.name, rule.origin);
    let area = policy
        .area(&rule.area)
        .map(|a| format!("{} ({}, weight {})", a.title, a.id, a.weight))
        .unwrap_or_else(|| rule.area.clone());
    let _ = writeln!(s, "area: {area}");
    let blocks = match rule.severity.as_str() {
        "blocking" => "a fail or pending blocks approval",
        "warning" => "a non-blocking gap that lowers the score",
        _ => "reported, never scored",
    };
    let _ = writeln!(s, "severity: {} ({blocks})", rule.severity.as_str());
    let _ = writeln!(s, "weight: {}", rule.weight);
    let envs = rule
        .environments
        .as_ref()
        .map(|e| e.join(", "))
        .unwrap_or_else(|| format!("all ({})", policy.audit.environments.join(", ")));
    let _ = writeln!(s, "environments: {envs}");
    if let Some(d) = &rule.description {
        let _ = writeln!(s, "description: {d}");
    }
    let _ = writeln!(s, "evidence:");
    for (name, req) in &rule.evidence {
        let _ = writeln!(s, "  {name}: {}", describe_request(req));
    }
    let _ = writeln!(s, "expect (all must be true):");
    for e in &rule.expect {
        let _ = writeln!(s, "  {e}");
    }
    if let Some(m) = &rule.pass_message {
        let _ = writeln!(s, "when it passes: {m}");
    }
    if let Some(m) = &rule.fail_message {
        let _ = writeln!(s, "when it fails: {m}");
    }
    let waivers: Vec<_> = policy
        .waivers
        .iter()
        .filter(|w| w.rule == rule.id)
        .collect();
    for w in waivers {
        let _ = writeln!(
            s,
            "waiver: {} (owner {}, expires {})",
            w.reason, w.owner, w.expires
        );
    }
    match &rule.remediation {
        Some(r) => {
            let _ = writeln!(s, "remediation:");
            let fields = [
                ("priority", r.priority.clone()),
                ("category", r.category.clone()),
                ("files", r.files.as_ref().map(|f| f.join(", "))),
                ("action", r.action.clone()),
                ("rationale", r.rationale.clone()),
                ("effort", r.effort.clone()),
                ("dependencies", r.dependencies.clone()),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    let _ = writeln!(s, "  {k}: {v}");
                }
            }
        }
        None => {
            let _ = writeln!(s, "remediation: none given");
        }
    }
    let sources: Vec<&str> = rule.evidence.values().map(|r| r.source_name()).collect();
    if !sources.is_empty() {
        let mut uniq = sources.clone();
        uniq.sort();
        uniq.dedup();
        let _ = writeln!(
            s,
            "\nWhat each source yields: {}",
            uniq.iter()
                .map(|n| format!("shipshape explain --source {n}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    s
}

/// Rule ids close to `id`, for "did you mean".
pub fn similar<'a>(policy: &'a Policy, id: &str) -> Vec<&'a str> {
    let needle = id.to_lowercase();
    let mut out: Vec<&str> = policy
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|r| {
            r.contains(&needle)
                || needle.contains(*r)
                || needle
                    .split('-')
                    .any(|part| part.len() > 2 && r.contains(part))
        })
        .collect();
    out.truncate(8);
    out
}
