//! The `capture` source: the set of values a regex captures across files, for cross-reference
//! rules — one version everywhere, every env var the code reads documented, every route in the
//! README.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx};
use crate::policy::model::EvidenceRaw;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub pattern: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Capture group to take (0 = whole match).
    pub group: u32,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["include", "exclude", "group"])?;
        let pattern = raw.capture.clone().unwrap_or_default();
        let re = Regex::new(&pattern).map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
        let group = raw
            .group
            .unwrap_or(if re.captures_len() > 1 { 1 } else { 0 });
        if group as usize >= re.captures_len() {
            return Err(format!(
                "`group = {group}` but the regex has {} capture group(s)",
                re.captures_len() - 1
            ));
        }
        let include = raw.include.clone().unwrap_or_else(|| vec!["**".into()]);
        let exclude = raw.exclude.clone().unwrap_or_default();
        super::fs::globset(&include, false)?;
        super::fs::globset(&exclude, false)?;
        Ok(Spec {
            pattern,
            include,
            exclude,
            group,
        })
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let lines = super::scan::LineMatcher::new(&spec.pattern, false)
        .map_err(|e| CollectError::new(e.to_string()))?;
    let re = lines.line_regex();
    let files = super::scan::selected_files(ctx, &spec.include, &spec.exclude)?;
    let per_file = super::scan::per_file(ctx, &files, |rel| {
        let text = super::scan::scan_text(ctx, rel)?;
        let blocks = crate::redact::key_block_lines(&text);
        let mut found = Vec::new();
        for (line_no, line) in lines.matching_lines(&text) {
            for c in re.captures_iter(line) {
                if let Some(m) = c.get(spec.group as usize) {
                    // Inside a private key block every line is secret, whatever matched.
                    let v = if super::scan::in_blocks(&blocks, line_no) {
                        crate::redact::MASK.to_string()
                    } else {
                        m.as_str().to_string()
                    };
                    found.push((line_no, v));
                }
            }
        }
        Some(found)
    });
    let mut values = BTreeSet::new();
    let mut by_file: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut locations = Vec::new();
    for (rel, found) in files
        .iter()
        .zip(per_file)
        .filter_map(|(r, f)| Some((r, f?)))
    {
        for (line_no, v) in found {
            values.insert(v.clone());
            by_file
                .entry(rel.to_string())
                .or_default()
                .insert(v.clone());
            if locations.len() < 1000 {
                locations.push(json!({"path": rel, "line": line_no, "value": v}));
            }
        }
    }
    Ok(json!({
        "values": values.into_iter().collect::<Vec<_>>(),
        "by_file": by_file,
        "locations": locations,
        "count": locations.len(),
        "files_scanned": files.len(),
    }))
}

impl Source for Spec {
    const NAME: &'static str = "capture";
    const DOC: SourceDoc = SourceDoc {
        name: "capture",
        summary: "The set of values a regex captures across files, for cross-reference rules (one version everywhere, every route documented).",
        options: "include, exclude (globs), group",
        names: &[
            n(
                "values",
                "list of strings",
                "distinct captured values, sorted",
            ),
            n("by_file", "map", "path → its values"),
            n("locations", "list", "{path, line, value}"),
            n("count", "int", "number of captures (up to 1000 locations)"),
        ],
        example: r#"[[rule]]
id = "one-version"
area = "example"
title = "One version string everywhere"
evidence.versions = { capture = 'VERSION\s*=\s*"([^"]+)"', include = ["**/version.py"] }
expect = ['size(versions.values) == 1']
"#,
    };
    const COST: u8 = 2;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "capture /{}/ group {} in {}",
            self.pattern,
            self.group,
            self.include.join(", ")
        )
    }

    fn paths(&self) -> Vec<String> {
        self.include.clone()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.include.clone(), self.exclude.clone()))
    }

    fn matched_nothing(&self, name: &str, v: &serde_json::Value) -> Option<String> {
        (v.get("files_scanned").and_then(serde_json::Value::as_u64) == Some(0))
            .then(|| format!("`{name}`: no file matches {}", self.include.join(", ")))
    }
}
