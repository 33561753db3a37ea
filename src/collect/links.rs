//! The `links` source: every relative link and image in the Markdown files a policy names must
//! lead somewhere — the file exists inside the repository and a `#fragment` matches a heading
//! anchor there (GitHub's slug rules) or an explicit `<a id>`/`name`. Offline: external URLs are
//! counted, never fetched.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// Markdown files to check (globs).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["exclude"])?;
        let include = raw.links.clone().unwrap_or_default();
        if include.is_empty() {
            return Err("`links` needs at least one glob of Markdown files".into());
        }
        let exclude = raw.exclude.clone().unwrap_or_default();
        fs::globset(&include, false)?;
        fs::globset(&exclude, false)?;
        Ok(Spec { include, exclude })
    }
}

/// One link as written in a Markdown file.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub line: usize,
    pub target: String,
}

/// Links and images of a Markdown text, with their lines. Code spans and blocks hold no links.
pub fn extract_links(text: &str) -> Vec<Link> {
    use comrak::nodes::NodeValue;
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.footnotes = true;
    options.extension.front_matter_delimiter = Some("---".into());
    let root = comrak::parse_document(&arena, text, &options);
    let mut out = Vec::new();
    for node in root.descendants() {
        let data = node.data();
        match &data.value {
            NodeValue::Link(l) | NodeValue::Image(l) => out.push(Link {
                line: data.sourcepos.start.line,
                target: l.url.clone(),
            }),
            _ => {}
        }
    }
    out
}

/// Every anchor a Markdown text offers: heading slugs (GitHub rules, duplicates numbered) and
/// explicit `id`/`name` attributes in inline HTML.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let parsed = super::artifact::parse_markdown(text, &[]);
    let mut set: BTreeSet<String> = parsed.headings.into_iter().map(|h| h.anchor).collect();
    let re = cached_regex!(r#"(?i)<[a-z][^>]*?\s(?:id|name)\s*=\s*["']([^"']+)["']"#);
    for c in re.captures_iter(text) {
        set.insert(c[1].to_string());
    }
    set
}

fn is_external(target: &str) -> bool {
    let scheme = cached_regex!(r"^[A-Za-z][A-Za-z0-9+.-]*:");
    scheme.is_match(target) || target.starts_with("//")
}

/// `%20` → space; invalid escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn normalise(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if !out.pop() => return None,
            Component::ParentDir => {}
            Component::Normal(x) => out.push(x),
            _ => {}
        }
    }
    Some(out)
}

/// The scheme of a link that runs code or embeds content when followed (`javascript:`,
/// `vbscript:`, `data:`), read as a browser reads it: ASCII whitespace and control characters
/// inside the scheme are ignored, and case does not matter.
fn unsafe_scheme(target: &str) -> Option<&'static str> {
    let squeezed: String = target
        .chars()
        .take(32)
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"]
        .into_iter()
        .find(|s| squeezed.starts_with(s))
        .map(|s| s.trim_end_matches(':'))
}

