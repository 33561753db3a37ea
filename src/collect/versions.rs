//! The `versions` source: the release version from every place a project states it —
//! `pyproject.toml` (PEP 621 and Poetry), `package.json`, `Cargo.toml` (package or workspace),
//! `__version__`/`VERSION` assignments in Python version files, a `VERSION` file, Helm
//! `Chart.yaml` (`appVersion`, else `version`), the `app.kubernetes.io/version` label and the
//! tags of the project's own images in manifests and kustomize `images:`, the top *released*
//! CHANGELOG heading (Keep a Changelog's `Unreleased` skipped) and the latest release tag — each
//! `{source, file, line, version}`, plus the release version most of them agree on and the
//! outliers. Other version-like strings (base images, dependencies, schema versions) are not
//! release versions and are never read as one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{Source, SourceDoc, n};
use super::{Collected, Ctx};
use crate::policy::model::EvidenceRaw;

/// Where versions are looked for when the policy names no file.
pub const DEFAULT_FILES: &[&str] = &[
    "pyproject.toml",
    "package.json",
    "Cargo.toml",
    "VERSION",
    "Chart.yaml",
    "charts/*/Chart.yaml",
    "CHANGELOG.md",
    "CHANGES.md",
    "HISTORY.md",
    "NEWS.md",
    "CHANGELOG.rst",
    "CHANGES.rst",
    "HISTORY.rst",
    "**/version.py",
    "**/_version.py",
    "**/__about__.py",
    "*/__init__.py",
    "src/*/__init__.py",
    "**/kustomization.yaml",
    "k8s/**/*.yaml",
    "deploy/**/*.yaml",
    "manifests/**/*.yaml",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// Files or globs to read; empty: [`DEFAULT_FILES`].
    pub files: Vec<String>,
    /// The project's own images (repository names); empty: images named like the project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["images"])?;
        let files = raw.versions.clone().unwrap_or_default();
        for f in &files {
            super::fs::glob(f, false)?;
        }
        Ok(Spec {
            files,
            images: raw.images.clone().unwrap_or_default(),
        })
    }

    fn globs(&self) -> Vec<String> {
        if self.files.is_empty() {
            DEFAULT_FILES.iter().map(|s| s.to_string()).collect()
        } else {
            self.files.clone()
        }
    }
}

/// One statement of the release version.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Stated {
    source: String,
    file: String,
    line: usize,
    version: String,
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let set = super::fs::globset(&spec.globs(), false).map_err(super::CollectError::new)?;
    let exclude = super::fs::globset(&["@non-production".to_string()], false)
        .map_err(super::CollectError::new)?;
    let files: Vec<String> = ctx
        .listing()
        .matching(&set, Some(&exclude))
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut unread = Vec::new();
    for f in &files {
        match ctx.read_text(f) {
            Ok(t) => {
                texts.insert(f.clone(), t.text);
            }
            Err(e) => unread.push(json!({"path": f, "reason": e.reason})),
        }
    }
    let mut names: Vec<String> = texts
        .iter()
        .filter_map(|(f, t)| project_name(f, t))
        .collect();
    names.sort();
    names.dedup();
    let own = |image: &str| own_image(image, &spec.images, &names);
    let mut stated: Vec<Stated> = Vec::new();
    for (f, text) in &texts {
        stated.extend(statements(f, text, &own));
    }
    if let Some(tag) = super::git::latest_release_tag(ctx) {
        stated.push(Stated {
            source: "latest release tag".into(),
            file: String::new(),
            line: 0,
            version: normalise(&tag).unwrap_or(tag),
        });
    }
    let release = release_version(&stated);
    // The latest tag of an earlier release is not a disagreement: the gate runs before the
    // release is tagged. A tag ahead of the files is.
    let outliers: Vec<Value> = stated
        .iter()
        .filter(|s| s.version != release)
        .filter(|s| s.source != "latest release tag" || !older(&s.version, &release))
        .map(|s| {
            json!({"source": s.source, "file": s.file, "line": s.line, "version": s.version,
                   "expected": release})
        })
        .collect();
    let mut values: Vec<&str> = stated.iter().map(|s| s.version.as_str()).collect();
    values.sort();
    values.dedup();
    Ok(json!({
        "entries": stated,
        "values": values,
        "release": release,
        "coherent": !stated.is_empty() && outliers.is_empty(),
        "outliers": outliers,
        "projects": names,
        "files": files,
        "unread": unread,
    }))
}

