//! The `files` source: which required files a repository has. GitHub looks for its community
//! files (LICENSE, SECURITY.md, CODEOWNERS, the PR template…) case-insensitively in the root,
//! `.github/` and `docs/`; so does this source, so a repository is judged as GitHub would see it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{Source, SourceDoc, n};
use super::{Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// Each entry: alternatives, any one of which satisfies it.
    pub entries: Vec<Vec<String>>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &[])?;
        let entries: Vec<Vec<String>> = raw
            .files
            .iter()
            .flatten()
            .map(|e| e.alternatives())
            .collect();
        if entries.is_empty() || entries.iter().any(|e| e.is_empty()) {
            return Err("`files` needs at least one file name or glob".into());
        }
        for alt in entries.iter().flatten() {
            fs::glob(alt, true)?;
        }
        Ok(Spec { entries })
    }
}

/// GitHub community-health files, matched case-insensitively and in root, .github/ and docs/.
const GITHUB_FILES: &[&str] = &[
    "license",
    "license.md",
    "license.txt",
    "readme.md",
    "security.md",
    "code_of_conduct.md",
    "contributing.md",
    "support.md",
    "codeowners",
    "pull_request_template.md",
    "funding.yml",
];

fn candidates(entry: &str) -> Vec<String> {
    let entry = entry.trim_start_matches("./");
    let name = entry.rsplit('/').next().unwrap_or(entry);
    if GITHUB_FILES.contains(&name.to_ascii_lowercase().as_str()) {
        vec![
            name.to_string(),
            format!(".github/{name}"),
            format!("docs/{name}"),
        ]
    } else {
        vec![entry.to_string()]
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let listing = ctx.listing();
    let mut present = Vec::new();
    let mut missing = Vec::new();
    let mut found = serde_json::Map::new();
    for entry in &spec.entries {
        let label = entry.join(" | ");
        let mut hit: Option<String> = None;
        'alts: for alt in entry {
            for cand in candidates(alt) {
                let g = fs::globset(std::slice::from_ref(&cand), true)
                    .map_err(super::CollectError::new)?;
                // A folder such as `.github/ISSUE_TEMPLATE/` counts when it holds a file.
                let dir_prefix = format!("{}/", cand.trim_end_matches('/').to_ascii_lowercase());
                if let Some(f) = listing.files.iter().find(|f| {
                    g.is_match(f.as_str()) || f.to_ascii_lowercase().starts_with(&dir_prefix)
                }) {
                    let shown = if g.is_match(f.as_str()) {
                        f.clone()
                    } else {
                        cand.trim_end_matches('/').to_string()
                    };
                    hit = Some(shown);
                    break 'alts;
                }
            }
        }
        match hit {
            Some(path) => {
                present.push(json!({"entry": label, "path": path}));
                found.insert(label, json!(path));
            }
            None => missing.push(json!(label)),
        }
    }
    let all = missing.is_empty();
    Ok(json!({
        "present": present,
        "missing": missing,
        "found": Value::Object(found),
        "all_present": all,
    }))
}

impl Source for Spec {
    const NAME: &'static str = "files";
    const DOC: SourceDoc = SourceDoc {
        name: "files",
        summary: "Which required files are present. Each entry is a glob or a list of alternatives; GitHub community files are found as GitHub finds them (any case, root, .github/ or docs/).",
        options: "none (the value is a list of entries)",
        names: &[
            n("present", "list", "{entry, path} for each entry found"),
            n("missing", "list of strings", "entries not found"),
            n("found", "map", "entry → path"),
            n("all_present", "bool", "nothing missing"),
        ],
        example: r#"[[rule]]
id = "standard-files"
area = "example"
title = "Standard repository files"
evidence.files = { files = [["LICENSE", "LICENSE.md"], "README.md", "SECURITY.md"] }
expect = ['size(files.missing) == 0']
"#,
    };

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "files [{}]",
            self.entries
                .iter()
                .map(|alts| alts.join(" | "))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn paths(&self) -> Vec<String> {
        self.entries.iter().flatten().cloned().collect()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.entries.iter().flatten().cloned().collect(), vec![]))
    }
}