/// `ops@example.com` written as a link target without `mailto:`: a relative path to nowhere.
fn is_email(target: &str) -> bool {
    cached_regex!(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
        .is_match(target)
}

/// `#L10` or `#L10-L20`: GitHub line anchors.
fn line_anchor(fragment: &str) -> Option<usize> {
    let re = cached_regex!(r"^L(\d+)(?:-L(\d+))?$");
    let c = re.captures(fragment)?;
    let a: usize = c[1].parse().ok()?;
    let b: usize = c.get(2).and_then(|m| m.as_str().parse().ok()).unwrap_or(a);
    Some(a.max(b))
}

/// Whether `target`, linked from the Markdown file `rel`, is a Sphinx (MyST) cross-reference
/// rather than a file: `rel` is in a Sphinx source folder (a `conf.py` beside it or in a folder
/// above), and the target is a bare label or dotted name (`api-validators`, `attrs.frozen`) —
/// no folder, no fragment, no file extension a link to a file would have.
fn sphinx_xref(rel: &str, target: &str, listed: &BTreeSet<&str>) -> bool {
    const FILE_EXTENSIONS: &[&str] = &[
        "md", "rst", "txt", "html", "htm", "png", "jpg", "jpeg", "gif", "svg", "pdf", "yaml",
        "yml", "json", "toml", "py", "rs", "go", "js", "ts", "sh",
    ];
    if target.contains(['/', '#', '?', ' ']) || target.starts_with('.') {
        return false;
    }
    let ext = target.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if ext.is_some_and(|e| FILE_EXTENSIONS.contains(&e.as_str())) {
        return false;
    }
    let mut dir = Path::new(rel).parent();
    while let Some(d) = dir {
        let conf = d.join("conf.py");
        if listed.contains(conf.to_string_lossy().as_ref()) {
            return true;
        }
        dir = d.parent();
    }
    false
}

/// The repository-relative path a link's path part names, from the linking file `rel` (or
/// from the root for `/x`); None when it climbs out of the repository.
fn target_path(rel: &str, path_part: &str) -> Option<String> {
    if path_part.is_empty() {
        return Some(rel.to_string());
    }
    let base = if let Some(stripped) = path_part.strip_prefix('/') {
        PathBuf::from(stripped)
    } else {
        Path::new(rel)
            .parent()
            .unwrap_or(Path::new(""))
            .join(path_part)
    };
    normalise(&base).map(|p| p.to_string_lossy().replace('\\', "/"))
}

/// What is wrong with `#frag` on the file `target_rel`: a line past its end (`#L12`), or no
/// heading or anchor of that name in a Markdown file.
fn fragment_problem(
    target_rel: &str,
    frag: &str,
    read: &mut dyn FnMut(&str) -> Option<String>,
    anchor_cache: &mut HashMap<String, BTreeSet<String>>,
) -> Option<String> {
    if let Some(n) = line_anchor(frag) {
        let lines = read(target_rel).map(|t| t.lines().count()).unwrap_or(0);
        return (n > lines).then(|| format!("line {n} is past the end ({lines} lines)"));
    }
    if !target_rel.to_ascii_lowercase().ends_with(".md") {
        return None;
    }
    if !anchor_cache.contains_key(target_rel) {
        let set = read(target_rel).map(|t| anchors(&t)).unwrap_or_default();
        anchor_cache.insert(target_rel.to_string(), set);
    }
    let set = &anchor_cache[target_rel];
    // GitHub resolves `#Foo` to the `foo` anchor as well.
    (!set.contains(frag) && !set.contains(&frag.to_lowercase()))
        .then(|| format!("no heading or anchor `#{frag}` in `{target_rel}`"))
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let files = super::scan::selected_files(ctx, &spec.include, &spec.exclude)?;
    let listed: BTreeSet<&str> = ctx.listing().files.iter().map(String::as_str).collect();
    let mut texts: HashMap<String, Option<String>> = HashMap::new();
    let mut read = |rel: &str| -> Option<String> {
        texts
            .entry(rel.to_string())
            .or_insert_with(|| ctx.read_text(rel).ok().map(|t| t.text))
            .clone()
    };
    let mut anchor_cache: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut broken = Vec::new();
    let mut unsafe_links = Vec::new();
    let mut xrefs: Vec<serde_json::Value> = Vec::new();
    let (mut checked, mut external) = (0usize, 0usize);
    let mut by_file: BTreeMap<String, usize> = BTreeMap::new();
    for rel in &files {
        if !rel.to_ascii_lowercase().ends_with(".md") {
            continue;
        }
        let Some(text) = read(rel) else { continue };
        by_file.entry(rel.to_string()).or_insert(0);
        for link in extract_links(&text) {
            let target = link.target.trim();
            if target.is_empty() {
                continue;
            }
            if let Some(scheme) = unsafe_scheme(target) {
                unsafe_links.push(json!({"path": rel, "line": link.line, "target": target.chars().take(200).collect::<String>(), "scheme": scheme}));
                continue;
            }
            if is_external(target) {
                external += 1;
                continue;
            }
            if is_email(target) {
                checked += 1;
                *by_file.entry(rel.to_string()).or_insert(0) += 1;
                broken.push(json!({"path": rel, "line": link.line, "target": target, "reason": format!("an e-mail address used as a relative link: write `mailto:{target}`")}));
                continue;
            }
            checked += 1;
            let (path_part, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(percent_decode(f))),
                None => (target, None),
            };
            let path_part = path_part.split('?').next().unwrap_or("");
            let path_part = percent_decode(path_part);
            // Resolve the target file, relative to the linking file (or to the root for `/x`).
            let Some(target_rel) = target_path(rel, &path_part) else {
                broken.push(json!({"path": rel, "line": link.line, "target": target, "reason": "leaves the repository"}));
                *by_file.entry(rel.to_string()).or_insert(0) += 1;
                continue;
            };
            let is_file = listed.contains(target_rel.as_str());
            let dir_prefix = format!("{target_rel}/");
            let is_dir = !is_file
                && !target_rel.is_empty()
                && listed
                    .range(dir_prefix.as_str()..)
                    .next()
                    .is_some_and(|f| f.starts_with(&dir_prefix));
            let is_root = target_rel.is_empty();
            let mut reason: Option<String> = None;
            if !is_file && !is_dir && !is_root && sphinx_xref(rel, target, &listed) {
                // A Sphinx/MyST cross-reference (`[x](api-validators)`, `[](pkg.Class)`):
                // resolved by the docs build, not a file. Kept apart, never a broken link.
                xrefs.push(json!({"path": rel, "line": link.line, "target": target}));
                continue;
            }
            if !is_file && !is_dir && !is_root {
                let exists_unlisted = ctx
                    .resolve(&target_rel)
                    .map(|p| p.exists())
                    .unwrap_or(false);
                reason = Some(if exists_unlisted {
                    "target is ignored or outside the audited files".into()
                } else {
                    "file not found".into()
                });
            } else if let Some(frag) = fragment.filter(|f| !f.is_empty())
                && is_file
            {
                reason = fragment_problem(&target_rel, &frag, &mut read, &mut anchor_cache);
            }
            if let Some(reason) = reason {
                *by_file.entry(rel.to_string()).or_insert(0) += 1;
                broken.push(
                    json!({"path": rel, "line": link.line, "target": target, "reason": reason}),
                );
            }
        }
    }
    if files.is_empty() {
        return Err(CollectError::new(format!(
            "no Markdown files match {}",
            spec.include.join(", ")
        )));
    }
    let mut v = json!({
        "broken": broken,
        "unsafe": unsafe_links,
        "count": broken.len(),
        "checked": checked,
        "external": external,
        "files": by_file.len(),
        "broken_by_file": by_file,
    });
    if !xrefs.is_empty() {
        v["xrefs"] = serde_json::Value::Array(xrefs);
    }
    Ok(v)
}

