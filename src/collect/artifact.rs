//! The `artifact` source: an operations document in Markdown (a DR drill record, a capacity
//! baseline, a sign-off) read the way a reviewer reads it — its status, its fields, its tables,
//! and whatever is still a placeholder — so rules can decide whether it is finished.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// A path or glob relative to the audited folder.
    pub glob: String,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        let glob = raw.artifact.clone().unwrap_or_default();
        if glob.trim().is_empty() {
            return Err("`artifact` is empty".into());
        }
        fs::glob(&glob, false)?;
        only_options(raw, &[])?;
        Ok(Spec { glob })
    }
}

/// Reject options that mean nothing to a source, so a typo is not silently ignored.
pub(crate) fn only_options(raw: &EvidenceRaw, allowed: &[&str]) -> Result<(), String> {
    let v = serde_json::to_value(raw).unwrap_or(Value::Null);
    let sources = super::NAMES;
    if let Value::Object(m) = v {
        for (k, val) in m {
            if val.is_null() || sources.contains(&k.as_str()) || allowed.contains(&k.as_str()) {
                continue;
            }
            return Err(format!("option `{k}` does not apply to this source"));
        }
    }
    Ok(())
}

/// The placeholder patterns in force: built-ins plus what the policy adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceholderSet {
    /// (kind, regex) in matching order.
    pub patterns: Vec<(String, String)>,
}

impl Default for PlaceholderSet {
    fn default() -> Self {
        Self {
            patterns: builtin_placeholders()
                .iter()
                .map(|(k, r)| (k.to_string(), r.to_string()))
                .collect(),
        }
    }
}

pub fn builtin_placeholders() -> &'static [(&'static str, &'static str)] {
    &[
        ("tbd", r"\bTBD\b"),
        ("todo", r"\b(?:TODO|FIXME)\b"),
        // `<fill-me>`, `<api-cidr>`: lower-case words joined by - or _ in angle brackets.
        // HTML tags (`<br>`, `<details>`) have no separator and do not match.
        ("fill-in", r"<[a-z][a-z0-9]*(?:[-_ ][a-z0-9]+)+>"),
        ("date-template", r"\bYYYY-MM-DD\b"),
        ("pending", r"\bPENDING(?:_[A-Z]+)*\b"),
    ]
}

impl PlaceholderSet {
    pub fn compile(&self) -> Vec<(String, Regex)> {
        self.patterns
            .iter()
            .filter_map(|(k, r)| Regex::new(r).ok().map(|re| (k.clone(), re)))
            .collect()
    }
}

/// Whether the text right after a placeholder-like word says it names a format ("YYYY-MM-DD
/// format", "YYYY-MM-DD-formatted", "YYYY-MM-DD notation"): documentation describing dates,
/// not a value left unfilled. Artifacts still count it (their stricter reading).
fn names_a_format(after: &str) -> bool {
    let t = after.trim_start_matches([' ', '`', '*', '_', '"', '\'', ')']).to_ascii_lowercase();
    let t = t.trim_start_matches('-');
    ["format", "form ", "notation", "pattern", "style"]
        .iter()
        .any(|w| t.starts_with(w))
}

