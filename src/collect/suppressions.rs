//! The `suppressions` source: the vulnerability findings a repository has told its scanners to
//! ignore, read with each tool's own format — `.trivyignore` (the comment block above each id:
//! `owner:`, `justification:`, `expires:`/`exp:`; or `exp:` on the id's line),
//! `.trivyignore.yaml`, `.grype.yaml`, `osv-scanner.toml`, `.snyk` and cargo-deny's
//! `deny.toml` — into one list a rule can govern without line arithmetic: who owns each
//! suppression, why, until when. A missing or invalid expiry is a problem of that entry, never
//! a crash; a file that does not parse is unread (the rule is pending).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx};
use crate::policy::model::EvidenceRaw;

/// The files read when the policy names none: each tool's default location.
pub const DEFAULT_FILES: &[&str] = &[
    ".trivyignore",
    ".trivyignore.yaml",
    ".grype.yaml",
    "osv-scanner.toml",
    ".snyk",
    "deny.toml",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// Files (or globs) to read; empty: [`DEFAULT_FILES`] in the audited folder.
    pub files: Vec<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &[])?;
        let files = raw.suppressions.clone().unwrap_or_default();
        for f in &files {
            super::fs::glob(f, false)?;
            if kind_of(f).is_none() && !super::fs::is_glob(f) {
                return Err(format!(
                    "`{f}` is not a suppression file shipshape reads ({})",
                    DEFAULT_FILES.join(", ")
                ));
            }
        }
        Ok(Spec { files })
    }

    pub fn paths(&self) -> Vec<String> {
        if self.files.is_empty() {
            DEFAULT_FILES.iter().map(|s| s.to_string()).collect()
        } else {
            self.files.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TrivyIgnore,
    TrivyYaml,
    Grype,
    Osv,
    Snyk,
    CargoDeny,
}

fn kind_of(path: &str) -> Option<Kind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    Some(match name {
        ".trivyignore" => Kind::TrivyIgnore,
        ".trivyignore.yaml" | ".trivyignore.yml" => Kind::TrivyYaml,
        ".grype.yaml" | ".grype.yml" => Kind::Grype,
        "osv-scanner.toml" => Kind::Osv,
        ".snyk" => Kind::Snyk,
        "deny.toml" => Kind::CargoDeny,
        _ => return None,
    })
}

/// One suppressed finding, as read.
#[derive(Debug, Default, Clone, PartialEq)]
struct Entry {
    id: String,
    line: usize,
    owner: Option<String>,
    justification: Option<String>,
    /// The expiry as written.
    expires: Option<String>,
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let files: Vec<String> = if spec.files.iter().any(|f| super::fs::is_glob(f)) {
        let set = super::fs::globset(&spec.files, false).map_err(CollectError::new)?;
        ctx.listing()
            .matching(&set, None)
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        spec.paths()
            .into_iter()
            .filter(|f| ctx.root.join(f).is_file())
            .collect()
    };
    let now = ctx.options.now;
    let mut entries = Vec::new();
    let mut unread = Vec::new();
    for file in &files {
        let Some(kind) = kind_of(file) else { continue };
        let text = ctx.read_text(file)?.text;
        match parse(kind, &text) {
            Ok(found) => entries.extend(found.into_iter().map(|e| describe(e, file, now))),
            Err(e) => unread.push(json!({"path": file, "reason": format!("not parsed: {e}")})),
        }
    }
    let problems: Vec<Value> = entries
        .iter()
        .filter(|e| e["problems"].as_array().is_some_and(|p| !p.is_empty()))
        .cloned()
        .collect();
    Ok(json!({
        "count": entries.len(),
        "expired": entries.iter().filter(|e| e["expired"] == true).count(),
        "problems": problems,
        "entries": entries,
        "files": files,
        "unread": unread,
    }))
}

