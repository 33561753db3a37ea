//! Policy loading in two phases, as cargo-deny does: parse every file (and its includes) into raw
//! tables keeping spans, then validate the merged whole, collecting *every* problem with file,
//! line and column so one run shows the author everything to fix.

pub mod model;
mod overlay;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use crate::collect::Request;
use crate::collect::artifact::{PlaceholderSet, builtin_placeholders};
use model::*;

/// Policies shipped inside the binary, addressable as `builtin:NAME`.
pub const BUILTINS: &[(&str, &str)] = &[
    ("default", include_str!("../../policies/default.toml")),
    ("service", include_str!("../../policies/service.toml")),
    ("shipshape", include_str!("../../policies/shipshape.toml")),
    (
        "k8s-hardening",
        include_str!("../../policies/k8s-hardening.toml"),
    ),
    (
        "k8s-controller",
        include_str!("../../policies/k8s-controller.toml"),
    ),
];

/// Names every rule may use in `expect` besides its own evidence.
pub const GLOBALS: &[&str] = &["now", "env", "approved", "stale_after_days"];

/// One problem in a policy, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: Origin,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Every problem found in a policy.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", render(.0))]
pub struct PolicyErrors(pub Vec<Diagnostic>);

fn render(d: &[Diagnostic]) -> String {
    let mut s = String::new();
    for (i, d) in d.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("error: {d}"));
    }
    s
}

/// Where a policy comes from.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Builtin(String),
    /// Policy text handed over in memory ([`load_str`]): named for messages, may include only
    /// built-ins, and never reads a file.
    Text {
        name: String,
        text: String,
    },
}

impl Location {
    pub fn parse(spec: &str, base: Option<&Path>) -> Location {
        match spec.strip_prefix("builtin:") {
            Some(name) => Location::Builtin(name.to_string()),
            None => {
                let p = Path::new(spec);
                let path = match base {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p.to_path_buf(),
                };
                Location::File(path)
            }
        }
    }

    fn display(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Builtin(n) => format!("builtin:{n}"),
            Location::Text { name, .. } => name.clone(),
        }
    }

    fn identity(&self) -> String {
        match self {
            Location::File(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            Location::Builtin(n) => format!("builtin:{n}"),
            Location::Text { name, .. } => format!("text:{name}"),
        }
    }
}