/// The files an artifact path or glob names (relative to the audited folder, existing only).
pub fn matching_paths(ctx: &Ctx<'_>, glob: &str) -> Vec<String> {
    if fs::is_glob(glob) {
        let Ok(set) = fs::globset(&[glob.to_string()], false) else {
            return vec![];
        };
        ctx.listing()
            .matching(&set, None)
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        match ctx.resolve(glob) {
            Ok(path) if path.exists() => vec![glob.trim_start_matches("./").to_string()],
            _ => vec![],
        }
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    if fs::is_glob(&spec.glob) {
        fs::globset(std::slice::from_ref(&spec.glob), false).map_err(CollectError::new)?;
    } else {
        ctx.resolve(&spec.glob)?;
    }
    let matches = matching_paths(ctx, &spec.glob);
    let placeholder_res = ctx.placeholders.compile();
    let mut keyed = Vec::new();
    // One unreadable file of a glob never hides the others: it is unread, the rest are read.
    let mut unreadable: Vec<Value> = Vec::new();
    for rel in &matches {
        match parse_file(ctx, rel, &placeholder_res) {
            Ok(k) => keyed.push(k),
            Err(e) if fs::is_glob(&spec.glob) => {
                unreadable.push(json!({"path": rel, "reason": e.reason}));
            }
            Err(e) => return Err(e),
        }
    }
    // Newest first: by the date in the name, then by the time the age was taken from.
    keyed.sort_by(|(a, ka), (b, kb)| {
        let name = |v: &Value| v["name_date"].as_str().unwrap_or("").to_string();
        (name(b), kb)
            .cmp(&(name(a), ka))
            .then_with(|| a["path"].as_str().cmp(&b["path"].as_str()))
    });
    let items: Vec<Value> = keyed.into_iter().map(|(v, _)| v).collect();
    let mut top = match items.first() {
        Some(Value::Object(m)) => m.clone(),
        _ => absent(&spec.glob),
    };
    // What any matched file left unread, not only the newest.
    let mut unread: Vec<Value> = items
        .iter()
        .filter_map(|i| i.get("unread").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    unread.extend(unreadable);
    top.insert("unread".into(), Value::Array(unread));
    top.insert(
        "matches".into(),
        Value::Array(matches.iter().map(|p| json!(p)).collect()),
    );
    top.insert("items".into(), Value::Array(items));
    Ok(Value::Object(top))
}

fn absent(glob: &str) -> Map<String, Value> {
    let v = json!({
        "exists": false,
        "path": glob,
        "status": "",
        "fields": {},
        "tables": [],
        "headings": [],
        "placeholders": [],
        "dates": [],
        "name_date": "",
        "age_days": -1,
        "age_source": "absent",
        "lossy": false,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// One matched file parsed, with the time its age was taken from (for newest-first order).
fn parse_file(
    ctx: &Ctx<'_>,
    rel: &str,
    placeholders: &[(String, Regex)],
) -> Result<(Value, i64), CollectError> {
    let path = ctx.resolve(rel)?;
    let text = ctx.read_text(rel)?;
    let mtime: Option<DateTime<Utc>> = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    let published = ctx.is_published_audit(rel);
    // A published audit is read as it was published (without the superseded note shipshape
    // adds later), and what it quotes is never a placeholder of its own.
    let body = if published {
        crate::published::strip_superseded_note(&text.text)
    } else {
        &text.text
    };
    let mut parsed = parse_markdown(body, placeholders);
    // Replacement characters stand where bytes were: what the status said is not known.
    if text.lossy {
        parsed.status = UNKNOWN.to_string();
    }
    let name_date = date_in_name(rel);
    let mut m = Map::new();
    m.insert("exists".into(), json!(true));
    m.insert("path".into(), json!(rel));
    m.insert("status".into(), json!(parsed.status));
    m.insert("status_line".into(), json!(parsed.status_line));
    m.insert("fields".into(), json!(parsed.fields));
    if !parsed.field_lines.is_empty() {
        m.insert("field_lines".into(), json!(parsed.field_lines));
    }
    m.insert("tables".into(), json!(parsed.tables));
    m.insert("headings".into(), json!(parsed.headings));
    m.insert("placeholders".into(), json!(parsed.placeholders));
    m.insert("dates".into(), json!(parsed.dates));
    if parsed.truncated {
        m.insert("truncated".into(), json!(true));
    }
    m.insert(
        "name_date".into(),
        json!(name_date.map(|d| d.to_string()).unwrap_or_default()),
    );
    // How old the artifact is: a tracked file is as old as its last commit (git); an untracked
    // one as old as the date in its name (`dr-drill-20260209.md`), else its modification time.
    // When git cannot tell (a shallow clone) and the name has no date, there is no age at all —
    // a rule that reads `age_days` is then pending, never passed on a checkout time.
    let now = ctx.options.now;
    let name_time = name_date
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    // A symlinked artifact is dated by the history of the file it points at: the link's own
    // commit says nothing about when its content changed.
    let dated = dating_path(ctx, rel, &path);
    let mut unread: Vec<Value> = Vec::new();
    let (age, source, sort_time) = match super::git::file_history(ctx, &dated) {
        super::git::FileHistory::Tracked(c) if c.from_future(now) => {
            let why = super::git::future_reason(rel, c.utc(), "last commit");
            unread.push(json!({"path": rel, "reason": why.clone()}));
            m.insert("age_error".into(), json!(why));
            (None, "git", c.time)
        }
        super::git::FileHistory::Tracked(c) => {
            let mut lc = c.to_value(rel, now);
            lc.remove("exists");
            lc.remove("tracked");
            lc.remove("path");
            m.insert("last_change".into(), Value::Object(lc));
            (Some(super::age_days(now, c.utc())), "git", c.time)
        }
        super::git::FileHistory::Unknown(reason) => match name_time {
            Some(t) => (Some(super::age_days(now, t)), "name", t.timestamp()),
            None => {
                m.insert("age_error".into(), json!(reason));
                (None, "unknown", 0)
            }
        },
        super::git::FileHistory::Untracked => match (name_time, mtime) {
            (Some(t), _) => (Some(super::age_days(now, t)), "name", t.timestamp()),
            (None, Some(t)) => {
                m.insert("mtime".into(), json!(t.to_rfc3339()));
                (Some(super::age_days(now, t)), "mtime", t.timestamp())
            }
            (None, None) => (Some(-1), "mtime", 0),
        },
    };
    // A date in the name after the audit is forged (or a typo): no age can be taken from it,
    // and a rule comparing the name's date cannot pass on it either.
    let age = match name_time.filter(|t| super::git::from_future(*t, now)) {
        Some(t) => {
            let why = super::git::future_reason(rel, t, "file name");
            unread.push(json!({"path": rel, "reason": why.clone()}));
            m.insert("age_error".into(), json!(why));
            None
        }
        None => age,
    };
    m.insert("unread".into(), Value::Array(unread));
    if let Some(age) = age {
        m.insert("age_days".into(), json!(age));
    }
    m.insert("age_source".into(), json!(source));
    m.insert("lossy".into(), json!(text.lossy));
    m.insert("published_audit".into(), json!(published));
    Ok((Value::Object(m), sort_time))
}

/// The file whose git history dates an artifact: the artifact itself, or — for a symlink —
/// the file inside the boundary it points at.
fn dating_path(ctx: &Ctx<'_>, rel: &str, resolved: &std::path::Path) -> String {
    let plain = ctx.root.join(rel);
    if resolved == plain {
        return rel.to_string();
    }
    resolved
        .strip_prefix(&ctx.root)
        .map(|r| r.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| rel.to_string())
}

/// A date in a file name: `dr-drill-20260209.md` or `audit-2026-02-09.md`.
pub fn date_in_name(rel: &str) -> Option<NaiveDate> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let re = cached_regex!(r"(\d{4})-?(\d{2})-?(\d{2})");
    re.captures_iter(name).find_map(|c| {
        NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)
    })
}

#[derive(Debug, Default, Serialize)]
pub struct Placeholder {
    pub line: usize,
    pub text: String,
    pub kind: String,
    /// Where a reader sees it: outside fenced and inline code, link targets and HTML comments.
    /// Ordinary documentation counts only these; operations artifacts count every placeholder.
    pub prose: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Table {
    pub line: usize,
    pub headers: Vec<String>,
    pub rows: Vec<BTreeMap<String, String>>,
    pub row_lines: Vec<usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub line: usize,
    pub anchor: String,
}

#[derive(Debug, Default, Serialize)]
pub struct DateRef {
    pub line: usize,
    pub date: String,
}

/// Everything the artifact source reads out of one Markdown text.
#[derive(Debug, Default, Serialize)]
pub struct Parsed {
    pub status: String,
    pub status_line: usize,
    pub fields: BTreeMap<String, String>,
    /// The line each field was read from (front-matter fields have none).
    pub field_lines: BTreeMap<String, usize>,
    pub tables: Vec<Table>,
    pub headings: Vec<Heading>,
    pub placeholders: Vec<Placeholder>,
    pub dates: Vec<DateRef>,
    /// Some placeholders, dates or table rows were left out ([`MAX_ITEMS`]).
    pub truncated: bool,
}

fn status_re() -> &'static Regex {
    cached_regex!(r"(?i)^\s*((?:current|overall|gate|final|release)\s+)?status\s*:\s*(.+?)\s*$",)
}

fn field_re() -> &'static Regex {
    cached_regex!(r"^\s*([A-Za-z][A-Za-z0-9 /()'&.-]{0,60}?)\s*:\s+(.+?)\s*$")
}

/// The status an ambiguous artifact gets: two status words in one value, or two status lines
/// that disagree. No approved list may contain it.
pub const AMBIGUOUS: &str = "AMBIGUOUS";

/// The status of an artifact whose text could not be read as written (not UTF-8).
pub const UNKNOWN: &str = "UNKNOWN";

/// Words that say something is not done. A value that pairs one of them with another status
/// word (`PASS / FAIL`, `COMPLETED, pending sign-off`) is ambiguous.
const NOT_DONE: &[&str] = &[
    "FAIL",
    "FAILED",
    "FAILING",
    "REJECTED",
    "BLOCKED",
    "BLOCKING",
    "PENDING",
    "NOT",
    "NO-GO",
    "NOGO",
    "RED",
    "AMBER",
    "TBD",
    "TODO",
    "DRAFT",
    "WIP",
    "IN_PROGRESS",
    "IN-PROGRESS",
    "INCOMPLETE",
    "OPEN",
    "SKIPPED",
    "WAITING",
    "SCHEDULED",
    "PLANNED",
    "PARTIAL",
    "UNKNOWN",
    "DEFERRED",
    "CANCELLED",
    "CANCELED",
    "ABORTED",
    "ERROR",
    "NONE",
    "MISSING",
    "OVERDUE",
];

/// Words that say something is done.
const DONE: &[&str] = &[
    "PASS",
    "PASSED",
    "APPROVED",
    "COMPLETED",
    "COMPLETE",
    "READY",
    "DONE",
    "GO",
    "GREEN",
    "OK",
    "SUCCESS",
    "SUCCEEDED",
    "VERIFIED",
    "ACCEPTED",
    "SIGNED",
    "SHIPPED",
    "RESOLVED",
];

fn not_done(word: &str) -> bool {
    NOT_DONE.contains(&word) || word.starts_with("PENDING_") || word.starts_with("NOT_")
}

/// A status value as one word: the first word of the value (`**BLOCKED** (waiting)` →
/// `BLOCKED`), or [`AMBIGUOUS`] when the value also holds a status word of the other kind
/// (`PASS / FAIL`, `[APPROVED | REJECTED]`, `READY (not yet signed)`).
pub fn normalise_status(raw: &str) -> String {
    let re = cached_regex!(r"[A-Za-z][A-Za-z0-9_-]*");
    let mut words = re.find_iter(raw).map(|m| m.as_str().to_ascii_uppercase());
    let Some(mut first) = words.next() else {
        return String::new();
    };
    // "Not approved" is one negative status, not two status words.
    if (first == "NOT" || first == "NO")
        && let Some(w) = words.next()
    {
        first = format!("NOT_{w}");
    }
    let first_not_done = not_done(&first);
    for w in words {
        let conflict = if first_not_done {
            DONE.contains(&w.as_str())
        } else {
            not_done(&w) || (DONE.contains(&w.as_str()) && !DONE.contains(&first.as_str()))
        };
        if conflict {
            return AMBIGUOUS.to_string();
        }
    }
    first
}

/// Several status values of one document, in order, as one status: their common value, or
/// [`AMBIGUOUS`] when they disagree.
fn settle(statuses: &[(String, usize)]) -> (String, usize) {
    let Some((first, line)) = statuses.first() else {
        return (String::new(), 0);
    };
    if statuses.iter().any(|(s, _)| s != first) {
        (AMBIGUOUS.to_string(), *line)
    } else {
        (first.clone(), *line)
    }
}

fn clean_cell(s: &str) -> String {
    s.trim()
        .trim_matches('*')
        .trim_matches('`')
        .trim()
        .to_string()
}

/// At most this many placeholders, dates, headings and rows per table are kept from one file: a
/// hostile (or generated) Markdown file cannot turn into millions of evidence values. Counts
/// past the cap set `truncated`.
pub const MAX_ITEMS: usize = 10_000;

/// Read a Markdown text the way a reviewer reads it. Status and fields come from what a
/// renderer shows — paragraphs and two-column tables, never code, HTML (comments included) or
/// struck-through text; placeholders and dates are matched on the raw text, the stricter
/// reading (a placeholder hidden in a comment is still unfinished work).
pub fn parse_markdown(text: &str, placeholders: &[(String, Regex)]) -> Parsed {
    let mut out = Parsed::default();
    let mut statuses: Vec<(String, usize)> = Vec::new();
    let (front, _) = front_matter(text);
    if let Some(serde_yaml::Value::Mapping(m)) = &front {
        for (k, v) in m {
            if let (Some(k), Some(v)) = (k.as_str(), yaml_scalar(v)) {
                if k.eq_ignore_ascii_case("status") {
                    statuses.push((normalise_status(&v), 2));
                }
                out.fields.entry(k.to_string()).or_insert(v);
            }
        }
    }
    let date_re = cached_regex!(r"\b(\d{4})-(\d{2})-(\d{2})\b");
    // Where a reader sees text: worked out only for a file that has a placeholder at all.
    let prose = std::cell::OnceCell::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        // `line` is a slice of `text`: its offset places each match among the prose spans.
        let at = line.as_ptr() as usize - text.as_ptr() as usize;
        for (kind, re) in placeholders {
            for m in re.find_iter(line) {
                if out.placeholders.len() >= MAX_ITEMS {
                    out.truncated = true;
                    break;
                }
                out.placeholders.push(Placeholder {
                    line: lineno,
                    text: m.as_str().to_string(),
                    kind: kind.clone(),
                    // A reader sees it, and it stands for a value (not "dates in YYYY-MM-DD
                    // format", which names a format).
                    prose: super::comments::inside(
                        prose.get_or_init(|| {
                            super::comments::prose_spans(super::comments::Lang::Markdown, text)
                        }),
                        at + m.start(),
                    ) && !names_a_format(&line[m.end()..]),
                });
            }
        }
        for c in date_re.captures_iter(line) {
            let valid = NaiveDate::from_ymd_opt(
                c[1].parse().unwrap_or(0),
                c[2].parse().unwrap_or(0),
                c[3].parse().unwrap_or(0),
            );
            if let Some(d) = valid {
                if out.dates.len() >= MAX_ITEMS {
                    out.truncated = true;
                    break;
                }
                out.dates.push(DateRef {
                    line: lineno,
                    date: d.to_string(),
                });
            }
        }
    }
    markdown_structure(text, &mut out, &mut statuses);
    statuses.retain(|(s, _)| !s.is_empty());
    (out.status, out.status_line) = settle(&statuses);
    out
}

/// The text of one source line of a paragraph as a reader sees it (`shown`, without code,
/// HTML or struck-through text) and with inline code kept (`with_code`, for field values).
#[derive(Default)]
struct ShownLine {
    shown: String,
    with_code: String,
}

/// A paragraph's inline content by source line.
fn paragraph_lines<'a>(node: &'a comrak::nodes::AstNode<'a>) -> BTreeMap<usize, ShownLine> {
    use comrak::nodes::NodeValue;
    let mut lines: BTreeMap<usize, ShownLine> = BTreeMap::new();
    let mut line = node.data().sourcepos.start.line;
    for d in node.descendants().skip(1) {
        let hidden = d.ancestors().any(|a| {
            matches!(
                a.data().value,
                NodeValue::Strikethrough | NodeValue::HtmlInline(_)
            )
        });
        let data = d.data();
        if data.sourcepos.start.line > 0 {
            line = line.max(data.sourcepos.start.line);
        }
        match &data.value {
            NodeValue::Text(t) if !hidden => {
                let l = lines.entry(line).or_default();
                l.shown.push_str(t);
                l.with_code.push_str(t);
            }
            NodeValue::Code(c) if !hidden => {
                lines
                    .entry(line)
                    .or_default()
                    .with_code
                    .push_str(&c.literal);
            }
            NodeValue::SoftBreak | NodeValue::LineBreak => line += 1,
            _ => {}
        }
    }
    lines
}