/// The version most files agree on; a tie goes to the highest (a bump that did not reach every
/// file yet). The latest tag does not vote — before a release is tagged it names the previous
/// one — unless nothing else states a version.
fn release_version(stated: &[Stated]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in stated.iter().filter(|s| s.source != "latest release tag") {
        match counts.iter_mut().find(|(v, _)| *v == s.version) {
            Some(c) => c.1 += 1,
            None => counts.push((&s.version, 1)),
        }
    }
    let best = counts.iter().map(|c| c.1).max().unwrap_or(0);
    let winner = counts
        .iter()
        .filter(|c| c.1 == best)
        .map(|c| c.0)
        .reduce(|a, b| if older(a, b) { b } else { a });
    match winner {
        Some(v) => v.to_string(),
        None => stated
            .first()
            .map(|s| s.version.clone())
            .unwrap_or_default(),
    }
}

/// Whether version `a` comes before `b`, by semantic-version precedence (the git source's
/// comparison; a two-part version counts as `x.y.0`).
fn older(a: &str, b: &str) -> bool {
    let three = |v: &str| {
        let end = v.find(['-', '+']).unwrap_or(v.len());
        if v[..end].matches('.').count() == 1 {
            format!("{}.0{}", &v[..end], &v[end..])
        } else {
            v.to_string()
        }
    };
    super::git::semver_cmp(&three(a), &three(b)) == std::cmp::Ordering::Less
}

/// `v1.2.3` → `1.2.3`; anything that is not a release version → None.
fn normalise(v: &str) -> Option<String> {
    let re = cached_regex!(r"^v?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?)$");
    re.captures(v.trim().trim_matches(['"', '\'']))
        .map(|c| c[1].to_string())
}

/// The project's name a manifest file declares (to tell its own images from base images).
fn project_name(file: &str, text: &str) -> Option<String> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let name = match base {
        "pyproject.toml" | "Cargo.toml" => {
            let v: toml::Table = toml::from_str(text).ok()?;
            v.get("project")
                .or_else(|| v.get("package"))
                .or_else(|| v.get("tool").and_then(|t| t.get("poetry")))
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string)
        }
        "package.json" => serde_json::from_str::<Value>(text)
            .ok()?
            .get("name")?
            .as_str()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_string()),
        "Chart.yaml" => serde_yaml::from_str::<Value>(text)
            .ok()?
            .get("name")?
            .as_str()
            .map(str::to_string),
        _ => None,
    }?;
    (!name.is_empty()).then_some(name)
}

/// Whether `image` (a reference without its tag) is one of the project's own images.
fn own_image(image: &str, listed: &[String], names: &[String]) -> bool {
    if !listed.is_empty() {
        return listed.iter().any(|l| l == image);
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    names.iter().any(|n| {
        last == n || last.starts_with(&format!("{n}-")) || last.starts_with(&format!("{n}_"))
    })
}

/// Every statement of the release version in one file.
fn statements(file: &str, text: &str, own: &dyn Fn(&str) -> bool) -> Vec<Stated> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let at = |source: &str, line: usize, version: &str| {
        normalise(version).map(|v| Stated {
            source: source.to_string(),
            file: file.to_string(),
            line,
            version: v,
        })
    };
    match base {
        "pyproject.toml" => toml_version(text, &["project", "tool.poetry"])
            .and_then(|(l, v)| at("pyproject.toml", l, &v))
            .into_iter()
            .collect(),
        "Cargo.toml" => toml_version(text, &["package", "workspace.package"])
            .and_then(|(l, v)| at("Cargo.toml", l, &v))
            .into_iter()
            .collect(),
        "package.json" => {
            let v: Option<String> = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|j| j.get("version")?.as_str().map(str::to_string));
            let line = text.lines().position(|l| l.contains("\"version\"")).unwrap_or(0) + 1;
            v.and_then(|v| at("package.json", line, &v))
                .into_iter()
                .collect()
        }
        "VERSION" => text
            .lines()
            .enumerate()
            .find(|(_, l)| !l.trim().is_empty())
            .and_then(|(i, l)| at("VERSION file", i + 1, l.trim()))
            .into_iter()
            .collect(),
        "Chart.yaml" => chart_version(text)
            .and_then(|(key, l, v)| at(&format!("Chart.yaml {key}"), l, &v))
            .into_iter()
            .collect(),
        b if is_changelog(b) => changelog_version(text)
            .and_then(|(l, v)| at("CHANGELOG", l, &v))
            .into_iter()
            .collect(),
        b if b.ends_with(".py") => python_versions(text)
            .into_iter()
            .filter_map(|(l, v)| at("Python version constant", l, &v))
            .collect(),
        b if b.ends_with(".yaml") || b.ends_with(".yml") => yaml_versions(text, own)
            .into_iter()
            .filter_map(|(source, l, v)| at(source, l, &v))
            .collect(),
        _ => Vec::new(),
    }
}