/// Byte offset → 1-based line and column (of policy files, and of fleet files).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        Self { starts }
    }
    pub(crate) fn at(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = text
            .get(start..offset.min(text.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }
}

/// One loaded file: its raw content in typed form, with origins for everything that needs one.
struct Loaded {
    raw: PolicyFileRaw,
    rule_origins: Vec<Origin>,
    /// Per rule: origin of `id`, `area`, `environments` and each `evidence.NAME`.
    rule_field_origins: Vec<BTreeMap<String, Origin>>,
    area_origins: Vec<Origin>,
    waiver_origins: Vec<Origin>,
    /// origins of `expect` entries by (rule index, expect index)
    expect_origins: BTreeMap<(usize, usize), Origin>,
    audit_origin: Option<Origin>,
    /// Origins of the `[audit]` keys that overlays are checked on.
    audit_key_origins: BTreeMap<String, Origin>,
    /// Origins of the `[cluster]` keys whose values are checked after parsing.
    cluster_key_origins: BTreeMap<String, Origin>,
    /// `[[override]]` items with their origin and the origins of their keys.
    override_origins: Vec<(Origin, BTreeMap<String, Origin>)>,
    waivers_origin: Option<Origin>,
    /// Where `[globs]` is written.
    globs_origin: Option<Origin>,
    /// Folder of the file (None for a builtin), for `waivers_file`.
    base: Option<PathBuf>,
    /// The file's name as messages show it.
    name: String,
}

struct Loader {
    diags: Vec<Diagnostic>,
    sources: Vec<PolicySource>,
    stack: Vec<String>,
    /// Files loaded in full: a file two others include (a diamond) is read once.
    done: BTreeSet<String>,
    files: Vec<Loaded>,
    /// With `[audit] extends`: `files[..n]` are the central policy, the rest the overlay.
    central_end: Option<usize>,
    central_source: Option<PolicySource>,
    /// Loading a central policy pinned by file digest: it may include only built-ins.
    pinned: bool,
    /// Loading policy text from memory ([`load_str`]): no file is ever read.
    no_files: bool,
}

/// Load policy text held in memory (`name` is what messages call it). It may include built-in
/// policies only: nothing is read from disk, so untrusted text (a fuzzer's) can be given here.
pub fn load_str(name: &str, text: &str) -> Result<Policy, PolicyErrors> {
    load(&Location::Text {
        name: name.to_string(),
        text: text.to_string(),
    })
}

/// Load a policy and everything it includes, then validate it.
pub fn load(location: &Location) -> Result<Policy, PolicyErrors> {
    let mut loader = Loader {
        diags: Vec::new(),
        sources: Vec::new(),
        stack: Vec::new(),
        done: BTreeSet::new(),
        files: Vec::new(),
        central_end: None,
        central_source: None,
        pinned: false,
        no_files: matches!(location, Location::Text { .. }),
    };
    loader.load_file(location, None);
    if loader.files.is_empty() && loader.diags.is_empty() {
        loader.diags.push(Diagnostic {
            origin: origin_of_file(&location.display()),
            message: "no policy could be read".into(),
        });
    }
    let policy = validate(location.display(), &mut loader);
    if loader.diags.is_empty() {
        policy.ok_or_else(|| PolicyErrors(vec![]))
    } else {
        Err(PolicyErrors(loader.diags))
    }
}

fn origin_of_file(file: &str) -> Origin {
    Origin {
        file: file.to_string(),
        line: 1,
        column: 1,
    }
}

pub(crate) fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

impl Loader {
    fn load_file(&mut self, location: &Location, included_at: Option<Origin>) {
        let name = location.display();
        let identity = location.identity();
        if let Some(pos) = self.stack.iter().position(|s| *s == identity) {
            let mut chain: Vec<String> = self.stack[pos..].to_vec();
            chain.push(identity);
            self.diags.push(Diagnostic {
                origin: included_at.unwrap_or_else(|| origin_of_file(&name)),
                message: format!("include cycle: {}", chain.join(" -> ")),
            });
            return;
        }
        if self.done.contains(&identity) {
            return;
        }
        let Some(text) = self.read_location(location, &name, included_at) else {
            return;
        };
        self.sources.push(PolicySource {
            name: name.clone(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        });
        let index = LineIndex::new(&text);
        let at = |offset: usize| -> Origin {
            let (line, column) = index.at(&text, offset);
            Origin {
                file: name.clone(),
                line,
                column,
            }
        };
        let doc = match DeTable::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                let offset = e.span().map(|s| s.start).unwrap_or(0);
                self.diags.push(Diagnostic {
                    origin: at(offset),
                    message: format!("TOML syntax error: {}", e.message().trim()),
                });
                return;
            }
        };
        let mut loaded = Loaded {
            raw: PolicyFileRaw::default(),
            rule_origins: vec![],
            rule_field_origins: vec![],
            area_origins: vec![],
            waiver_origins: vec![],
            expect_origins: BTreeMap::new(),
            audit_origin: None,
            audit_key_origins: BTreeMap::new(),
            cluster_key_origins: BTreeMap::new(),
            override_origins: Vec::new(),
            waivers_origin: None,
            globs_origin: None,
            name: name.clone(),
            base: match location {
                Location::File(p) => p.parent().map(Path::to_path_buf),
                Location::Builtin(_) | Location::Text { .. } => None,
            },
        };
        let mut includes: Vec<(String, Origin)> = Vec::new();
        for (key, value) in doc.get_ref().iter() {
            let k: &str = key.get_ref();
            let key_origin = at(key.span().start);
            match k {
                "include" => {
                    if let Some(v) = self.typed::<Vec<toml::Spanned<String>>>(value, "include", &at)
                    {
                        for inc in v {
                            includes.push((inc.get_ref().clone(), at(inc.span().start)));
                        }
                    }
                }
                "audit" => {
                    loaded.audit_origin = Some(key_origin.clone());
                    loaded.raw.audit = self.typed::<AuditRaw>(value, "audit", &at);
                    for key in overlay::AUDIT_KEYS {
                        let (off, found) = locate(value, &[key.to_string()]);
                        if found == *key && off != value.span().start {
                            loaded.audit_key_origins.insert(key.to_string(), at(off));
                        }
                    }
                }
                "waivers" => {
                    loaded.waivers_origin = Some(key_origin);
                    loaded.raw.waivers = self.typed::<WaiversRaw>(value, "waivers", &at);
                }
                "placeholders" => {
                    loaded.raw.placeholders =
                        self.typed::<PlaceholdersRaw>(value, "placeholders", &at);
                }
                "redact" => {
                    loaded.raw.redact = self.typed::<RedactRaw>(value, "redact", &at);
                }
                "globs" => {
                    loaded.globs_origin = Some(key_origin);
                    loaded.raw.globs =
                        self.typed::<BTreeMap<String, Vec<String>>>(value, "globs", &at);
                }
                "cluster" => {
                    loaded.raw.cluster = self.typed::<ClusterRaw>(value, "cluster", &at);
                    for key in ["max_snapshot_age", "objects"] {
                        let (off, found) = locate(value, &[key.to_string()]);
                        if found == key && off != value.span().start {
                            loaded.cluster_key_origins.insert(key.to_string(), at(off));
                        }
                    }
                }
                "area" | "rule" | "waiver" | "document" | "override" => {
                    let Some(items) = value.get_ref().as_array() else {
                        self.diags.push(Diagnostic {
                            origin: key_origin,
                            message: format!("`{k}` must be an array of tables (`[[{k}]]`)"),
                        });
                        continue;
                    };
                    self.read_items(k, items, &at, &mut loaded);
                }
                other => self.diags.push(Diagnostic {
                    origin: key_origin,
                    message: format!(
                        "unknown key `{other}` (expected one of include, audit, area, rule, override, waiver, waivers, document, placeholders, redact, cluster, globs)"
                    ),
                }),
            }
        }
        self.stack.push(identity);
        let base = match location {
            Location::File(p) => p.parent().map(Path::to_path_buf),
            Location::Builtin(_) | Location::Text { .. } => None,
        };
        self.load_extends(&loaded, &name, base.as_deref());
        self.load_includes(location, includes, base.as_deref());
        self.stack.pop();
        self.done.insert(location.identity());
        self.files.push(loaded);
    }

    /// The text of a policy location, or a diagnostic saying why there is none.
    fn read_location(
        &mut self,
        location: &Location,
        name: &str,
        included_at: Option<Origin>,
    ) -> Option<String> {
        let text: String = match location {
            Location::Builtin(n) => match builtin_text(n) {
                Some(t) => t.to_string(),
                None => {
                    let names: Vec<String> = BUILTINS
                        .iter()
                        .map(|(n, _)| format!("builtin:{n}"))
                        .collect();
                    self.diags.push(Diagnostic {
                        origin: included_at.unwrap_or_else(|| origin_of_file(name)),
                        message: format!(
                            "unknown built-in policy `builtin:{n}` (available: {})",
                            names.join(", ")
                        ),
                    });
                    return None;
                }
            },
            Location::Text { text, .. } => text.clone(),
            Location::File(_) if self.no_files => {
                self.diags.push(Diagnostic {
                    origin: included_at.unwrap_or_else(|| origin_of_file(name)),
                    message: format!(
                        "`{name}`: a policy given as text may refer to built-in policies only"
                    ),
                });
                return None;
            }
            Location::File(p) => match std::fs::read(p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => {
                        self.diags.push(Diagnostic {
                            origin: origin_of_file(name),
                            message: "policy file is not valid UTF-8".into(),
                        });
                        return None;
                    }
                },
                Err(e) => {
                    self.diags.push(Diagnostic {
                        origin: included_at.unwrap_or_else(|| origin_of_file(name)),
                        message: format!(
                            "cannot read policy `{name}`: {}",
                            crate::collect::fs::io_reason(&e)
                        ),
                    });
                    return None;
                }
            },
        };
        Some(text)
    }

    /// The items of an array of tables (`[[area]]`, `[[rule]]`, `[[waiver]]`, `[[document]]`,
    /// `[[override]]`), each typed and kept with its origin.
    fn read_items(
        &mut self,
        k: &str,
        items: &toml::de::DeArray<'_>,
        at: &dyn Fn(usize) -> Origin,
        loaded: &mut Loaded,
    ) {
        for item in items.iter() {
            let o = at(item.span().start);
            match k {
                "area" => {
                    if let Some(a) = self.typed::<AreaRaw>(item, "area", at) {
                        loaded.raw.area.push(a);
                        loaded.area_origins.push(o);
                    }
                }
                "rule" => self.read_rule(item, o, at, loaded),
                "override" => {
                    if let Some(ov) = self.typed::<OverrideRaw>(item, "override", at) {
                        let mut fields = BTreeMap::new();
                        for key in overlay::OVERRIDE_KEYS {
                            let (off, found) = locate(item, &[key.to_string()]);
                            if found == *key && off != item.span().start {
                                fields.insert(key.to_string(), at(off));
                            }
                        }
                        for (ei, e) in ov.expect.iter().enumerate() {
                            fields.insert(format!("expect.{ei}"), at(e.span().start));
                        }
                        loaded.raw.overrides.push(ov);
                        loaded.override_origins.push((o, fields));
                    }
                }
                "waiver" => {
                    if let Some(w) = self.typed::<WaiverRaw>(item, "waiver", at) {
                        loaded.raw.waiver.push(w);
                        loaded.waiver_origins.push(o);
                    }
                }
                _ => {
                    if let Some(d) = self.typed::<DocumentRaw>(item, "document", at) {
                        loaded.raw.document.push(d);
                    }
                }
            }
        }
    }

    /// One `[[rule]]`: the rule, and the origins of its `expect` entries and checked keys.
    fn read_rule(
        &mut self,
        item: &toml::Spanned<DeValue<'_>>,
        o: Origin,
        at: &dyn Fn(usize) -> Origin,
        loaded: &mut Loaded,
    ) {
        if let Some(r) = self.typed::<RuleRaw>(item, "rule", at) {
            let ri = loaded.raw.rule.len();
            for (ei, e) in r.expect.iter().enumerate() {
                loaded.expect_origins.insert((ri, ei), at(e.span().start));
            }
            let mut fields = BTreeMap::new();
            for key in [
                "id",
                "area",
                "environments",
                "weight",
                "allow_empty",
                "handoff",
            ] {
                let (off, found) = locate(item, &[key.to_string()]);
                if found == key && off != item.span().start {
                    fields.insert(key.to_string(), at(off));
                }
            }
            for name in r.evidence.keys() {
                let segs = ["evidence".to_string(), name.clone()];
                let (off, _) = locate(item, &segs);
                fields.insert(format!("evidence.{name}"), at(off));
            }
            loaded.raw.rule.push(r);
            loaded.rule_origins.push(o);
            loaded.rule_field_origins.push(fields);
        }
    }

    /// `[audit] extends`: the central policy is loaded before this file's own includes, so
    /// everything loaded from here on is the overlay.
    fn load_extends(&mut self, loaded: &Loaded, name: &str, base: Option<&Path>) {
        if let Some(a) = &loaded.raw.audit
            && let Some(ext) = a.extends.clone()
        {
            let origin = loaded
                .audit_key_origins
                .get("extends")
                .cloned()
                .unwrap_or_else(|| origin_of_file(name));
            let pin = a.extends_sha256.clone().map(|p| {
                let o = loaded
                    .audit_key_origins
                    .get("extends_sha256")
                    .cloned()
                    .unwrap_or_else(|| origin.clone());
                (p, o)
            });
            overlay::load_central(self, &ext, pin, origin, base);
        } else if loaded
            .raw
            .audit
            .as_ref()
            .is_some_and(|a| a.extends_sha256.is_some())
        {
            self.diags.push(Diagnostic {
                origin: loaded
                    .audit_key_origins
                    .get("extends_sha256")
                    .cloned()
                    .unwrap_or_else(|| origin_of_file(name)),
                message: "extends_sha256 without extends".into(),
            });
        }
    }

    /// This file's `include`s, in order.
    fn load_includes(
        &mut self,
        location: &Location,
        includes: Vec<(String, Origin)>,
        base: Option<&Path>,
    ) {
        for (inc, origin) in includes {
            if self.pinned && !inc.starts_with("builtin:") {
                self.diags.push(Diagnostic {
                    origin,
                    message: format!(
                        "a central policy pinned by extends_sha256 may include only builtin: policies, not `{inc}` (its digest would not cover it)"
                    ),
                });
                continue;
            }
            let loc = match (&location, inc.starts_with("builtin:")) {
                (_, true) => Location::parse(&inc, None),
                (Location::Builtin(_) | Location::Text { .. }, false) => {
                    self.diags.push(Diagnostic {
                        origin,
                        message: format!(
                            "a built-in policy can only include other built-ins, not `{inc}`"
                        ),
                    });
                    continue;
                }
                _ => Location::parse(&inc, base),
            };
            self.load_file(&loc, Some(origin));
        }
    }

    /// Deserialize one item, reporting every unknown key and the first type error with spans.
    fn typed<T: DeserializeOwned>(
        &mut self,
        value: &toml::Spanned<DeValue<'_>>,
        what: &str,
        at: &dyn Fn(usize) -> Origin,
    ) -> Option<T> {
        let de = toml::de::ValueDeserializer::from(value.clone());
        let mut unknown: Vec<Vec<String>> = Vec::new();
        let result: Result<T, _> = serde_ignored::deserialize(de, |path| {
            unknown.push(path_segments(&path));
        });
        for segs in unknown {
            let (offset, last) = locate(value, &segs);
            let context = if segs.len() > 1 {
                format!(" in {what}.{}", segs[..segs.len() - 1].join("."))
            } else {
                format!(" in [{what}]")
            };
            self.diags.push(Diagnostic {
                origin: at(offset),
                message: format!("unknown key `{last}`{context}"),
            });
        }
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let offset = e.span().map(|s| s.start).unwrap_or(value.span().start);
                let mut msg = e.message().trim().to_string();
                if msg.starts_with("missing field") {
                    msg = format!("{msg} in [{what}]");
                }
                self.diags.push(Diagnostic {
                    origin: at(offset),
                    message: msg,
                });
                None
            }
        }
    }
}

fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path as P;
    match path {
        P::Root => vec![],
        P::Seq { parent, index } => {
            let mut v = path_segments(parent);
            v.push(index.to_string());
            v
        }
        P::Map { parent, key } => {
            let mut v = path_segments(parent);
            v.push(key.to_string());
            v
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            path_segments(parent)
        }
    }
}

/// The byte offset of the key at `segs` inside `value`, and that key's name.
fn locate(value: &toml::Spanned<DeValue<'_>>, segs: &[String]) -> (usize, String) {
    let mut cur = value;
    let mut offset = value.span().start;
    for seg in segs {
        match cur.get_ref() {
            DeValue::Table(t) => match t.iter().find(|(k, _)| k.get_ref() == seg) {
                Some((k, v)) => {
                    offset = k.span().start;
                    cur = v;
                }
                None => break,
            },
            DeValue::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(v) => {
                    offset = v.span().start;
                    cur = v;
                }
                None => break,
            },
            _ => break,
        }
    }
    (offset, segs.last().cloned().unwrap_or_default())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// Merge the loaded files (includes first) and check everything that spans more than one item.
fn validate(name: String, l: &mut Loader) -> Option<Policy> {
    let mut diags = Vec::new();
    let files = std::mem::take(&mut l.files);
    let central_end = l.central_end;
    // Overlay rules that redefine a central rule: reported by the overlay check, then left out.
    let redefined = overlay::check_overlay(&files, central_end, &mut diags);
    let (audit, require_clean) = merge_audit(&files, &name, &mut diags);
    let mut areas = merge_areas(&files, &mut diags);
    order_areas(&files, &mut areas, &mut diags);
    let globs = merge_globs(&files, &mut diags);
    let scope = RuleScope {
        areas: &areas,
        globs: &globs,
        environments: &audit.environments,
        central_end,
        redefined: &redefined,
    };
    let mut rules: Vec<Rule> = Vec::new();
    let mut seen_rules: BTreeSet<String> = BTreeSet::new();
    for (fi, f) in files.iter().enumerate() {
        for ri in 0..f.raw.rule.len() {
            if let Some(rule) = check_rule(&scope, fi, f, ri, &mut seen_rules, &mut diags) {
                rules.push(rule);
            }
        }
    }
    let waivers = merge_waivers(&files, &seen_rules, &mut diags);
    let documents = files
        .iter()
        .flat_map(|f| f.raw.document.iter().map(move |d| (f, d)))
        .filter_map(|(f, d)| {
            // A row may name a glob set of one glob (`path = "@dr-drill"`).
            let path = match d.path.strip_prefix('@') {
                Some(n) => match globs.get(n).map(Vec::as_slice) {
                    Some([one]) => one.clone(),
                    _ => {
                        diags.push(Diagnostic {
                            origin: origin_of_file(&f.name),
                            message: format!(
                                "[[document]] path `{}` must name a [globs] set of exactly one glob",
                                d.path
                            ),
                        });
                        return None;
                    }
                },
                None => d.path.clone(),
            };
            Some(Document {
                title: d.title.clone().unwrap_or_else(|| path.clone()),
                path,
                sections: d.sections.clone(),
            })
        })
        .collect();
    let placeholders = merge_placeholders(&files, &name, &mut diags);
    let redact_patterns = merge_redact(&files, &name, &mut diags);
    let cluster = merge_cluster(&files, &name, &mut diags);

    overlay::apply_overrides(&files, &mut rules, &mut diags);
    let trust = overlay::trust_policy(&files, l, require_clean);

    l.diags.extend(diags);
    let mut policy = Policy {
        name,
        digest: String::new(),
        sources: l.sources.clone(),
        audit,
        areas,
        rules,
        waivers,
        documents,
        placeholders,
        redact_patterns,
        cluster,
        trust,
    };
    policy.digest = canonical_digest(&policy);
    Some(policy)
}

