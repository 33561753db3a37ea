//! The `scan` source: regex matches over a .gitignore-aware tree (markers such as TODO/FIXME in
//! runtime code, redaction code present, an endpoint handled), each with path, line and text.

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{CollectError, Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

pub const DEFAULT_MAX_MATCHES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub pattern: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub case_insensitive: bool,
    pub max_matches: usize,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(
            raw,
            &["include", "exclude", "case_insensitive", "max_matches"],
        )?;
        let pattern = raw.scan.clone().unwrap_or_default();
        Self::build(pattern, raw)
    }

    pub(crate) fn build(pattern: String, raw: &EvidenceRaw) -> Result<Spec, String> {
        let case_insensitive = raw.case_insensitive.unwrap_or(false);
        RegexBuilder::new(&pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
        let include = raw.include.clone().unwrap_or_else(|| vec!["**".into()]);
        let exclude = raw.exclude.clone().unwrap_or_default();
        fs::globset(&include, false)?;
        fs::globset(&exclude, false)?;
        Ok(Spec {
            pattern,
            include,
            exclude,
            case_insensitive,
            max_matches: raw.max_matches.unwrap_or(DEFAULT_MAX_MATCHES),
        })
    }
}

/// The text files a scan-like source reads: included, not excluded, not a published audit.
pub(crate) fn selected_files<'c>(
    ctx: &'c Ctx<'_>,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<&'c str>, CollectError> {
    let inc = fs::globset(include, false).map_err(CollectError::new)?;
    let exc = fs::globset(exclude, false).map_err(CollectError::new)?;
    Ok(ctx
        .listing()
        .matching(&inc, Some(&exc))
        .into_iter()
        .filter(|f| !ctx.is_published_audit(f))
        .collect())
}

/// Read a file for scanning; binary files (a NUL byte early on) are skipped.
pub(crate) fn scan_text(ctx: &Ctx<'_>, rel: &str) -> Option<String> {
    let t = ctx.read_text(rel).ok()?;
    let head = &t.text.as_bytes()[..t.text.len().min(8192)];
    if head.contains(&0) {
        return None;
    }
    Some(t.text)
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let re = RegexBuilder::new(&spec.pattern)
        .case_insensitive(spec.case_insensitive)
        .build()
        .map_err(|e| CollectError::new(e.to_string()))?;
    let files = selected_files(ctx, &spec.include, &spec.exclude)?;
    let mut matches = Vec::new();
    let mut count = 0usize;
    let mut files_matched = std::collections::BTreeSet::new();
    for rel in &files {
        let Some(text) = scan_text(ctx, rel) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if re.is_match(line) {
                count += 1;
                files_matched.insert(rel.to_string());
                if matches.len() < spec.max_matches {
                    let shown: String = line.trim().chars().take(200).collect();
                    matches.push(json!({"path": rel, "line": i + 1, "text": shown}));
                }
            }
        }
    }
    Ok(json!({
        "matches": matches,
        "count": count,
        "files": files_matched.into_iter().collect::<Vec<_>>(),
        "files_scanned": files.len(),
        "truncated": count > matches.len(),
    }))
}