impl Source for Spec {
    const NAME: &'static str = "links";
    const DOC: SourceDoc = SourceDoc {
        name: "links",
        summary: "Broken relative links and #anchors across Markdown files (GitHub heading slugs).",
        options: "exclude (the value is a list of globs)",
        names: &[
            n("broken", "list", "{path, line, target, reason}"),
            n(
                "unsafe",
                "list",
                "{path, line, target, scheme}: javascript:, vbscript: or data: links",
            ),
            n("count", "int", "broken links"),
            n("checked", "int", "relative links checked"),
            n("external", "int", "external links seen (not fetched)"),
            n("files", "int", "Markdown files read"),
            n("broken_by_file", "map", "path → broken links"),
            n(
                "xrefs",
                "list",
                "{path, line, target}: Sphinx/MyST cross-references (a bare label or dotted name in a folder with conf.py), not files; present when there are any",
            ),
        ],
        example: r#"[[rule]]
id = "doc-links"
area = "example"
title = "Markdown links resolve"
evidence.links = { links = ["**/*.md"] }
expect = ['size(links.broken) == 0']
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
            "links in {}{}",
            self.include.join(", "),
            if self.exclude.is_empty() {
                String::new()
            } else {
                format!(" (not {})", self.exclude.join(", "))
            }
        )
    }

    fn paths(&self) -> Vec<String> {
        self.include.clone()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.include.clone(), self.exclude.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_schemes_and_bare_addresses() {
        assert_eq!(unsafe_scheme("javascript:alert(1)"), Some("javascript"));
        assert_eq!(unsafe_scheme(" JaVa\tScRiPt:alert(1)"), Some("javascript"));
        assert_eq!(unsafe_scheme("data:text/html;base64,xx"), Some("data"));
        assert_eq!(unsafe_scheme("VBScript:x"), Some("vbscript"));
        assert_eq!(unsafe_scheme("docs/javascript.md"), None);
        assert!(is_email("ops@example.com"));
        assert!(!is_email("mailto:ops@example.com") && !is_email("docs/a@b.md"));
    }

    #[test]
    fn links_in_code_are_not_links() {
        let links = extract_links(
            "See [a](a.md) and `[b](b.md)`.\n\n```\n[c](c.md)\n```\n\n![img](i.png)\n",
        );
        let t: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(t, vec!["a.md", "i.png"]);
        assert_eq!(links[1].line, 7);
    }

    #[test]
    fn anchors_follow_github() {
        let a = anchors(
            "# Hello, World!\n## Hello, World!\n## 🚀 Launch\n### API `v2` & more\n<a id=\"custom\"></a>\n<span name='n1'></span>\n",
        );
        for want in [
            "hello-world",
            "hello-world-1",
            "-launch",
            "api-v2--more",
            "custom",
            "n1",
        ] {
            assert!(a.contains(want), "missing {want} in {a:?}");
        }
    }

    #[test]
    fn line_anchors_and_decoding() {
        assert_eq!(line_anchor("L10"), Some(10));
        assert_eq!(line_anchor("L3-L12"), Some(12));
        assert_eq!(line_anchor("l10"), None);
        assert_eq!(percent_decode("my%20file.md"), "my file.md");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