/// `[audit]` of every file, later files overriding earlier ones key by key; and whether the
/// audit requires a clean work tree.
fn merge_audit(files: &[Loaded], name: &str, diags: &mut Vec<Diagnostic>) -> (Audit, bool) {
    // Audit settings: later files override earlier ones key by key.
    let mut audit = AuditRaw::default();
    let mut audit_origin = origin_of_file(name);
    for f in files {
        if let Some(a) = &f.raw.audit {
            macro_rules! over {
                ($($k:ident),*) => { $( if a.$k.is_some() { audit.$k = a.$k.clone(); } )* };
            }
            over!(
                name,
                title,
                approve_min_score,
                environments,
                default_env,
                approved_statuses,
                stale_after_days,
                publish_dir,
                require_clean,
                cache_max_age
            );
            if let Some(o) = &f.audit_origin {
                audit_origin = o.clone();
            }
        }
    }
    let environments = audit
        .environments
        .clone()
        .unwrap_or_else(|| vec!["prod".into()]);
    let default_env = audit.default_env.clone().unwrap_or_else(|| {
        environments
            .first()
            .cloned()
            .unwrap_or_else(|| "prod".into())
    });
    if !environments.contains(&default_env) {
        diags.push(Diagnostic {
            origin: audit_origin.clone(),
            message: format!(
                "default_env `{default_env}` is not one of environments {environments:?}"
            ),
        });
    }
    let min = audit.approve_min_score.unwrap_or(8.0);
    if !(0.0..=10.0).contains(&min) {
        diags.push(Diagnostic {
            origin: audit_origin.clone(),
            message: format!("approve_min_score must be between 0 and 10, not {min}"),
        });
    }
    let require_clean = audit.require_clean.unwrap_or(false);
    let cache_max_age_secs = match audit.cache_max_age.as_deref() {
        None => 86_400,
        Some(s) => match crate::trust::verify::parse_duration(s) {
            Some(d) if d.num_seconds() >= 0 => d.num_seconds(),
            _ => {
                diags.push(Diagnostic {
                    origin: audit_origin.clone(),
                    message: format!("cache_max_age `{s}` is not a duration (30m, 24h, 7d)"),
                });
                86_400
            }
        },
    };
    let audit = Audit {
        cache_max_age_secs,
        name: audit.name.unwrap_or_else(|| "repository".into()),
        title: audit
            .title
            .unwrap_or_else(|| "Release Readiness Audit".into()),
        approve_min_score: min,
        environments: environments.clone(),
        default_env,
        approved_statuses: audit.approved_statuses.unwrap_or_else(|| {
            ["PASS", "APPROVED", "COMPLETED", "READY"]
                .map(String::from)
                .to_vec()
        }),
        stale_after_days: audit.stale_after_days.unwrap_or(92),
        publish_dir: audit
            .publish_dir
            .unwrap_or_else(|| "docs/operations-artifacts".into()),
    };

    (audit, require_clean)
}