/// An entry with its expiry checked against `now` and its problems listed.
fn describe(e: Entry, file: &str, now: DateTime<Utc>) -> Value {
    let mut problems = Vec::new();
    if e.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
        problems.push("no owner".to_string());
    }
    if e.justification
        .as_deref()
        .is_none_or(|j| j.trim().is_empty())
    {
        problems.push("no justification".to_string());
    }
    let date = e.expires.as_deref().map(|s| (s, parse_date(s)));
    let (expired, days_left) = match date {
        None => {
            problems.push("no expiry date".into());
            (false, None)
        }
        Some((raw, None)) => {
            problems.push(format!("expiry `{raw}` is not a date (YYYY-MM-DD)"));
            (false, None)
        }
        Some((_, Some(d))) => {
            let left = (d - now.date_naive()).num_days();
            if left < 0 {
                problems.push(format!("expired on {d}"));
            }
            (left < 0, Some(left))
        }
    };
    json!({
        "id": e.id,
        "file": file,
        "line": e.line,
        "owner": e.owner,
        "justification": e.justification,
        "expires": date.and_then(|(_, d)| d).map(|d| d.to_string()).or(e.expires),
        "expired": expired,
        "days_left": days_left,
        "problems": problems,
    })
}

/// `2026-03-31`, `2026-03-31T00:00:00Z` or a bare RFC 3339 time: the day it names.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().trim_matches(['"', '\'']);
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn parse(kind: Kind, text: &str) -> Result<Vec<Entry>, String> {
    match kind {
        Kind::TrivyIgnore => Ok(trivyignore(text)),
        Kind::TrivyYaml => trivy_yaml(text),
        Kind::Grype => grype(text),
        Kind::Osv => osv(text),
        Kind::Snyk => snyk(text),
        Kind::CargoDeny => cargo_deny(text),
    }
}

/// `key: value` in a comment line (`# owner: team`), case-insensitive key.
fn comment_field(line: &str) -> Option<(String, String)> {
    let c = line.trim().strip_prefix('#')?.trim();
    let (k, v) = c.split_once(':')?;
    let k = k.trim().to_ascii_lowercase();
    matches!(
        k.as_str(),
        "owner" | "justification" | "reason" | "expires" | "exp" | "expiry"
    )
    .then(|| (k, v.trim().to_string()))
}

/// Apply a comment field to an entry.
fn set_field(e: &mut Entry, key: &str, value: String) {
    match key {
        "owner" => e.owner = Some(value),
        "justification" | "reason" => e.justification = Some(value),
        _ => e.expires = Some(value),
    }
}

/// The comment fields in the block of `#` lines right above line index `i`.
fn block_above(lines: &[&str], i: usize, e: &mut Entry) {
    for l in lines[..i].iter().rev() {
        if !l.trim_start().starts_with('#') {
            break;
        }
        if let Some((k, v)) = comment_field(l) {
            let unset = match k.as_str() {
                "owner" => e.owner.is_none(),
                "justification" | "reason" => e.justification.is_none(),
                _ => e.expires.is_none(),
            };
            if unset {
                set_field(e, &k, v);
            }
        }
    }
}

fn trivyignore(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words = t.split_whitespace();
        let mut e = Entry {
            id: words.next().unwrap_or_default().to_string(),
            line: i + 1,
            ..Entry::default()
        };
        for w in words {
            if let Some(d) = w.strip_prefix("exp:") {
                e.expires = Some(d.to_string());
            }
        }
        block_above(&lines, i, &mut e);
        out.push(e);
    }
    out
}

/// Finds each entry of a YAML or TOML file by its id, in file order: the file's lines are split
/// once, and each search starts where the previous entry was found.
struct Locator<'t> {
    lines: Vec<&'t str>,
    /// 0-based line where the next search starts.
    next: usize,
}

impl<'t> Locator<'t> {
    fn new(text: &'t str) -> Self {
        Locator {
            lines: text.lines().collect(),
            next: 0,
        }
    }

    /// The entry for `id`: its line, and the `#` comment block above the item (for the fields
    /// the format has no key for).
    fn locate(&mut self, id: &str) -> Entry {
        let lines = &self.lines;
        let idx = (self.next..lines.len())
            .find(|&i| lines[i].contains(id))
            .unwrap_or(self.next.min(lines.len().saturating_sub(1)));
        self.next = idx + 1;
        let mut e = Entry {
            id: id.to_string(),
            line: idx + 1,
            ..Entry::default()
        };
        // The item may start a line or two above its id (`- id:`); its comments sit above that.
        let starts_item = |j: usize| {
            lines
                .get(j)
                .is_some_and(|l| l.trim_start().starts_with('-'))
        };
        let top = if starts_item(idx) {
            idx
        } else {
            (idx.saturating_sub(3)..idx)
                .rev()
                .find(|&j| starts_item(j))
                .unwrap_or(idx)
        };
        block_above(lines, top.min(lines.len()), &mut e);
        e
    }
}

