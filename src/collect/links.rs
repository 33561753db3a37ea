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

/// What one Markdown file offers and asks for: its links and its anchors (its text is not
/// kept: a tree of 10,000 files needs the anchor sets, not the texts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub links: Vec<Link>,
    pub anchors: BTreeSet<String>,
}

/// [`Page`] of a Markdown text, from one parse: Markdown links and images, and in raw HTML
/// `<a href>` and `<img src>` (read with an HTML tokenizer); heading slugs (GitHub rules,
/// duplicates numbered) and the `id`/`name` attributes of raw HTML as anchors. Code spans and
/// blocks hold neither.
pub fn page(text: &str) -> Page {
    use comrak::nodes::NodeValue;
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.footnotes = true;
    options.extension.front_matter_delimiter = Some("---".into());
    let root = comrak::parse_document(&arena, text, &options);
    let mut out = Page::default();
    let mut slugger = super::artifact::Slugger::default();
    for node in root.descendants() {
        let data = node.data();
        let line = data.sourcepos.start.line;
        match &data.value {
            NodeValue::Link(l) | NodeValue::Image(l) => out.links.push(Link {
                line,
                target: l.url.clone(),
            }),
            NodeValue::HtmlBlock(b) => html_refs(&b.literal, line, &mut out),
            NodeValue::HtmlInline(h) => html_refs(h, line, &mut out),
            NodeValue::Heading(_) => {
                out.anchors
                    .insert(slugger.slug(&super::artifact::node_text(node)));
            }
            _ => {}
        }
    }
    out
}

/// Links (`<a href>`, `<img src>`) and anchors (`id`, and `name` as GitHub keeps it) of a piece
/// of raw HTML that starts on `line`.
fn html_refs(html: &str, line: usize, page: &mut Page) {
    let emitter = html5gum::DefaultEmitter::<usize>::new_with_span();
    for token in html5gum::Tokenizer::new_with_emitter(html, emitter).flatten() {
        let html5gum::Token::StartTag(tag) = token else {
            continue;
        };
        let attr = |name: &str| {
            tag.attributes
                .get(name.as_bytes())
                .map(|v| String::from_utf8_lossy(&v.value).trim().to_string())
        };
        let at = line + html[..tag.span.start.min(html.len())].matches('\n').count();
        let target = match tag.name.as_slice() {
            b"a" => attr("href"),
            b"img" => attr("src"),
            _ => None,
        };
        if let Some(target) = target.filter(|t| !t.is_empty()) {
            page.links.push(Link { line: at, target });
        }
        for name in ["id", "name"] {
            if let Some(a) = attr(name).filter(|a| !a.is_empty()) {
                page.anchors.insert(a);
            }
        }
    }
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

/// The anchors and line counts of files links point into, read once each: the pages of the
/// checked files up front, any other file when a link first needs it.
struct Targets<'a> {
    ctx: &'a Ctx<'a>,
    pages: HashMap<String, Page>,
    lines: HashMap<String, usize>,
}

impl Targets<'_> {
    fn anchors(&mut self, rel: &str) -> &BTreeSet<String> {
        if !self.pages.contains_key(rel) {
            let page = self
                .ctx
                .read_text(rel)
                .map(|t| page(&t.text))
                .unwrap_or_default();
            self.pages.insert(rel.to_string(), page);
        }
        &self.pages[rel].anchors
    }

    fn lines(&mut self, rel: &str) -> usize {
        let ctx = self.ctx;
        *self.lines.entry(rel.to_string()).or_insert_with(|| {
            ctx.read_text(rel)
                .map(|t| t.text.lines().count())
                .unwrap_or(0)
        })
    }
}

/// What a relative link leads to.
enum Local {
    Fine,
    Broken(String),
    Xref,
}