/// Every `[[area]]`, each id once.
/// `[audit] area_order` of the last file that sets it: the listed areas first, in that order.
fn order_areas(files: &[Loaded], areas: &mut [Area], diags: &mut Vec<Diagnostic>) {
    let Some((f, order)) = files.iter().rev().find_map(|f| {
        let order = f.raw.audit.as_ref()?.area_order.as_ref()?;
        Some((f, order))
    }) else {
        return;
    };
    for id in order
        .iter()
        .filter(|id| !areas.iter().any(|a| &a.id == *id))
    {
        diags.push(Diagnostic {
            origin: f
                .audit_origin
                .clone()
                .unwrap_or_else(|| origin_of_file(&f.name)),
            message: format!("[audit] area_order names `{id}`, which no [[area]] declares"),
        });
    }
    let rank = |id: &str| order.iter().position(|o| o == id).unwrap_or(order.len());
    areas.sort_by_key(|a| rank(&a.id));
}

fn merge_areas(files: &[Loaded], diags: &mut Vec<Diagnostic>) -> Vec<Area> {
    let mut areas: Vec<Area> = Vec::new();
    for f in files {
        for (a, o) in f.raw.area.iter().zip(&f.area_origins) {
            if !is_kebab(&a.id) {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!("area id `{}` must be kebab-case", a.id),
                });
            }
            if areas.iter().any(|x| x.id == a.id) {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!("duplicate area id `{}`", a.id),
                });
                continue;
            }
            let weight = a.weight.unwrap_or(1.0);
            if !(weight.is_finite() && weight > 0.0) {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!(
                        "area `{}`: weight must be a finite number above 0, not {weight}",
                        a.id
                    ),
                });
            }
            areas.push(Area {
                id: a.id.clone(),
                title: a.title.clone().unwrap_or_else(|| a.id.clone()),
                weight,
                description: a.description.clone(),
            });
        }
    }

    areas
}

/// What a rule is checked against: the areas and environments declared, which files are the
/// central policy, and the overlay rules left out.
struct RuleScope<'a> {
    areas: &'a [Area],
    /// `[globs]` merged over every file: `@name` in a glob list stands for the list.
    globs: &'a BTreeMap<String, Vec<String>>,
    environments: &'a [String],
    central_end: Option<usize>,
    redefined: &'a BTreeSet<(usize, usize)>,
}

/// Check rule `ri` of file `fi` and build it (None when it is left out or a duplicate).
fn check_rule(
    scope: &RuleScope<'_>,
    fi: usize,
    f: &Loaded,
    ri: usize,
    seen_rules: &mut BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    if scope.redefined.contains(&(fi, ri)) {
        return None;
    }
    let (r, o) = (&f.raw.rule[ri], &f.rule_origins[ri]);
    let areas = scope.areas;
    let environments = scope.environments;
    let central_end = scope.central_end;
    let fields = f.rule_field_origins.get(ri);
    let at = |field: &str| {
        fields
            .and_then(|m| m.get(field))
            .cloned()
            .unwrap_or_else(|| o.clone())
    };
    let err_at = |field: &str, msg: String| Diagnostic {
        origin: at(field),
        message: format!("rule `{}`: {msg}", r.id),
    };
    let err = |msg: String| err_at("id", msg);
    if !is_kebab(&r.id) {
        diags.push(err("id must be kebab-case (a-z, 0-9, -)".into()));
    }
    // A duplicate is reported, and the rest of the rule is still checked.
    let duplicate = !seen_rules.insert(r.id.clone());
    if duplicate {
        diags.push(Diagnostic {
            origin: at("id"),
            message: format!("duplicate rule id `{}`", r.id),
        });
    }
    if !areas.iter().any(|a| a.id == r.area) {
        diags.push(err_at("area", format!("unknown area `{}`", r.area)));
    }
    let weight = r.weight.unwrap_or(1.0);
    if !(weight.is_finite() && weight > 0.0) {
        diags.push(err_at(
            "weight",
            format!("weight must be a finite number above 0, not {weight}"),
        ));
    }
    if let Some(envs) = &r.environments {
        for e in envs {
            if !environments.contains(e) {
                diags.push(err_at(
                    "environments",
                    format!(
                        "environment `{e}` is not declared in [audit] environments {environments:?}"
                    ),
                ));
            }
        }
    }
    let evidence = rule_evidence(r, scope.globs, &err_at, diags);
    if r.expect.is_empty() {
        diags.push(err("has no `expect` expressions".into()));
    }
    if let Some(d) = r.stale_after_days
        && d < 0
    {
        diags.push(err(format!(
            "stale_after_days must be zero or more days, not {d}"
        )));
    }
    check_expectations(f, ri, r, o, diags);
    let allow_empty = allow_empty_of(r, &err_at, diags);
    let handoff = handoff_of(r, &err_at, diags);
    if duplicate {
        return None;
    }
    Some(Rule {
        id: r.id.clone(),
        area: r.area.clone(),
        title: r.title.clone().unwrap_or_else(|| r.id.clone()),
        description: r.description.clone(),
        severity: r.severity.unwrap_or(Severity::Blocking),
        weight,
        environments: r.environments.clone(),
        evidence,
        expect: r.expect.iter().map(|e| e.get_ref().clone()).collect(),
        pass_message: r.pass_message.clone(),
        fail_message: r.fail_message.clone(),
        remediation: r.remediation.clone(),
        origin: o.clone(),
        stale_after_days: r.stale_after_days,
        allow_empty,
        central: central_end.is_some_and(|end| fi < end),
        handoff,
        deselected: false,
        expect_origins: (0..r.expect.len())
            .map(|ei| {
                f.expect_origins
                    .get(&(ri, ei))
                    .cloned()
                    .unwrap_or_else(|| o.clone())
            })
            .collect(),
    })
}

