//! The one `Report` model every output format renders. It is built from the policy, the evidence
//! and the outcomes, and it is self-contained (stored in the bundle), so a report can be
//! re-rendered later without the policy or the repository.

pub mod ci;
pub mod diff;
pub mod history;
pub mod junit;
pub mod narrative;
pub mod publish;
pub mod render;
pub mod sarif;
pub mod signoffs;
pub mod terminal;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::collect::{Item, Request};
use crate::evaluate::score::{Score, Verdict};
use crate::evaluate::{Outcome, Status};
use crate::policy::model::{Policy, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub title: String,
    pub name: String,
    /// The audited path as the user gave it.
    pub target: String,
    pub env: String,
    pub now: String,
    pub date: String,
    pub verdict: Verdict,
    pub verdict_text: String,
    pub reasons: Vec<String>,
    pub score: Score,
    pub counts: Counts,
    pub commands: Vec<CommandRow>,
    pub documents: Vec<DocumentRow>,
    pub areas: Vec<AreaSection>,
    pub repository_files: Vec<FileRow>,
    pub recommendations: Vec<Recommendation>,
    pub blocking_gaps: Vec<Gap>,
    pub nonblocking_gaps: Vec<Gap>,
    pub warnings: Vec<String>,
    pub provenance: Provenance,
    /// Every place a failing, pending or waived rule points at, with a stable fingerprint so
    /// two audits can be compared (`shipshape diff`, `audit --baseline`). Omitted when empty, so
    /// bundles written before findings existed still verify against their digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// What changed since the baseline bundle given with `audit --baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<diff::Changes>,
    /// Central policy and overlay, waivers file, ignored waivers, required sign-offs. Omitted
    /// when the policy uses none of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<crate::trust::TrustSection>,
    /// The executive narrative, handoff readiness, the single biggest risk and measured values.
    /// Omitted in bundles written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<narrative::Narrative>,
    /// Earlier published audits and this one: how readiness moved. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<history::HistoryRow>,
    /// Files of the audited tree shipshape did not read (or not as they are): symlinks leaving
    /// the boundary, loops, dangling links, files over `--max-file-bytes`, non-UTF-8 text. Each
    /// is also one of `warnings`. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_findings: Vec<crate::collect::fs::WalkFinding>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub rules: usize,
    pub pass: usize,
    pub fail: usize,
    pub pending: usize,
    pub waived: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandRow {
    pub command: String,
    pub status: String,
    pub icon: String,
    pub word: String,
    pub exit_code: Option<i64>,
    pub notes: String,
    pub rules: Vec<String>,
    /// The result came from the command cache, produced at this time (not hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentRow {
    pub path: String,
    pub title: String,
    pub exists: bool,
    /// "✅", "❌" or "—" (not applicable) per column.
    pub present: String,
    pub complete: String,
    pub sections: String,
    pub links: String,
    pub status: String,
    pub overall: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AreaSection {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub score: String,
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleRow {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// The rule's weight in its area (so `verify` can recompute the score from the outcomes).
    #[serde(default = "one")]
    pub weight: f64,
    pub status: Status,
    pub icon: String,
    pub word: String,
    pub sentence: String,
    pub locations: Vec<String>,
    pub waiver: Option<String>,
    pub warnings: Vec<String>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileRow {
    pub entry: String,
    pub present: bool,
    pub icon: String,
    pub path: String,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    pub rule: String,
    pub priority: String,
    pub category: String,
    pub files: Vec<String>,
    pub action: String,
    pub rationale: String,
    pub effort: String,
    pub dependencies: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gap {
    pub rule: String,
    pub icon: String,
    /// The status word beside the icon (`Fail`, `Pending`, `Warning`…). Absent from bundles
    /// written before it existed, which must still hash as they did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub word: String,
    pub title: String,
    pub sentence: String,
    pub locations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    pub tool: String,
    pub version: String,
    pub policy: String,
    /// How the policy was found (`--policy`, the audited folder, a folder above it, the
    /// built-in default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_found: Option<String>,
    pub policy_sha256: String,
    pub policy_sources: Vec<crate::policy::model::PolicySource>,
    pub now: String,
    pub env: String,
    pub repository: Option<crate::repo::Head>,
    /// Where cluster evidence came from (live, snapshot, none) and how old it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::collect::cluster::Provenance>,
    /// Filled in once the bundle is hashed.
    pub bundle_sha256: String,
}

/// One offender of a failing, pending or waived rule. The fingerprint identifies the finding
/// across audits: it is made of the rule id, the file and the key that identifies the offender
/// (the placeholder, status value, CVE id, link target, object, image, version or tag), never
/// the line number, so a paragraph that moves is the same finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// `sha256("shipshape-finding/1", rule, path, key, occurrence)`, first 16 hex digits.
    pub fingerprint: String,
    /// The policy rule id (stable across runs; SARIF `ruleId`).
    pub rule: String,
    pub area: String,
    pub title: String,
    pub severity: Severity,
    /// `fail`, `pending` or `waived` (the rule's outcome, or `waived` for a finding a
    /// per-finding waiver covers).
    pub status: Status,
    /// What is wrong with this offender, in plain words.
    pub message: String,
    /// File the finding points at, relative to the audited folder: the offending file, the
    /// missing path, or the policy file that holds the rule; absent when none is in the
    /// audited folder (a rule of a built-in pack about the repository as a whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line; shown, never part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The key that identifies the offender (placeholder, status value, CVE id, link target…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The rule's fix (its remediation action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    /// Whether this finding currently counts against the release (not waived).
    pub fn active(&self) -> bool {
        matches!(self.status, Status::Fail | Status::Pending)
    }

    /// `path:line`, `path`, or the rule id when the finding has no place.
    pub fn place(&self) -> String {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => format!("{p}:{l}"),
            (Some(p), None) => p.clone(),
            (None, _) => format!("rule {}", self.rule),
        }
    }
}

/// The findings of one rule: one per offender (none dropped), else one for the rule as a
/// whole, placed at the policy file that holds the rule when that file is in the audited
/// folder (`policy_file`: that file for rules of a built-in pack it includes).
pub fn findings_of(
    rule: &crate::policy::model::Rule,
    o: &Outcome,
    policy_file: Option<&(String, usize)>,
) -> Vec<Finding> {
    if !matches!(o.underlying, Status::Fail | Status::Pending) || o.status == Status::Skipped {
        return Vec::new();
    }
    let make = |fingerprint: String, message: String, status: Status| Finding {
        fingerprint,
        rule: rule.id.clone(),
        area: rule.area.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        status,
        message,
        path: None,
        line: None,
        column: None,
        text: None,
        fix: rule.remediation.as_ref().and_then(|r| r.action.clone()),
    };
    if o.offenders.is_empty() {
        let mut f = make(
            crate::evaluate::offenders::fingerprint(&rule.id, "", "", 0),
            o.sentence.clone(),
            o.status,
        );
        if let Some((p, l)) = policy_file {
            f.path = Some(p.clone());
            f.line = Some(*l);
        }
        return vec![f];
    }
    o.offenders
        .iter()
        .map(|off| {
            let status = if off.waived { Status::Waived } else { o.status };
            let mut f = make(off.fingerprint.clone(), off.sentence.clone(), status);
            f.path = off.path.clone();
            f.line = off.line;
            f.column = off.column;
            if f.path.is_none()
                && let Some((p, l)) = policy_file
            {
                f.path = Some(p.clone());
                f.line = Some(*l);
            }
            f.text = Some(off.key.clone()).filter(|k| !k.is_empty());
            f
        })
        .collect()
}

/// Icon and word for an outcome, as the contract lists them.
pub fn icon_word(status: Status, severity: Severity) -> (&'static str, &'static str) {
    match (status, severity) {
        (Status::Pass, _) => ("✅", "Pass"),
        (Status::Fail, Severity::Blocking) => ("❌", "Fail"),
        (Status::Fail, Severity::Warning) => ("⚠️", "Warning"),
        (Status::Fail, Severity::Info) => ("ℹ️", "Info"),
        (Status::Pending, _) => ("⏳", "Pending"),
        (Status::Waived, _) => ("🔕", "Waived"),
        (Status::Skipped, _) => ("⏭️", "Skipped"),
    }
}

fn priority_rank(p: &str) -> u8 {
    match p.to_ascii_lowercase().as_str() {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// Everything needed to build a report.
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    pub evidence: &'a BTreeMap<String, Item>,
    pub outcomes: &'a [Outcome],
    pub score: Score,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub target: String,
    pub env: String,
    pub now: chrono::DateTime<chrono::Utc>,
    pub head: Option<crate::repo::Head>,
    /// Request keys of each `[[document]]`'s artifact and links evidence.
    pub document_keys: Vec<(String, String)>,
}

/// The policy file (relative to the audited folder) and line that hold `rule`: its own file, or
/// for a rule of a built-in pack the first policy file of the audited folder.
fn policy_place(
    rule: &crate::policy::model::Rule,
    target: &str,
    policy: &Policy,
) -> Option<(String, usize)> {
    let inside = |file: &str| -> Option<String> {
        if file.starts_with("builtin:") {
            return None;
        }
        let root = std::path::Path::new(target);
        let p = std::path::Path::new(file);
        let rel = p
            .strip_prefix(root)
            .ok()
            .or_else(|| (target == "." && p.is_relative()).then_some(p))?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        (!rel.starts_with("..") && !rel.is_empty()).then_some(rel)
    };
    if let Some(p) = inside(&rule.origin.file) {
        return Some((p, rule.origin.line));
    }
    policy
        .sources
        .iter()
        .find_map(|s| inside(&s.name))
        .map(|p| (p, 1))
}

/// A path as the report shows it: control characters (a newline in a file name) written as
/// escapes, so one name stays one line in every format.
pub fn show_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Add the run's file findings to the report: structured in `file_findings`, and one warning
/// each (`path`: reason) so every format that lists warnings shows them.
pub fn add_file_findings(report: &mut Report, findings: Vec<crate::collect::fs::WalkFinding>) {
    for f in &findings {
        let shown = if f.path.is_empty() {
            "(the audited folder)".to_string()
        } else {
            show_path(&f.path)
        };
        report
            .warnings
            .push(format!("file `{shown}`: {}", f.reason));
    }
    report.file_findings = findings;
}

pub fn build(i: Inputs<'_>) -> Report {
    let policy = i.policy;
    let pairs: Vec<(&crate::policy::model::Rule, &Outcome)> =
        policy.rules.iter().zip(i.outcomes).collect();
    let counts = count(&pairs);
    let areas = area_sections(policy, &pairs, &i.score);
    let commands = command_rows(&pairs, i.evidence);
    let documents = policy
        .documents
        .iter()
        .zip(&i.document_keys)
        .map(|(d, (doc, links))| {
            document_row(
                d,
                i.evidence.get(doc),
                i.evidence.get(links),
                &policy.audit.approved_statuses,
            )
        })
        .collect();

    let repository_files = file_rows(&pairs, i.evidence);
    let recommendations = recommendations(policy, &pairs);
    // Gaps in the order the report lists areas (rules of one area in policy order), wherever
    // each rule was declared: a repository's own rule sits with its area's pack rules.
    let area_rank = |id: &str| policy.areas.iter().position(|a| a.id == id);
    let mut by_area: Vec<&(&crate::policy::model::Rule, &Outcome)> = pairs.iter().collect();
    by_area.sort_by_key(|(r, _)| area_rank(&r.area));
    let gaps = |blocking: bool| -> Vec<Gap> {
        by_area
            .iter()
            .filter(|(r, o)| {
                (r.severity == Severity::Blocking) == blocking
                    && matches!(o.status, Status::Fail | Status::Pending)
            })
            .map(|(r, o)| gap(r, o))
            .collect()
    };
    let (blocking_gaps, nonblocking_gaps) = (gaps(true), gaps(false));
    let mut warnings: Vec<String> = pairs
        .iter()
        .flat_map(|(r, o)| o.warnings.iter().map(move |w| format!("`{}`: {w}", r.id)))
        .collect();
    if let Some(w) = i.head.as_ref().and_then(dirty_warning) {
        warnings.insert(0, w);
    }

    let findings = pairs
        .iter()
        .flat_map(|(r, o)| findings_of(r, o, policy_place(r, &i.target, policy).as_ref()))
        .collect();
    let narrative = narrative::build(&narrative::From {
        policy,
        pairs: &pairs,
        evidence: i.evidence,
        area_scores: i
            .score
            .areas
            .iter()
            .map(|a| (a.area.clone(), a.score))
            .collect(),
        score_shown: i.score.shown.clone(),
        threshold: i.score.threshold.to_string(),
        verdict: i.verdict.as_str(),
        recommendations: &recommendations,
    });

    let now = i.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Report {
        title: policy.audit.title.clone(),
        name: policy.audit.name.clone(),
        target: i.target,
        env: i.env.clone(),
        now: now.clone(),
        date: i.now.format("%Y-%m-%d").to_string(),
        verdict: i.verdict,
        verdict_text: i.verdict.as_str().into(),
        reasons: i.reasons,
        score: i.score,
        counts,
        commands,
        documents,
        areas,
        repository_files,
        recommendations,
        blocking_gaps,
        nonblocking_gaps,
        warnings,
        provenance: Provenance {
            tool: "shipshape".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            policy: policy.name.clone(),
            policy_found: None,
            policy_sha256: policy.digest.clone(),
            policy_sources: policy.sources.clone(),
            now,
            env: i.env,
            repository: i.head,
            cluster: None,
            bundle_sha256: String::new(),
        },
        findings,
        changes: None,
        trust: None,
        narrative: Some(narrative),
        history: Vec::new(),
        file_findings: Vec::new(),
    }
}

/// How many rules ended in each status.
fn count(pairs: &[(&crate::policy::model::Rule, &Outcome)]) -> Counts {
    let mut counts = Counts {
        rules: pairs.len(),
        ..Counts::default()
    };
    for (_, o) in pairs {
        match o.status {
            Status::Pass => counts.pass += 1,
            Status::Fail => counts.fail += 1,
            Status::Pending => counts.pending += 1,
            Status::Waived => counts.waived += 1,
            Status::Skipped => counts.skipped += 1,
        }
    }

    counts
}

/// One report row for a rule's outcome.
fn row(rule: &crate::policy::model::Rule, o: &Outcome) -> RuleRow {
    let (icon, word) = icon_word(o.status, rule.severity);
    RuleRow {
        id: rule.id.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        weight: rule.weight,
        status: o.status,
        icon: icon.into(),
        word: word.into(),
        sentence: o.sentence.clone(),
        locations: shown_locations(o),
        waiver: o.waiver.as_ref().map(|w| {
            format!(
                "{} (owner {}, until {}{})",
                w.reason,
                w.owner,
                w.expires,
                if w.expired { ", EXPIRED" } else { "" }
            )
        }),
        warnings: o.warnings.clone(),
    }
}

/// The headings every report has besides its areas (Markdown and HTML).
const FIXED_SECTIONS: &[&str] = &[
    "Executive Summary",
    "Changes since the last audit",
    "Evidence Commands",
    "Documentation Matrix",
    "Standard Repository Files",
    "Prioritised Recommendations",
    "Completeness Score",
    "History",
    "Blocking and Non-Blocking Gaps",
    "Final Verdict",
    "Sign-off",
    "Provenance",
];

/// An area's heading: its title, unless a fixed section of the report has that title (an area
/// called "Standard Repository Files" beside the files table), then marked as the area's
/// checks, so no two sections share a heading (or an HTML anchor).
fn area_heading(title: &str) -> String {
    if FIXED_SECTIONS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(title.trim()))
    {
        format!("{title}: checks")
    } else {
        title.to_string()
    }
}

/// Each area with its score and its rules' rows.
fn area_sections(
    policy: &Policy,
    pairs: &[(&crate::policy::model::Rule, &Outcome)],
    score: &Score,
) -> Vec<AreaSection> {
    policy
        .areas
        .iter()
        .map(|a| {
            let s = score.areas.iter().find(|s| s.area == a.id);
            AreaSection {
                id: a.id.clone(),
                title: area_heading(&a.title),
                description: a.description.clone(),
                score: s
                    .and_then(|s| s.score)
                    .map(|v| format!("{:.0}%", v * 100.0))
                    .unwrap_or_else(|| "n/a".into()),
                rules: pairs
                    .iter()
                    .filter(|(r, _)| r.area == a.id)
                    .map(|(r, o)| row(r, o))
                    .collect(),
            }
        })
        .collect()
}

/// The evidence commands, in the order rules first use them.
fn command_rows(
    pairs: &[(&crate::policy::model::Rule, &Outcome)],
    evidence: &BTreeMap<String, Item>,
) -> Vec<CommandRow> {
    let mut commands: Vec<CommandRow> = Vec::new();
    for (rule, _) in pairs {
        for req in rule.evidence.values() {
            let Request::Run(spec) = req else { continue };
            if let Some(c) = commands.iter_mut().find(|c| c.command == spec.command) {
                if !c.rules.contains(&rule.id) {
                    c.rules.push(rule.id.clone());
                }
                continue;
            }
            let item = evidence.get(&req.key());
            let cached_at = item
                .and_then(|it| it.as_result().ok())
                .filter(|v| v["cached"] == true)
                .and_then(|v| v["produced_at"].as_str())
                .map(str::to_string);
            let (status, exit_code, notes) = command_result(item);
            let (icon, word) = icon_word(status, Severity::Blocking);
            commands.push(CommandRow {
                command: spec.command.clone(),
                status: status.as_str().into(),
                icon: icon.into(),
                word: word.into(),
                exit_code,
                notes,
                rules: vec![rule.id.clone()],
                cached_at,
            });
        }
    }

    commands
}

/// A command's outcome in the commands table: status, exit code and a note.
fn command_result(item: Option<&Item>) -> (Status, Option<i64>, String) {
    match item.map(Item::as_result) {
        Some(Ok(v)) => {
            let code = v["exit_code"].as_i64();
            let caps: Vec<String> = v["captures"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}: {}", plain(v)))
                        .collect()
                })
                .unwrap_or_default();
            let status = if code == Some(0) {
                Status::Pass
            } else {
                Status::Fail
            };
            let mut notes = format!("exit code {}", code.unwrap_or(-1));
            if !caps.is_empty() {
                notes = format!("{notes}; {}", caps.join(", "));
            }
            if status == Status::Fail {
                let tail = last_lines(v["stderr"].as_str().unwrap_or(""), 1);
                let tail = if tail.is_empty() {
                    last_lines(v["stdout"].as_str().unwrap_or(""), 1)
                } else {
                    tail
                };
                if !tail.is_empty() {
                    notes = format!("{notes}; {tail}");
                }
            }
            (status, code, notes)
        }
        Some(Err(e)) => (Status::Pending, None, e.to_string()),
        None => (Status::Pending, None, "not collected".into()),
    }
}

/// The standard repository files the policy asks for, present or missing, each entry once.
fn file_rows(
    pairs: &[(&crate::policy::model::Rule, &Outcome)],
    evidence: &BTreeMap<String, Item>,
) -> Vec<FileRow> {
    let mut repository_files: Vec<FileRow> = Vec::new();
    for (rule, _) in pairs {
        for req in rule.evidence.values() {
            let Request::Files(_) = req else { continue };
            let Some(Ok(v)) = evidence.get(&req.key()).map(Item::as_result) else {
                continue;
            };
            for p in v["present"].as_array().into_iter().flatten() {
                if repository_files
                    .iter()
                    .any(|f| f.entry == plain(&p["entry"]))
                {
                    continue;
                }
                repository_files.push(FileRow {
                    entry: plain(&p["entry"]),
                    present: true,
                    icon: "✅".into(),
                    path: plain(&p["path"]),
                    rule: rule.id.clone(),
                });
            }
            for m in v["missing"].as_array().into_iter().flatten() {
                if repository_files.iter().any(|f| f.entry == plain(m)) {
                    continue;
                }
                let icon = if rule.severity == Severity::Blocking {
                    "❌"
                } else {
                    "⚠️"
                };
                repository_files.push(FileRow {
                    entry: plain(m),
                    present: false,
                    icon: icon.into(),
                    path: String::new(),
                    rule: rule.id.clone(),
                });
            }
        }
    }

    repository_files
}

/// The remediation of every failing or pending rule, most urgent first.
fn recommendations(
    policy: &Policy,
    pairs: &[(&crate::policy::model::Rule, &Outcome)],
) -> Vec<Recommendation> {
    let mut recommendations: Vec<(u8, Severity, usize, Recommendation)> = Vec::new();
    for (idx, (rule, o)) in pairs.iter().enumerate() {
        if !matches!(o.status, Status::Fail | Status::Pending) {
            continue;
        }
        let Some(rem) = &rule.remediation else {
            continue;
        };
        let files = rem.files.clone().unwrap_or_else(|| files(o));
        let priority = rem.priority.clone().unwrap_or_else(|| {
            match rule.severity {
                Severity::Blocking => "critical",
                Severity::Warning => "medium",
                Severity::Info => "low",
            }
            .into()
        });
        recommendations.push((
            priority_rank(&priority),
            rule.severity,
            idx,
            Recommendation {
                rule: rule.id.clone(),
                priority: priority.to_ascii_uppercase(),
                category: rem.category.clone().unwrap_or_else(|| {
                    policy
                        .area(&rule.area)
                        .map(|a| a.title.clone())
                        .unwrap_or_default()
                }),
                files,
                action: rem.action.clone().unwrap_or_else(|| rule.title.clone()),
                rationale: rem.rationale.clone().unwrap_or_else(|| o.sentence.clone()),
                effort: rem.effort.clone().unwrap_or_else(|| "unestimated".into()),
                dependencies: rem.dependencies.clone().unwrap_or_else(|| "none".into()),
            },
        ));
    }
    recommendations.sort_by_key(|r| (r.0, r.1, r.2));
    recommendations.into_iter().map(|r| r.3).collect()
}

/// A gap of the summary: a failing or pending rule, where to look.
fn gap(rule: &crate::policy::model::Rule, o: &Outcome) -> Gap {
    let (icon, word) = icon_word(o.status, rule.severity);
    Gap {
        rule: rule.id.clone(),
        icon: icon.into(),
        word: word.into(),
        title: rule.title.clone(),
        sentence: o.sentence.clone(),
        locations: files(o),
    }
}

/// The warning a dirty work tree earns: the audit then describes files no commit holds.
fn dirty_warning(head: &crate::repo::Head) -> Option<String> {
    if !head.dirty {
        return None;
    }
    let n = head.dirty_paths.len();
    let mut shown: Vec<String> = head
        .dirty_paths
        .iter()
        .take(3)
        .map(|p| format!("`{p}`"))
        .collect();
    if n > 3 {
        shown.push(format!("+{} more", n - 3));
    }
    Some(format!(
        "work tree dirty: {n} uncommitted path(s) ({}); this audit describes files that no commit holds, so it cannot be reproduced from `{}`",
        shown.join(", "),
        head.short
    ))
}

/// The places a rule points at: its offenders when it has any (the gaps), else its evidence.
fn places(o: &Outcome) -> Vec<String> {
    let mut v: Vec<String> = if o.offenders.is_empty() {
        o.locations
            .iter()
            .map(|l| show_path(&l.to_string()))
            .collect()
    } else {
        o.offenders
            .iter()
            .filter_map(|f| {
                let p = f.path.as_deref()?;
                Some(show_path(&match f.line {
                    Some(l) => format!("{p}:{l}"),
                    None => p.to_string(),
                }))
            })
            .collect()
    };
    v.dedup();
    v
}

/// The files a rule points at, each once, in order.
fn files(o: &Outcome) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let paths: Vec<&str> = if o.offenders.is_empty() {
        o.locations.iter().map(|l| l.path.as_str()).collect()
    } else {
        o.offenders
            .iter()
            .filter_map(|f| f.path.as_deref())
            .collect()
    };
    for p in paths {
        let p = show_path(p);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A table row names a few places (a display cap: the bundle's findings keep every one); a
/// failing rule shows more than a passing one needs.
fn shown_locations(o: &Outcome) -> Vec<String> {
    let keep = if o.status == Status::Pass { 3 } else { 8 };
    let all = places(o);
    let mut v: Vec<String> = all.iter().take(keep).cloned().collect();
    if all.len() > keep {
        v.push(format!("+{} more", all.len() - keep));
    }
    v
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

fn document_row(
    d: &crate::policy::model::Document,
    item: Option<&Item>,
    links: Option<&Item>,
    approved: &[String],
) -> DocumentRow {
    let mark = |ok: bool| if ok { "✅" } else { "❌" }.to_string();
    let mut row = DocumentRow {
        path: d.path.clone(),
        title: d.title.clone(),
        exists: false,
        present: "❌".into(),
        complete: "—".into(),
        sections: "—".into(),
        links: "—".into(),
        status: "—".into(),
        overall: "❌".into(),
        notes: String::new(),
    };
    let v = match item.map(Item::as_result) {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            row.present = "⏳".into();
            row.overall = "⏳".into();
            row.notes = e.to_string();
            return row;
        }
        None => return row,
    };
    if !v["exists"].as_bool().unwrap_or(false) {
        row.notes = "missing".into();
        return row;
    }
    row.exists = true;
    row.present = mark(true);
    if let Some(p) = v["path"].as_str() {
        row.path = p.to_string();
    }
    let mut notes = Vec::new();
    let placeholders = v["placeholders"].as_array().map(Vec::len).unwrap_or(0);
    row.complete = mark(placeholders == 0);
    if placeholders > 0 {
        notes.push(format!("{placeholders} placeholder(s)"));
    }
    let status = v["status"].as_str().unwrap_or("");
    let status_ok = status.is_empty() || approved.iter().any(|a| a == status);
    if !status.is_empty() {
        row.status = format!("{} {status}", mark(status_ok));
        if !status_ok {
            notes.push(format!("status {status}"));
        }
    }
    let mut sections_ok = true;
    if !d.sections.is_empty() {
        let headings: Vec<String> = v["headings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["text"].as_str().map(str::to_lowercase))
            .collect();
        let missing: Vec<&String> = d
            .sections
            .iter()
            .filter(|s| !headings.iter().any(|h| h.contains(&s.to_lowercase())))
            .collect();
        sections_ok = missing.is_empty();
        row.sections = mark(sections_ok);
        if !missing.is_empty() {
            notes.push(format!(
                "missing section(s): {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if v["lossy"].as_bool() == Some(true) {
        notes.push("not valid UTF-8 (read lossily)".into());
    }
    let mut links_ok = true;
    match links.map(Item::as_result) {
        Some(Ok(l)) => {
            let broken = l["broken"].as_array().cloned().unwrap_or_default();
            links_ok = broken.is_empty();
            row.links = mark(links_ok);
            if !links_ok {
                let first: Vec<String> = broken
                    .iter()
                    .take(3)
                    .map(|b| {
                        format!(
                            "{} (line {})",
                            b["target"].as_str().unwrap_or(""),
                            b["line"].as_u64().unwrap_or(0)
                        )
                    })
                    .collect();
                notes.push(format!(
                    "{} broken link(s): {}",
                    broken.len(),
                    first.join(", ")
                ));
            }
        }
        Some(Err(e)) => row.links = format!("⏳ {e}"),
        None => {}
    }
    row.overall = mark(placeholders == 0 && status_ok && sections_ok && links_ok);
    row.notes = notes.join("; ");
    row
}
