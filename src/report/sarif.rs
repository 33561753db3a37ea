//! SARIF 2.1.0, so code-scanning UIs can pin findings to lines: every finding of a failing,
//! pending or waived rule becomes a result (a waived one carries a suppression; one without a
//! file points at the repository root) (blocking → `error`, warning →
//! `warning`, info → `note`); `tool.driver.rules` lists every rule of the policy with its title.
//! A test validates the output against the official OASIS schema.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Finding, Report};
use crate::policy::model::Severity;

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Blocking => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference: unreserved characters and `/` kept, the rest
/// percent-encoded (a space or `#` in a file name must not change what the URI points at).
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn message(f: &Finding) -> String {
    format!("{}: {}", f.title, f.message)
}

/// Where a finding is: its file (line and column when known), else the repository root — a
/// rule of a built-in pack about the repository as a whole still shows in code scanning.
fn location(f: &Finding) -> Value {
    let mut physical = json!({
        "artifactLocation": { "uri": f.path.as_deref().map(uri_path).unwrap_or_else(|| ".".into()) },
    });
    if let Some(line) = f.line {
        physical["region"] = json!({ "startLine": line.max(1) });
        if let Some(c) = f.column {
            physical["region"]["startColumn"] = json!(c.max(1));
        }
    }
    json!([{ "physicalLocation": physical }])
}

/// One SARIF result per finding (waived ones suppressed), with its baseline state when the
/// audit was compared with one.
fn results(report: &Report, rules: &[&super::RuleRow]) -> Vec<Value> {
    let baseline = report.changes.as_ref();
    let state = |fp: &str| -> Option<&'static str> {
        let c = baseline?;
        if c.new.iter().any(|f| f.fingerprint == fp) {
            Some("new")
        } else if c.regressed.iter().any(|r| r.finding.fingerprint == fp) {
            Some("updated")
        } else {
            Some("unchanged")
        }
    };
    report
        .findings
        .iter()
        .filter_map(|f| {
            let index = rules.iter().position(|r| r.id == f.rule)?;
            let mut v = json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "kind": "fail",
                "message": { "text": message(f) },
                "locations": location(f),
                "fingerprints": { "shipshape/v1": f.fingerprint },
                "properties": { "status": f.status.as_str(), "area": f.area },
            });
            if let Some(k) = &f.text {
                v["properties"]["key"] = json!(k);
            }
            if let Some(fix) = &f.fix {
                v["properties"]["fix"] = json!(fix);
            }
            if !f.active() {
                // Waived: shown as suppressed, not as an open alert.
                v["suppressions"] = json!([{ "kind": "external" }]);
            }
            if let Some(s) = state(&f.fingerprint) {
                v["baselineState"] = json!(s);
            }
            Some(v)
        })
        .collect()
}

/// The SARIF log as a JSON value.
pub fn to_value(report: &Report) -> Value {
    let rules: Vec<&super::RuleRow> = report.areas.iter().flat_map(|a| &a.rules).collect();
    let area_of = |id: &str| {
        report
            .areas
            .iter()
            .find(|a| a.rules.iter().any(|r| r.id == id))
            .map(|a| a.id.clone())
            .unwrap_or_default()
    };
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": r.title },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "area": area_of(&r.id), "severity": r.severity.as_str() },
            })
        })
        .collect();
    let baseline = report.changes.as_ref();
    let results = results(report, &rules);
    let mut properties = json!({
        "verdict": report.verdict_text,
        "score": report.score.shown,
        "threshold": report.score.threshold,
        "coverage": report.score.coverage_shown,
        "environment": report.env,
        "policySha256": report.provenance.policy_sha256,
        "bundleSha256": report.provenance.bundle_sha256,
    });
    if let Some(c) = baseline {
        properties["changes"] = json!({
            "summary": c.summary,
            "baselineSha256": c.baseline_sha256,
            "new": c.new.len(),
            "resolved": c.resolved.len(),
            "regressed": c.regressed.len(),
            "unchanged": c.unchanged.len(),
            "regression": c.regression,
        });
    }
    // Files shipshape did not read (symlinks leaving the repository, too big, …).
    let notifications: Vec<Value> = report
        .file_findings
        .iter()
        .map(|f| {
            let mut n = json!({
                "level": "warning",
                "message": { "text": format!("{}: {}", super::show_path(&f.path), f.reason) },
                "descriptor": { "id": "shipshape/file-not-read" },
            });
            if !f.path.is_empty() {
                n["locations"] = json!([{
                    "physicalLocation": { "artifactLocation": { "uri": uri_path(&f.path) } }
                }]);
            }
            n
        })
        .collect();
    let mut invocation = json!({
        "executionSuccessful": true,
        "endTimeUtc": report.now,
    });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notifications);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "shipshape",
                    "version": report.provenance.version,
                    "semanticVersion": report.provenance.version,
                    "rules": descriptors,
                }
            },
            "invocations": [invocation],
            "results": results,
            "properties": properties,
        }]
    })
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri_path("docs/a b#1.md"), "docs/a%20b%231.md");
        assert_eq!(uri_path("ü.md"), "%C3%BC.md");
    }
}