/// Places a rule's problems are reported at: `field` → `rule `id`: message`.
type ErrAt<'a> = dyn Fn(&str, String) -> Diagnostic + 'a;

/// A rule's evidence entries, each parsed into a request; paths must be relative.
fn rule_evidence(
    r: &RuleRaw,
    globs: &BTreeMap<String, Vec<String>>,
    err_at: &ErrAt<'_>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Request> {
    let mut evidence = BTreeMap::new();
    for (ename, raw) in &r.evidence {
        let ekey = format!("evidence.{ename}");
        if GLOBALS.contains(&ename.as_str()) {
            diags.push(err_at(
                &ekey,
                format!("evidence name `{ename}` hides a global of the same name"),
            ));
        }
        let raw = match expand_globs(raw, globs) {
            Ok(raw) => raw,
            Err(e) => {
                diags.push(err_at(&ekey, format!("evidence `{ename}`: {e}")));
                continue;
            }
        };
        match Request::from_raw(&raw) {
            Ok(req) => {
                for p in req.paths() {
                    if Path::new(&p).is_absolute() {
                        diags.push(err_at(&ekey, format!(
                            "evidence `{ename}`: `{p}` is absolute; evidence paths are relative to the audited folder"
                        )));
                    }
                }
                evidence.insert(ename.clone(), req);
            }
            Err(e) => diags.push(err_at(
                &ekey,
                format!("evidence `{ename}` {}", one_line(&e)),
            )),
        }
    }
    evidence
}

/// `[globs]` of every file, later files overriding earlier ones name by name (a pack's
/// defaults first, the policy that includes it after).
fn merge_globs(files: &[Loaded], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for f in files {
        for (name, list) in f.raw.globs.iter().flatten() {
            if !is_kebab(name) {
                diags.push(Diagnostic {
                    origin: f
                        .globs_origin
                        .clone()
                        .unwrap_or_else(|| origin_of_file(&f.name)),
                    message: format!("[globs] `{name}` must be kebab-case"),
                });
            }
            out.insert(name.clone(), list.clone());
        }
    }
    out
}