/// A changelog by its name: CHANGELOG, CHANGES, HISTORY or NEWS, bare or `.md`/`.rst`/`.txt`.
fn is_changelog(base: &str) -> bool {
    let stem = base
        .strip_suffix(".md")
        .or_else(|| base.strip_suffix(".rst"))
        .or_else(|| base.strip_suffix(".txt"))
        .unwrap_or(base);
    ["CHANGELOG", "CHANGES", "HISTORY", "NEWS"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(stem))
}

/// `version = "…"` in the first of `tables` the file has (`[project]`, `[tool.poetry]`…).
fn toml_version(text: &str, tables: &[&str]) -> Option<(usize, String)> {
    let header = cached_regex!(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$");
    let version = cached_regex!(r#"^\s*version\s*=\s*["']([^"']+)["']"#);
    let mut current = String::new();
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = header.captures(line) {
            current = c[1].trim().to_string();
            continue;
        }
        if let Some(rank) = tables.iter().position(|t| *t == current)
            && let Some(c) = version.captures(line)
        {
            found.push((rank, i + 1, c[1].to_string()));
        }
    }
    found.sort();
    found.into_iter().next().map(|(_, l, v)| (l, v))
}

/// Helm's `appVersion` (the application's version), else the chart's `version`.
fn chart_version(text: &str) -> Option<(&'static str, usize, String)> {
    let re = cached_regex!(r#"^(appVersion|version):\s*["']?([^"'\s#]+)"#);
    let mut app = None;
    let mut chart = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = re.captures(line) {
            let slot = if &c[1] == "appVersion" {
                &mut app
            } else {
                &mut chart
            };
            slot.get_or_insert((i + 1, c[2].to_string()));
        }
    }
    app.map(|(l, v)| ("appVersion", l, v))
        .or_else(|| chart.map(|(l, v)| ("version", l, v)))
}

/// The top released heading of a changelog: `## [1.2.3] - …`, `# 1.2.3 (…)`, or an underlined
/// heading (`1.2.3 (2026-11-17)` over `===`, reStructuredText's `Version 3.0.3` over `---`).
/// `Unreleased` has no version and is skipped.
fn changelog_version(text: &str) -> Option<(usize, String)> {
    let version = cached_regex!(r"^\[?v?(\d+\.\d+(?:\.\d+)?[0-9A-Za-z.+-]*)\]?");
    let lines: Vec<&str> = text.lines().collect();
    let rule = |u: &str| {
        u.len() >= 3 && (u.chars().all(|c| c == '=') || u.chars().all(|c| c == '-'))
    };
    for (i, l) in lines.iter().enumerate() {
        let underlined = lines.get(i + 1).is_some_and(|u| rule(u.trim_end()));
        let heading = if let Some(h) = l.strip_prefix("## ").or_else(|| l.strip_prefix("# ")) {
            h
        } else if underlined && !l.trim().is_empty() {
            l
        } else {
            continue;
        };
        let heading = heading.trim();
        let heading = heading
            .strip_prefix("Version ")
            .or_else(|| heading.strip_prefix("version "))
            .unwrap_or(heading);
        if let Some(c) = version.captures(heading) {
            return Some((i + 1, c[1].to_string()));
        }
    }
    None
}

/// `__version__ = "…"` / `VERSION = "…"` at the top level of a Python file.
fn python_versions(text: &str) -> Vec<(usize, String)> {
    let re = cached_regex!(r#"^(?:__version__|VERSION)\s*(?::\s*str\s*)?=\s*["']([^"']+)["']"#);
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| re.captures(l).map(|c| (i + 1, c[1].to_string())))
        .collect()
}

/// The `app.kubernetes.io/version` label, and the tag of each of the project's own images
/// (`image: repo:tag` in manifests, `newTag` of an `images:` entry in a kustomization).
fn yaml_versions(text: &str, own: &dyn Fn(&str) -> bool) -> Vec<(&'static str, usize, String)> {
    let label = cached_regex!(r#"app\.kubernetes\.io/version:\s*["']?([^"'\s#]+)"#);
    let image = cached_regex!(r#"^\s*-?\s*image:\s*["']?([^"'\s@#]+):([^"'\s@#/]+)["']?\s*(?:#.*)?$"#);
    let entry = cached_regex!(r#"^\s*-?\s*name:\s*["']?([^"'\s#]+)"#);
    let new_tag = cached_regex!(r#"^\s*newTag:\s*["']?([^"'\s#]+)"#);
    let mut out = Vec::new();
    let mut last_name: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = label.captures(line) {
            out.push(("app.kubernetes.io/version label", i + 1, c[1].to_string()));
        }
        if let Some(c) = image.captures(line)
            && own(&c[1])
        {
            out.push(("own image tag", i + 1, c[2].to_string()));
        }
        if let Some(c) = entry.captures(line) {
            last_name = Some(c[1].to_string());
        }
        if let Some(c) = new_tag.captures(line)
            && last_name.as_deref().is_some_and(own)
        {
            out.push(("kustomize images newTag", i + 1, c[1].to_string()));
        }
    }
    out
}

impl Source for Spec {
    const NAME: &'static str = "versions";
    const DOC: SourceDoc = SourceDoc {
        name: "versions",
        summary: "The release version from every place the project states it (pyproject.toml, package.json, Cargo.toml, Python version constants, a VERSION file, Helm appVersion, the app.kubernetes.io/version label and own image tags in manifests and kustomize images:, the top released CHANGELOG heading, the latest release tag), the version most agree on and the outliers.",
        options: "images (the project's own image repositories; default: images named like the project)",
        names: &[
            n(
                "entries",
                "list",
                "{source, file, line, version}: every statement found (the tag has no file)",
            ),
            n("values", "list", "the distinct versions stated"),
            n(
                "release",
                "string",
                "the version most files agree on (a tie: the highest; the tag does not vote)",
            ),
            n("coherent", "bool", "every statement agrees (and there is one)"),
            n(
                "outliers",
                "list",
                "{source, file, line, version, expected}: statements that disagree",
            ),
            n(
                "projects",
                "list",
                "project names declared (to tell own images from base images)",
            ),
            n("files", "list", "files read"),
            n("unread", "list", "{path, reason}: files in scope not read"),
        ],
        example: r#"[[rule]]
id = "version-coherent"
area = "example"
title = "One release version everywhere"
evidence.v = { versions = [] }
expect = ['v.outliers == []']
fail_message = "{offender.source} says {offender.version}, not the release version {offender.expected}"
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
        if self.files.is_empty() {
            "versions in every place a project states its release version".into()
        } else {
            format!("versions in {}", self.files.join(", "))
        }
    }

    fn paths(&self) -> Vec<String> {
        self.files.clone()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.globs(), vec!["@non-production".into()]))
    }

    fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
        v.get("entries")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
            .then(|| format!("`{name}`: no file states a release version"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_versions_and_not_other_versions() {
        let own = |i: &str| i.ends_with("/shop-app");
        let py = "[build-system]\nrequires = [\"setuptools>=68.0\"]\n\n[project]\nname = \"shop\"\nversion = \"1.2.3\"\n\n[tool.black]\ntarget-version = [\"py311\"]\n";
        assert_eq!(
            statements("pyproject.toml", py, &own),
            vec![Stated {
                source: "pyproject.toml".into(),
                file: "pyproject.toml".into(),
                line: 6,
                version: "1.2.3".into()
            }]
        );
        let poetry = "[tool.poetry]\nname = \"shop\"\nversion = \"2.0.0\"\n";
        assert_eq!(toml_version(poetry, &["project", "tool.poetry"]).unwrap().1, "2.0.0");
        let log = "# Changelog\n\n## [Unreleased]\n\n## [1.2.2] - 2026-01-01\n";
        assert_eq!(changelog_version(log), Some((5, "1.2.2".into())));
        let setext = "1.13.2 (2026-11-17)\n===================\n";
        assert_eq!(changelog_version(setext), Some((1, "1.13.2".into())));
        let rst = "Version 3.0.3\n-------------\n\nReleased 2024-04-07\n";
        assert_eq!(changelog_version(rst), Some((1, "3.0.3".into())));
        let h1 = "# 1.54.1 (November 20th, 2026)\n";
        assert_eq!(changelog_version(h1), Some((1, "1.54.1".into())));
        assert!(is_changelog("CHANGES.rst") && is_changelog("HISTORY.md"));
        assert!(!is_changelog("README.md"));
        let chart = "apiVersion: v2\nname: shop\nversion: 0.9.0\nappVersion: \"1.2.3\"\n";
        assert_eq!(chart_version(chart), Some(("appVersion", 4, "1.2.3".into())));
        let k8s = "metadata:\n  labels:\n    app.kubernetes.io/version: \"1.2.3\"\nspec:\n  containers:\n    - image: python:3.12-slim\n    - image: ghcr.io/x/shop-app:1.2.4\n";
        let found = yaml_versions(k8s, &own);
        assert_eq!(
            found,
            vec![
                ("app.kubernetes.io/version label", 3, "1.2.3".to_string()),
                ("own image tag", 7, "1.2.4".to_string())
            ]
        );
        let kz = "images:\n  - name: ghcr.io/x/shop-app\n    newTag: \"1.2.3\"\n  - name: redis\n    newTag: \"7.2\"\n";
        assert_eq!(
            yaml_versions(kz, &own),
            vec![("kustomize images newTag", 3, "1.2.3".to_string())]
        );
        assert_eq!(
            python_versions("\"\"\"doc\"\"\"\n__version__ = \"1.2.3\"\n  VERSION = 'x'\n"),
            vec![(2, "1.2.3".to_string())]
        );
        assert_eq!(normalise("v1.2.3"), Some("1.2.3".into()));
        assert_eq!(normalise("latest"), None);
        assert_eq!(normalise("sha256"), None);
    }

    #[test]
    fn own_images_are_the_listed_ones_else_named_like_the_project() {
        let names = vec!["shop".to_string()];
        assert!(own_image("ghcr.io/acme/shop-app", &[], &names));
        assert!(!own_image("ghcr.io/acme/redis", &[], &names));
        // `images` replaces the naming rule.
        let listed = vec!["registry.example/billing".to_string()];
        assert!(own_image("registry.example/billing", &listed, &names));
        assert!(!own_image("ghcr.io/acme/shop-app", &listed, &names));
    }

    #[test]
    fn the_release_is_what_most_say_and_a_tie_goes_to_the_tag() {
        let s = |source: &str, v: &str| Stated {
            source: source.into(),
            file: String::new(),
            line: 1,
            version: v.into(),
        };
        assert_eq!(
            release_version(&[s("a", "1.0.0"), s("b", "1.0.1"), s("c", "1.0.1")]),
            "1.0.1"
        );
        // A tie goes to the higher version; the tag does not vote.
        assert_eq!(release_version(&[s("a", "1.0.0"), s("b", "1.1.0")]), "1.1.0");
        assert_eq!(
            release_version(&[s("a", "1.0.0"), s("latest release tag", "0.9.0")]),
            "1.0.0"
        );
        assert_eq!(
            release_version(&[s("latest release tag", "0.9.0")]),
            "0.9.0"
        );
        assert_eq!(release_version(&[]), "");
        assert!(older("1.2.9", "1.10.0"));
        assert!(older("2.0.0-rc.1", "2.0.0"));
        assert!(!older("2.0.0", "2.0.0"));
    }
}