/// Resolve a relative link of `rel`: the file or folder it names (relative to `rel`, or to the
/// root for `/x`) and its `#fragment`.
fn local(rel: &str, target: &str, listed: &BTreeSet<&str>, targets: &mut Targets<'_>) -> Local {
    let (path_part, fragment) = match target.split_once('#') {
        Some((p, f)) => (p, Some(percent_decode(f))),
        None => (target, None),
    };
    let path_part = percent_decode(path_part.split('?').next().unwrap_or(""));
    let Some(target_rel) = target_path(rel, &path_part) else {
        return Local::Broken("leaves the repository".into());
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
    if !is_file && !is_dir && !is_root {
        if sphinx_xref(rel, target, listed) {
            return Local::Xref;
        }
        let exists_unlisted = targets
            .ctx
            .resolve(&target_rel)
            .map(|p| p.exists())
            .unwrap_or(false);
        return Local::Broken(if exists_unlisted {
            "target is ignored or outside the audited files".into()
        } else {
            "file not found".into()
        });
    }
    match fragment.filter(|f| !f.is_empty()) {
        Some(frag) if is_file || is_dir => {
            match fragment_problem(&target_rel, is_dir, &frag, listed, targets) {
                Some(reason) => Local::Broken(reason),
                None => Local::Fine,
            }
        }
        _ => Local::Fine,
    }
}

/// The README GitHub renders for a folder, if it has one.
fn folder_readme(dir: &str, listed: &BTreeSet<&str>) -> Option<String> {
    ["README.md", "readme.md", "Readme.md", "README.markdown", "README"]
        .iter()
        .map(|n| format!("{dir}/{n}"))
        .find(|p| listed.contains(p.as_str()))
}

/// What is wrong with `#frag` on `target_rel`: a line past its end (`#L12`), no heading or
/// anchor of that name in a Markdown file, or — on a folder — in the README GitHub shows there.
fn fragment_problem(
    target_rel: &str,
    is_dir: bool,
    frag: &str,
    listed: &BTreeSet<&str>,
    targets: &mut Targets<'_>,
) -> Option<String> {
    let file = if is_dir {
        match folder_readme(target_rel, listed) {
            Some(readme) => readme,
            None => {
                return Some(format!(
                    "`{target_rel}/` has no README to hold `#{frag}` (GitHub shows the folder's README there)"
                ));
            }
        }
    } else {
        target_rel.to_string()
    };
    if let Some(n) = line_anchor(frag) {
        let lines = targets.lines(&file);
        return (n > lines).then(|| format!("line {n} is past the end ({lines} lines)"));
    }
    let lower = file.to_ascii_lowercase();
    if !(lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with("/readme")) {
        return None;
    }
    let set = targets.anchors(&file);
    // GitHub resolves `#Foo` to the `foo` anchor as well.
    (!set.contains(frag) && !set.contains(&frag.to_lowercase()))
        .then(|| format!("no heading or anchor `#{frag}` in `{file}`"))
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let files = super::scan::selected_files(ctx, &spec.include, &spec.exclude)?;
    let listed: BTreeSet<&str> = ctx.listing().files.iter().map(String::as_str).collect();
    // Every checked file parsed once, over `--jobs` threads; only its links and anchors kept.
    let markdown: Vec<&str> = files
        .iter()
        .copied()
        .filter(|rel| rel.to_ascii_lowercase().ends_with(".md"))
        .collect();
    let parsed = super::scan::per_file(ctx, &markdown, |rel| {
        ctx.read_text(rel).ok().map(|t| page(&t.text))
    });
    let mut targets = Targets {
        ctx,
        pages: HashMap::new(),
        lines: HashMap::new(),
    };
    let mut links_of: Vec<(&str, Vec<Link>)> = Vec::new();
    for (rel, page) in markdown.iter().zip(parsed) {
        let Some(mut page) = page else { continue };
        links_of.push((rel, std::mem::take(&mut page.links)));
        targets.pages.insert(rel.to_string(), page);
    }
    let mut broken = Vec::new();
    let mut unsafe_links = Vec::new();
    let mut xrefs: Vec<serde_json::Value> = Vec::new();
    let (mut checked, mut external) = (0usize, 0usize);
    let mut by_file: BTreeMap<String, usize> = BTreeMap::new();
    for (rel, links) in &links_of {
        let rel = *rel;
        by_file.entry(rel.to_string()).or_insert(0);
        for link in links {
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
            let reason = match local(rel, target, &listed, &mut targets) {
                Local::Fine => None,
                Local::Broken(reason) => Some(reason),
                Local::Xref => {
                    // A Sphinx/MyST cross-reference (`[x](api-validators)`, `[](pkg.Class)`):
                    // resolved by the docs build, not a file. Kept apart, never broken.
                    xrefs.push(json!({"path": rel, "line": link.line, "target": target}));
                    continue;
                }
            };
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
        let links = page(
            "See [a](a.md) and `[b](b.md)`.\n\n```\n[c](c.md)\n```\n\n![img](i.png)\n",
        )
        .links;
        let t: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(t, vec!["a.md", "i.png"]);
        assert_eq!(links[1].line, 7);
    }

    #[test]
    fn anchors_follow_github() {
        let a = page(
            "# Hello, World!\n## Hello, World!\n## 🚀 Launch\n### API `v2` & more\n<a id=\"custom\"></a>\n<span name='n1'></span>\n",
        )
        .anchors;
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