/// A rule's evidence entry with every `@name` of its glob lists replaced by `[globs] name`.
/// `@non-production` stays as written (the built-in list) unless `[globs]` redefines it.
fn expand_globs(
    raw: &crate::policy::model::EvidenceRaw,
    globs: &BTreeMap<String, Vec<String>>,
) -> Result<crate::policy::model::EvidenceRaw, String> {
    let expand = |list: &Option<Vec<String>>| -> Result<Option<Vec<String>>, String> {
        let Some(list) = list else { return Ok(None) };
        let mut out = Vec::new();
        for item in list {
            match item.strip_prefix('@') {
                Some(name) if globs.contains_key(name) => out.extend(globs[name].clone()),
                Some("non-production") => out.push(item.clone()),
                Some(name) => {
                    return Err(format!(
                        "`@{name}` is not a glob set: define it under [globs] (defined: {})",
                        std::iter::once("non-production")
                            .chain(globs.keys().map(String::as_str))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                None => out.push(item.clone()),
            }
        }
        Ok(Some(out))
    };
    let mut r = raw.clone();
    r.include = expand(&raw.include)?;
    r.exclude = expand(&raw.exclude)?;
    r.links = expand(&raw.links)?;
    r.manifests = expand(&raw.manifests)?;
    r.paths = expand(&raw.paths)?;
    r.versions = expand(&raw.versions)?;
    r.suppressions = expand(&raw.suppressions)?;
    r.inputs = expand(&raw.inputs)?;
    // A field that takes one path or glob takes a set of exactly one.
    let one = |field: &Option<String>| -> Result<Option<String>, String> {
        match field.as_deref().map(|f| (f, f.strip_prefix('@'))) {
            Some((f, Some(_))) => match expand(&Some(vec![f.to_string()]))?.as_deref() {
                Some([single]) => Ok(Some(single.clone())),
                _ => Err(format!(
                    "`{f}` stands for several globs here, where one path or glob is taken (join them as `{{a,b}}`)"
                )),
            },
            _ => Ok(field.clone()),
        }
    };
    r.artifact = one(&raw.artifact)?;
    r.data = one(&raw.data)?;
    r.path = one(&raw.path)?;
    // In `files`, a set is one entry any of whose globs satisfies it.
    if let Some(entries) = &raw.files {
        let mut out = Vec::new();
        for e in entries {
            let alts = expand(&Some(e.alternatives()))?.unwrap_or_default();
            out.push(match (e, alts.as_slice()) {
                (FileEntry::One(_), [single]) => FileEntry::One(single.clone()),
                _ => FileEntry::AnyOf(alts),
            });
        }
        r.files = Some(out);
    }
    Ok(r)
}

/// Every `expect` compiles and names only the rule's evidence and the globals.
fn check_expectations(f: &Loaded, ri: usize, r: &RuleRaw, o: &Origin, diags: &mut Vec<Diagnostic>) {
    let declared: BTreeSet<&str> = r
        .evidence
        .keys()
        .map(String::as_str)
        .chain(GLOBALS.iter().copied())
        .collect();
    for (ei, e) in r.expect.iter().enumerate() {
        let eo = f
            .expect_origins
            .get(&(ri, ei))
            .cloned()
            .unwrap_or_else(|| o.clone());
        match crate::evaluate::cel::check(e.get_ref()) {
            Err(se) => {
                // Point into the expression when it is on one line: past the quote.
                let mut origin = eo;
                if se.line == 1 {
                    origin.column += se.column;
                }
                diags.push(Diagnostic {
                    origin,
                    message: format!(
                        "rule `{}`: expect[{ei}] does not compile: {}",
                        r.id, se.message
                    ),
                })
            }
            Ok(names) => {
                for n in names {
                    if !declared.contains(n.as_str()) {
                        diags.push(Diagnostic {
                            origin: eo.clone(),
                            message: format!(
                                "rule `{}`: expect[{ei}] uses `{n}`, which the rule does not declare (declared: {})",
                                r.id,
                                r.evidence.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        });
                    }
                }
            }
        }
    }
}

/// `allow_empty`: every evidence name (`true`) or the names given, each one of the rule's.
fn allow_empty_of(r: &RuleRaw, err_at: &ErrAt<'_>, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    match &r.allow_empty {
        None | Some(AllowEmpty::All(false)) => Vec::new(),
        Some(AllowEmpty::All(true)) => r.evidence.keys().cloned().collect(),
        Some(AllowEmpty::Names(names)) => {
            for n in names.iter().filter(|n| !r.evidence.contains_key(*n)) {
                diags.push(err_at(
                    "allow_empty",
                    format!("allow_empty names `{n}`, which is not an evidence entry of the rule"),
                ));
            }
            names.clone()
        }
    }
}

/// `handoff`: each key one of [`HANDOFF_QUESTIONS`](crate::policy::model::HANDOFF_QUESTIONS).
fn handoff_of(r: &RuleRaw, err_at: &ErrAt<'_>, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let handoff = r.handoff.clone().unwrap_or_default();
    for h in handoff.iter().filter(|h| {
        !crate::policy::model::HANDOFF_QUESTIONS
            .iter()
            .any(|(k, _)| k == h)
    }) {
        diags.push(err_at(
            "handoff",
            format!(
                "handoff `{h}` is not one of {}",
                crate::policy::model::HANDOFF_QUESTIONS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    handoff
}

/// Every `[[waiver]]` of every file, checked.
fn merge_waivers(
    files: &[Loaded],
    seen_rules: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Waiver> {
    let mut waivers = Vec::new();
    for f in files {
        for (w, o) in f.raw.waiver.iter().zip(&f.waiver_origins) {
            let mut missing = Vec::new();
            if w.rule.is_none() {
                missing.push("rule");
            }
            if w.reason.as_deref().is_none_or(|s| s.trim().is_empty()) {
                missing.push("reason");
            }
            if w.owner.as_deref().is_none_or(|s| s.trim().is_empty()) {
                missing.push("owner");
            }
            if w.expires.is_none() {
                missing.push("expires");
            }
            if !missing.is_empty() {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!("waiver needs {}", missing.join(", ")),
                });
                continue;
            }
            let rule = w.rule.clone().unwrap_or_default();
            if let Some(problem) = w.finding_problems().into_iter().next() {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!("waiver for `{rule}`: {problem}"),
                });
                continue;
            }
            if !seen_rules.contains(&rule) {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!("waiver for unknown rule `{rule}`"),
                });
                continue;
            }
            let expires = w.expires.as_ref().and_then(toml_date);
            let Some(expires) = expires else {
                diags.push(Diagnostic {
                    origin: o.clone(),
                    message: format!(
                        "waiver for `{rule}`: expires must be a date (YYYY-MM-DD), not a date-time"
                    ),
                });
                continue;
            };
            let granted = match &w.granted {
                None => None,
                Some(g) => match toml_date(g) {
                    Some(d) => Some(d),
                    None => {
                        diags.push(Diagnostic {
                            origin: o.clone(),
                            message: format!(
                                "waiver for `{rule}`: granted must be a date (YYYY-MM-DD)"
                            ),
                        });
                        continue;
                    }
                },
            };
            waivers.push(Waiver {
                rule,
                reason: w.reason.clone().unwrap_or_default(),
                owner: w.owner.clone().unwrap_or_default(),
                approver: w.approver.clone(),
                ticket: w.ticket.clone(),
                expires,
                granted,
                origin: o.clone(),
                finding: w.finding(),
            });
        }
    }

    waivers
}

/// `[placeholders]`: the built-in kinds minus `disable`, plus each file's patterns.
fn merge_placeholders(files: &[Loaded], name: &str, diags: &mut Vec<Diagnostic>) -> PlaceholderSet {
    let mut placeholders = PlaceholderSet::default();
    for f in files {
        if let Some(p) = &f.raw.placeholders {
            if let Some(disable) = &p.disable {
                for k in disable {
                    if !builtin_placeholders().iter().any(|(b, _)| b == k) {
                        diags.push(Diagnostic {
                            origin: origin_of_file(name),
                            message: format!("placeholders.disable: unknown built-in kind `{k}`"),
                        });
                    }
                }
                placeholders.patterns.retain(|(k, _)| !disable.contains(k));
            }
            for (k, re) in p.patterns.iter().flatten() {
                if let Err(e) = regex::Regex::new(re) {
                    diags.push(Diagnostic {
                        origin: origin_of_file(name),
                        message: format!("placeholders.patterns.{k}: bad regex: {e}"),
                    });
                }
                placeholders.patterns.push((k.clone(), re.clone()));
            }
        }
    }

    placeholders
}

/// `[redact] patterns` of every file, each a valid regex.
fn merge_redact(files: &[Loaded], name: &str, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut redact_patterns = Vec::new();
    for f in files {
        for p in f.raw.redact.iter().flat_map(|r| r.patterns.iter()) {
            match regex::Regex::new(p) {
                Ok(_) => redact_patterns.push(p.clone()),
                Err(e) => diags.push(Diagnostic {
                    origin: origin_of_file(name),
                    message: format!(
                        "redact.patterns: bad regex `{p}`: {}",
                        one_line(&e.to_string())
                    ),
                }),
            }
        }
    }
    redact_patterns
}

/// The effective policy as canonical JSON (sorted keys): everything that decides a verdict —
/// includes resolved, built-in packs by their content — and nothing that says where it was read
/// from (file names, line and column positions). The same policy reached by any path is one
/// value.
pub fn canonical(policy: &Policy) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("origin");
                for (_, x) in m.iter_mut() {
                    strip(x);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(policy).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        for k in ["name", "digest", "sources"] {
            m.remove(k);
        }
        if let Some(serde_json::Value::Object(t)) = m.get_mut("trust") {
            t.remove("waivers_file");
            for k in ["central", "overlay"] {
                if let Some(serde_json::Value::Object(src)) = t.get_mut(k) {
                    src.remove("name");
                }
            }
        }
    }
    strip(&mut v);
    v
}

/// sha256 of [`canonical`]: the policy digest the report, `policy validate`, `policy show` and
/// `verify --policy-sha256` share.
pub fn canonical_digest(policy: &Policy) -> String {
    let text = serde_json::to_string(&canonical(policy)).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(b"shipshape-policy/1\0");
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

/// The effective policy as TOML (for `policy show`): the canonical value, nulls left out.
pub fn show_toml(policy: &Policy) -> String {
    fn drop_nulls(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, x| !x.is_null());
                m.values_mut().for_each(drop_nulls);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    let mut v = canonical(policy);
    drop_nulls(&mut v);
    toml::to_string_pretty(&v).unwrap_or_else(|e| format!("# cannot show as TOML: {e}\n"))
}

fn key_origin(f: &Loaded, key: &str) -> Origin {
    f.cluster_key_origins
        .get(key)
        .cloned()
        .unwrap_or_else(|| origin_of_file(&f.name))
}

/// `[cluster]` tables merged key by key, later files (the including one) winning.
fn merge_cluster(files: &[Loaded], name: &str, diags: &mut Vec<Diagnostic>) -> ClusterSettings {
    let mut out = ClusterSettings::default();
    for f in files {
        let Some(c) = &f.raw.cluster else { continue };
        if let Some(s) = &c.snapshot {
            out.snapshot = s.list();
        }
        if c.context.is_some() {
            out.context = c.context.clone();
        }
        if let Some(n) = &c.namespace {
            out.namespace = Some(n.clone());
            out.namespaces = vec![n.clone()];
        }
        if let Some(ns) = &c.namespaces {
            out.namespaces = ns.clone();
        }
        if let Some(m) = &c.manifests {
            out.manifests = m.clone();
        }
        if let Some(a) = &c.max_snapshot_age {
            match crate::trust::verify::parse_duration(a) {
                Some(d) if d.num_seconds() > 0 => out.max_snapshot_age_secs = Some(d.num_seconds()),
                _ => diags.push(Diagnostic {
                    origin: key_origin(f, "max_snapshot_age"),
                    message: format!(
                        "[cluster] max_snapshot_age `{a}` is not a positive duration (30m, 24h, 7d)"
                    ),
                }),
            }
        }
        if let Some(o) = &c.objects {
            if o == "manifests" || o == "cluster" {
                out.objects = Some(o.clone());
            } else {
                diags.push(Diagnostic {
                    origin: key_origin(f, "objects"),
                    message: format!(
                        "[cluster] objects `{o}` is neither \"manifests\" nor \"cluster\""
                    ),
                });
            }
        }
    }
    for p in out.snapshot.iter().chain(&out.manifests) {
        if p.trim().is_empty() || Path::new(p).is_absolute() {
            diags.push(Diagnostic {
                origin: origin_of_file(name),
                message: format!("[cluster]: `{p}` must be a path relative to the audited folder"),
            });
        }
    }
    if out.namespaces.iter().any(|n| n.trim().is_empty()) {
        diags.push(Diagnostic {
            origin: origin_of_file(name),
            message: "[cluster]: a namespace is empty".into(),
        });
    }
    if out.context.as_deref().is_some_and(|c| c.trim().is_empty()) {
        diags.push(Diagnostic {
            origin: origin_of_file(name),
            message: "[cluster] context is empty".into(),
        });
    }
    out
}

/// A TOML local date (`2026-01-31`) as a chrono date; a date-time is not one.
pub(crate) fn toml_date(d: &toml::value::Datetime) -> Option<chrono::NaiveDate> {
    if d.time.is_some() {
        return None;
    }
    let d = d.date?;
    chrono::NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32)
}

/// Check every evidence path of the policy against the repository boundary (done at audit time,
/// when the boundary is known). Problems are policy errors.
pub fn check_boundary(policy: &Policy, root: &Path, boundary: &Path) -> Result<(), PolicyErrors> {
    let mut diags = Vec::new();
    for r in &policy.rules {
        for (name, req) in &r.evidence {
            for p in req.paths() {
                // Globs are checked on their literal prefix.
                let literal: String = p
                    .split('/')
                    .take_while(|seg| !crate::collect::fs::is_glob(seg))
                    .collect::<Vec<_>>()
                    .join("/");
                if let Err(e) = crate::collect::fs::lexical_within(root, boundary, &literal) {
                    diags.push(Diagnostic {
                        origin: r.origin.clone(),
                        message: format!("rule `{}`: evidence `{name}`: {e}", r.id),
                    });
                }
            }
        }
    }
    for p in policy
        .cluster
        .snapshot
        .iter()
        .chain(&policy.cluster.manifests)
    {
        let literal: String = p
            .split('/')
            .take_while(|seg| !crate::collect::fs::is_glob(seg) && !seg.contains('{'))
            .collect::<Vec<_>>()
            .join("/");
        if let Err(e) = crate::collect::fs::lexical_within(root, boundary, &literal) {
            diags.push(Diagnostic {
                origin: origin_of_file(&policy.name),
                message: format!("[cluster]: {e}"),
            });
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(PolicyErrors(diags))
    }
}