/// Status and field lines of the paragraphs a reader sees (not in a block quote).
fn paragraph_fields<'a>(
    node: &'a comrak::nodes::AstNode<'a>,
    out: &mut Parsed,
    statuses: &mut Vec<(String, usize)>,
) {
    use comrak::nodes::NodeValue;
    if node
        .ancestors()
        .any(|a| matches!(a.data().value, NodeValue::BlockQuote))
    {
        return;
    }
    for (lineno, l) in paragraph_lines(node) {
        if let Some(c) = status_re().captures(&l.shown) {
            let s = normalise_status(&c[2]);
            if !s.is_empty() {
                statuses.push((s, lineno));
            }
        }
        if let Some(c) = field_re().captures(&l.with_code) {
            let key = c[1].trim().to_string();
            let value = clean_cell(&c[2]);
            if !out.fields.contains_key(&key) {
                out.field_lines.insert(key.clone(), lineno);
                out.fields.insert(key, value);
            }
        }
    }
}

fn yaml_scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// YAML front matter between `---` lines at the very top; returns it and the first body line.
fn front_matter(text: &str) -> (Option<serde_yaml::Value>, usize) {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return (None, 1);
    }
    let mut yaml = String::new();
    for (i, line) in lines.enumerate() {
        if line.trim_end() == "---" {
            // Front matter is small by nature; a bounded size keeps alias bombs away.
            if yaml.len() > 64 * 1024 || super::k8s::precheck(&yaml).is_err() {
                return (None, i + 3);
            }
            return (serde_yaml::from_str(&yaml).ok(), i + 3);
        }
        yaml.push_str(line);
        yaml.push('\n');
    }
    (None, 1)
}