fn yaml(text: &str) -> Result<serde_yaml::Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

fn str_of(v: &serde_yaml::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Null => None,
        other => serde_yaml::to_string(other)
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

fn trivy_yaml(text: &str) -> Result<Vec<Entry>, String> {
    let doc = yaml(text)?;
    let mut out = Vec::new();
    let mut at = Locator::new(text);
    for section in [
        "vulnerabilities",
        "misconfigurations",
        "secrets",
        "licenses",
    ] {
        for item in doc
            .get(section)
            .and_then(|s| s.as_sequence())
            .into_iter()
            .flatten()
        {
            let Some(id) = str_of(item, "id") else {
                continue;
            };
            let mut e = at.locate(&id);
            e.justification = str_of(item, "statement").or(e.justification);
            e.expires = str_of(item, "expired_at").or(e.expires);
            e.owner = str_of(item, "owner").or(e.owner);
            out.push(e);
        }
    }
    Ok(out)
}

fn grype(text: &str) -> Result<Vec<Entry>, String> {
    let doc = yaml(text)?;
    let mut out = Vec::new();
    let mut at = Locator::new(text);
    for item in doc
        .get("ignore")
        .and_then(|s| s.as_sequence())
        .into_iter()
        .flatten()
    {
        let Some(id) = str_of(item, "vulnerability") else {
            continue;
        };
        let mut e = at.locate(&id);
        e.justification = str_of(item, "reason").or(e.justification);
        out.push(e);
    }
    Ok(out)
}

fn snyk(text: &str) -> Result<Vec<Entry>, String> {
    let doc = yaml(text)?;
    let mut out = Vec::new();
    let mut at = Locator::new(text);
    let Some(ignore) = doc.get("ignore").and_then(|i| i.as_mapping()) else {
        return Ok(out);
    };
    for (id, rules) in ignore {
        let Some(id) = id.as_str() else { continue };
        // `SNYK-X: [{ '*': { reason, expires } }, …]`: one entry per path rule.
        for rule in rules.as_sequence().into_iter().flatten() {
            for (_, body) in rule.as_mapping().into_iter().flatten() {
                let mut e = at.locate(id);
                e.justification = str_of(body, "reason").or(e.justification);
                e.expires = str_of(body, "expires").or(e.expires);
                out.push(e);
            }
        }
    }
    Ok(out)
}

fn toml_doc(text: &str) -> Result<toml::Value, String> {
    toml::from_str::<toml::Table>(text)
        .map(toml::Value::Table)
        .map_err(|e| e.to_string())
}

fn osv(text: &str) -> Result<Vec<Entry>, String> {
    let doc = toml_doc(text)?;
    let mut out = Vec::new();
    let mut at = Locator::new(text);
    for item in doc
        .get("IgnoredVulns")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let Some(id) = item.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        let mut e = at.locate(id);
        e.justification = item
            .get("reason")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or(e.justification);
        e.expires = item
            .get("ignoreUntil")
            .map(|v| v.to_string().trim_matches('"').to_string())
            .or(e.expires);
        out.push(e);
    }
    Ok(out)
}

fn cargo_deny(text: &str) -> Result<Vec<Entry>, String> {
    let doc = toml_doc(text)?;
    let mut out = Vec::new();
    let mut at = Locator::new(text);
    let ignore = doc
        .get("advisories")
        .and_then(|a| a.get("ignore"))
        .and_then(|i| i.as_array());
    for item in ignore.into_iter().flatten() {
        let (id, reason) = match item {
            toml::Value::String(s) => (s.clone(), None),
            toml::Value::Table(t) => match t.get("id").and_then(|v| v.as_str()) {
                Some(id) => (
                    id.to_string(),
                    t.get("reason").and_then(|v| v.as_str()).map(str::to_string),
                ),
                None => continue,
            },
            _ => continue,
        };
        let mut e = at.locate(&id);
        e.justification = reason.or(e.justification);
        out.push(e);
    }
    Ok(out)
}