fn markdown_structure(text: &str, out: &mut Parsed, statuses: &mut Vec<(String, usize)>) {
    use comrak::nodes::NodeValue;
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.front_matter_delimiter = Some("---".into());
    let root = comrak::parse_document(&arena, text, &options);
    let mut slugger = Slugger::default();
    for node in root.descendants() {
        let data = node.data();
        match &data.value {
            NodeValue::Paragraph => paragraph_fields(node, out, statuses),
            NodeValue::Heading(h) => {
                let text = node_text(node);
                let anchor = slugger.slug(&text);
                out.headings.push(Heading {
                    level: h.level,
                    text,
                    line: data.sourcepos.start.line,
                    anchor,
                });
            }
            NodeValue::Table(_) => {
                let mut table = Table {
                    line: data.sourcepos.start.line,
                    ..Table::default()
                };
                for (ri, row) in node.children().enumerate() {
                    let cells: Vec<String> =
                        row.children().map(|c| clean_cell(&node_text(c))).collect();
                    let line = row.data().sourcepos.start.line;
                    if ri == 0 {
                        table.headers = cells;
                        continue;
                    }
                    if cells.len() == 2 {
                        if cells[0].eq_ignore_ascii_case("status") {
                            let shown = row
                                .children()
                                .nth(1)
                                .map(|c| shown_text(c))
                                .unwrap_or_default();
                            statuses.push((normalise_status(&shown), line));
                        }
                        if !out.fields.contains_key(&cells[0]) {
                            out.field_lines.insert(cells[0].clone(), line);
                            out.fields.insert(cells[0].clone(), cells[1].clone());
                        }
                    }
                    if table.rows.len() >= MAX_ITEMS {
                        out.truncated = true;
                        break;
                    }
                    let mut map = BTreeMap::new();
                    for (i, cell) in cells.into_iter().enumerate() {
                        let key = table
                            .headers
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("col{}", i + 1));
                        map.insert(key, cell);
                    }
                    table.rows.push(map);
                    table.row_lines.push(line);
                }
                out.tables.push(table);
            }
            _ => {}
        }
    }
}

/// A node's text as a reader sees it: no code, HTML or struck-through text.
fn shown_text<'a>(node: &'a comrak::nodes::AstNode<'a>) -> String {
    use comrak::nodes::NodeValue;
    let mut s = String::new();
    for d in node.descendants() {
        let hidden = d.ancestors().any(|a| {
            matches!(
                a.data().value,
                NodeValue::Strikethrough | NodeValue::HtmlInline(_)
            )
        });
        match &d.data().value {
            NodeValue::Text(t) if !hidden => s.push_str(t),
            NodeValue::SoftBreak | NodeValue::LineBreak => s.push(' '),
            _ => {}
        }
    }
    s.trim().to_string()
}

pub(crate) fn node_text<'a>(node: &'a comrak::nodes::AstNode<'a>) -> String {
    use comrak::nodes::NodeValue;
    let mut s = String::new();
    for d in node.descendants() {
        match &d.data().value {
            NodeValue::Text(t) => s.push_str(t),
            NodeValue::Code(c) => s.push_str(&c.literal),
            // As written (`[^1]`), as a parser without footnotes would read it.
            NodeValue::FootnoteReference(r) => {
                s.push_str("[^");
                s.push_str(&r.name);
                s.push(']');
            }
            NodeValue::SoftBreak | NodeValue::LineBreak => s.push(' '),
            _ => {}
        }
    }
    s.trim().to_string()
}