impl Source for Spec {
    const NAME: &'static str = "suppressions";
    const DOC: SourceDoc = SourceDoc {
        name: "suppressions",
        summary: "Vulnerability suppressions in each tool's own format: .trivyignore (comment block above each id), .trivyignore.yaml, .grype.yaml, osv-scanner.toml, .snyk, cargo-deny deny.toml.",
        options: "none (the value lists the files; [] reads each tool's default file)",
        names: &[
            n(
                "entries",
                "list",
                "{id, file, line, owner, justification, expires, expired, days_left, problems}",
            ),
            n("count", "int", "suppressions read"),
            n("expired", "int", "suppressions past their expiry"),
            n(
                "problems",
                "list",
                "the entries with a problem (no owner, no justification, no or invalid expiry, expired)",
            ),
            n("files", "list", "files read"),
        ],
        example: r#"[[rule]]
id = "cve-suppressions-governed"
area = "example"
title = "Every suppression has an owner, a reason and an unexpired date"
evidence.s = { suppressions = [] }
allow_empty = true
expect = ['s.problems == []']
"#,
    };

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!("suppressions in {}", self.paths().join(", "))
    }

    fn paths(&self) -> Vec<String> {
        Spec::paths(self)
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((Spec::paths(self), vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn trivyignore_reads_the_block_above_each_id() {
        let t = "# header comment\n\n# owner: platform\n# justification: not reachable\n# expires: 2026-06-30\nCVE-2024-1\n\n# owner: sec\nCVE-2024-2 exp:2025-01-01\nCVE-2024-3\n";
        let e = trivyignore(t);
        assert_eq!(e.len(), 3);
        assert_eq!(
            (
                e[0].id.as_str(),
                e[0].line,
                e[0].owner.as_deref(),
                e[0].expires.as_deref()
            ),
            ("CVE-2024-1", 6, Some("platform"), Some("2026-06-30"))
        );
        let d = describe(e[1].clone(), ".trivyignore", now());
        assert_eq!(d["expired"], true);
        assert_eq!(
            d["problems"],
            json!(["no justification", "expired on 2025-01-01"])
        );
        // CVE-2024-3 has no comment block of its own: the line above is an id, not a comment.
        let d = describe(e[2].clone(), ".trivyignore", now());
        assert_eq!(
            d["problems"],
            json!(["no owner", "no justification", "no expiry date"])
        );
    }

    #[test]
    fn every_format_gives_ids_lines_and_expiry() {
        let trivy = "vulnerabilities:\n  # owner: team-a\n  - id: CVE-2024-9\n    statement: not used\n    expired_at: 2026-12-31\n";
        let e = trivy_yaml(trivy).unwrap();
        assert_eq!(
            (e[0].line, e[0].owner.as_deref(), e[0].expires.as_deref()),
            (3, Some("team-a"), Some("2026-12-31"))
        );
        let g =
            grype(".grype.yaml: x\nignore:\n  - vulnerability: GHSA-aaaa\n    reason: dev only\n")
                .unwrap();
        assert_eq!(
            (g[0].id.as_str(), g[0].line, g[0].justification.as_deref()),
            ("GHSA-aaaa", 3, Some("dev only"))
        );
        let o = osv("[[IgnoredVulns]]\nid = \"GO-2024-1\"\nignoreUntil = 2026-04-01T00:00:00Z\nreason = \"no fix\"\n").unwrap();
        assert_eq!(o[0].line, 2);
        assert_eq!(
            parse_date(o[0].expires.as_deref().unwrap()),
            NaiveDate::from_ymd_opt(2026, 4, 1)
        );
        let s = snyk("version: v1.25.0\nignore:\n  SNYK-JS-1:\n    - '*':\n        reason: none\n        expires: 2026-05-01T00:00:00.000Z\n").unwrap();
        assert_eq!((s[0].id.as_str(), s[0].line), ("SNYK-JS-1", 3));
        let d = cargo_deny("[advisories]\nignore = [\n  # owner: rust-team\n  { id = \"RUSTSEC-2024-1\", reason = \"unmaintained, no alternative\" },\n  \"RUSTSEC-2024-2\",\n]\n").unwrap();
        assert_eq!((d[0].line, d[0].owner.as_deref()), (4, Some("rust-team")));
        assert_eq!(d[1].justification, None);
        // A bad expiry is a problem, not a crash.
        let bad = describe(
            Entry {
                id: "X".into(),
                line: 1,
                owner: Some("a".into()),
                justification: Some("b".into()),
                expires: Some("soon".into()),
            },
            "f",
            now(),
        );
        assert_eq!(
            bad["problems"],
            json!(["expiry `soon` is not a date (YYYY-MM-DD)"])
        );
        assert!(grype("ignore: [unclosed").is_err());
    }
}