/// GitHub's heading anchors: lower-case, punctuation dropped (except `-` and `_`), spaces to
/// `-`, and a repeated heading gets `-1`, `-2`, ….
#[derive(Debug, Default)]
pub struct Slugger {
    seen: BTreeMap<String, usize>,
}

impl Slugger {
    pub fn slug(&mut self, text: &str) -> String {
        let base = github_slug(text);
        let n = self.seen.entry(base.clone()).or_insert(0);
        let slug = if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        *n += 1;
        slug
    }
}

pub fn github_slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c == ' ' {
                Some('-')
            } else if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

impl Source for Spec {
    const NAME: &'static str = "artifact";
    const DOC: SourceDoc = SourceDoc {
        name: "artifact",
        summary: "A Markdown operations document (a path, or a glob whose newest match is described at the top level): its status, fields, tables, headings, placeholders and age.",
        options: "none (the value is a path or glob)",
        names: &[
            n("exists", "bool", "a file matched"),
            n(
                "path",
                "string",
                "the newest match (or the pattern, when nothing matched)",
            ),
            n(
                "matches",
                "list of strings",
                "every matching path, newest first",
            ),
            n(
                "items",
                "list",
                "every match, parsed the same way, newest first",
            ),
            n(
                "status",
                "string",
                "upper-cased first word of the status a reader sees (front matter, `Status:` line or table row); AMBIGUOUS when two disagree, UNKNOWN when not UTF-8, \"\" when none",
            ),
            n("status_line", "int", "line of the status"),
            n(
                "fields",
                "map",
                "`Key: value` lines, two-column table rows, front-matter keys",
            ),
            n(
                "field_lines",
                "map",
                "field → the line it was read from (absent for front-matter keys)",
            ),
            n("tables", "list", "{line, headers, rows, row_lines}"),
            n("headings", "list", "{level, text, line, anchor}"),
            n(
                "placeholders",
                "list",
                "{line, text, kind}: TBD, TODO, <fill-me>, YYYY-MM-DD, PENDING…",
            ),
            n(
                "dates",
                "list",
                "{line, date} for every valid YYYY-MM-DD date",
            ),
            n(
                "unread",
                "list",
                "{path, reason}: matched files not read (binary, too large, not UTF-8, symlink out, dated after --now)",
            ),
            n(
                "name_date",
                "string",
                "the date in the file name, \"\" if none",
            ),
            n(
                "age_days",
                "int",
                "days since name_date, else since mtime; -1 when absent",
            ),
            n("age_source", "string", "name, mtime or absent"),
            n("mtime", "string", "modification time (RFC 3339)"),
            n(
                "lossy",
                "bool",
                "the file was not UTF-8 and was read with replacement characters",
            ),
            n(
                "published_audit",
                "bool",
                "the file is a published audit report in publish_dir",
            ),
        ],
        example: r#"[[rule]]
id = "dr-drill-executed"
area = "example"
title = "DR drill executed and recorded"
evidence.drill = { artifact = "docs/operations-artifacts/dr-drill-*.md" }
expect = [
  'drill.exists',
  'drill.status in approved',
  'size(drill.placeholders) == 0',
  'drill.age_days <= stale_after_days',
]
"#,
    };

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!("artifact `{}`", self.glob)
    }

    fn paths(&self) -> Vec<String> {
        vec![self.glob.clone()]
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((vec![self.glob.clone()], vec![]))
    }

    fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
        let empty = v
            .get("matches")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        (super::fs::is_glob(&self.glob) && empty)
            .then(|| format!("`{name}`: `{}` matched no file", self.glob))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        parse_markdown(text, &PlaceholderSet::default().compile())
    }

    #[test]
    fn status_from_line_bold_and_table() {
        assert_eq!(
            parse("# X\n\nStatus: PENDING_EXECUTION\n").status,
            "PENDING_EXECUTION"
        );
        assert_eq!(
            parse("**Status:** BLOCKED (no cluster)\n").status,
            "BLOCKED"
        );
        assert_eq!(parse("- Current status: pending\n").status, "PENDING");
        let t = parse("| Field | Value |\n|---|---|\n| Status | ✅ PASS |\n| Owner | sre |\n");
        assert_eq!(t.status, "PASS");
        assert_eq!(t.fields["Owner"], "sre");
        assert_eq!(t.status_line, 3);
    }

    #[test]
    fn status_lines_that_disagree_are_ambiguous() {
        let p = parse("---\nstatus: completed\nowner: sre\n---\n# Drill\nStatus: PENDING\n");
        assert_eq!(p.status, AMBIGUOUS);
        assert_eq!(p.fields["owner"], "sre");
        let p = parse("---\nstatus: completed\n---\n# Drill\nStatus: Completed\n");
        assert_eq!(p.status, "COMPLETED", "agreeing lines settle");
        let p = parse("Status: PASS\n\n| Field | Value |\n|---|---|\n| Status | FAIL |\n");
        assert_eq!(p.status, AMBIGUOUS);
    }

    #[test]
    fn status_is_what_a_reader_sees() {
        for hidden in [
            "<!-- Status: PASS -->\n",
            "```\nStatus: PASS\n```\n",
            "    Status: PASS\n",
            "<div>\nStatus: PASS\n</div>\n",
            "Status: `PASS`\n",
            "Status: ~~PASS~~\n",
            "> Status: PASS\n",
        ] {
            let p = parse(&format!("# Drill\n\n{hidden}"));
            assert_eq!(p.status, "", "{hidden:?} is not a status a reader sees");
        }
        let p = parse("# Drill\n\nStatus: ~~PASS~~ BLOCKED\n<!-- Status: PASS -->\n");
        assert_eq!(p.status, "BLOCKED");
    }

    #[test]
    fn two_status_words_are_ambiguous() {
        for v in [
            "PASS / FAIL",
            "[APPROVED | REJECTED]",
            "APPROVED | BLOCKED pending review",
            "COMPLETED, pending sign-off",
            "READY (not yet signed)",
            "BLOCKED or APPROVED",
        ] {
            assert_eq!(normalise_status(v), AMBIGUOUS, "{v}");
        }
        for (v, want) in [
            ("BLOCKED (no cluster)", "BLOCKED"),
            ("✅ PASS", "PASS"),
            ("PASS (0 failures)", "PASS"),
            ("COMPLETED — all checks passed", "COMPLETED"),
            ("Not approved", "NOT_APPROVED"),
            ("NOT APPROVED / APPROVED", AMBIGUOUS),
        ] {
            assert_eq!(normalise_status(v), want, "{v}");
        }
    }

    #[test]
    fn placeholders_with_lines_and_kinds() {
        let p = parse(
            "a\nReviewer: TBD\nCIDR: <api-cidr>\nDate: YYYY-MM-DD\n<br> <details>\nStatus: PENDING\n",
        );
        let got: Vec<(usize, &str, &str)> = p
            .placeholders
            .iter()
            .map(|p| (p.line, p.text.as_str(), p.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "TBD", "tbd"),
                (3, "<api-cidr>", "fill-in"),
                (4, "YYYY-MM-DD", "date-template"),
                (6, "PENDING", "pending"),
            ]
        );
    }

    #[test]
    fn fields_tables_headings_dates() {
        let p = parse(
            "# Title\n\nOwner: platform-team\nDate: 2026-02-09\n\n## Results\n\n| Control | Result |\n|---|---|\n| enc | PASS |\n\n## Results\n\n```\nStatus: IGNORED\n```\n",
        );
        assert_eq!(p.fields["Owner"], "platform-team");
        assert_eq!(p.fields["enc"], "PASS");
        assert_eq!(p.tables[0].rows[0]["Result"], "PASS");
        assert_eq!(p.tables[0].row_lines, vec![10]);
        let anchors: Vec<&str> = p.headings.iter().map(|h| h.anchor.as_str()).collect();
        assert_eq!(anchors, vec!["title", "results", "results-1"]);
        assert_eq!(p.dates[0].date, "2026-02-09");
        assert_eq!(p.status, "", "fenced code is not a status line");
    }

    #[test]
    fn name_dates() {
        assert_eq!(
            date_in_name("docs/dr-drill-20260209.md"),
            NaiveDate::from_ymd_opt(2026, 2, 9)
        );
        assert_eq!(
            date_in_name("a/audit-2025-12-31.md"),
            NaiveDate::from_ymd_opt(2025, 12, 31)
        );
        assert_eq!(date_in_name("capacity.md"), None);
    }

    #[test]
    fn slugs_follow_github() {
        assert_eq!(
            github_slug("2.1 Observability & Monitoring"),
            "21-observability--monitoring"
        );
        assert_eq!(github_slug("Phase 1: Docs"), "phase-1-docs");
    }

    #[test]
    fn a_named_format_is_not_a_placeholder_a_reader_sees() {
        let ph = PlaceholderSet::default().compile();
        let p = parse_markdown(
            "# Dates\n\nMatches a date in YYYY-MM-DD format.\n\nDate: YYYY-MM-DD\n",
            &ph,
        );
        let seen: Vec<(usize, bool)> = p.placeholders.iter().map(|x| (x.line, x.prose)).collect();
        // Both stay in the artifact's strict list; only the unfilled value is one a reader sees.
        assert_eq!(seen, [(3, false), (5, true)]);
    }
}
