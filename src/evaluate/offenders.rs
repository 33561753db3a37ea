//! What exactly a failing expectation is about: one offender per placeholder, broken link,
//! suppression problem, manifest object, missing file or out-of-range field — with the file,
//! line and key that identify it and a sentence in plain words. Findings, SARIF results, JUnit
//! failures, fingerprints and per-finding waivers are all made from these, so a failing rule
//! never points at evidence that is only context (a valid suppression, a coherent version).

use std::collections::BTreeMap;

use ::cel::{Context, Value as Cel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cel::{eval, show, split_top, strip_parens};

/// One thing a failing (or pending) rule is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Offender {
    /// File relative to the audited folder; absent when the offender is the rule as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What identifies it within the file: the placeholder, status value, CVE id, link target,
    /// object, image, version or tag. Part of the finding's fingerprint (the line is not).
    pub key: String,
    /// The rule's `fail_message` for this offender, or shipshape's own wording.
    pub sentence: String,
    /// Identifies the finding across audits (see [`fingerprint`]).
    #[serde(default)]
    pub fingerprint: String,
    /// The sentence is plain words (not a CEL expression shown with its value).
    #[serde(skip)]
    #[schemars(skip)]
    pub plain: bool,
    /// A per-finding waiver covers it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waived: bool,
    /// Fields a `fail_message` may name as `{offender.NAME}`; not kept in the bundle.
    #[serde(skip)]
    #[schemars(skip)]
    pub fields: BTreeMap<String, String>,
}

impl Offender {
    pub fn new(path: Option<String>, line: Option<usize>, key: String, sentence: String) -> Self {
        Offender {
            path,
            line,
            column: None,
            key,
            sentence,
            fingerprint: String::new(),
            plain: true,
            waived: false,
            fields: BTreeMap::new(),
        }
    }

    /// Point at the line that sets `field` (`file:line`), and say which field it is.
    fn locate_field(&mut self, field: String, place: &str) {
        if let Some((path, line)) = place.rsplit_once(':')
            && let Ok(line) = line.parse()
        {
            self.path = Some(path.to_string());
            self.line = Some(line);
        }
        self.sentence = format!("`{}`: {field} ({place})", self.key);
        self.fields.insert("field".into(), field);
    }

    /// The value of `{offender.NAME}`.
    fn field(&self, name: &str) -> Option<String> {
        match name {
            "key" => Some(self.key.clone()),
            "path" | "file" => self.path.clone(),
            "line" => self.line.map(|l| l.to_string()),
            "sentence" => Some(self.sentence.clone()),
            other => self.fields.get(other).cloned(),
        }
    }
}

/// `sha256("shipshape-finding/1", rule, path, key, occurrence)`, first 16 hex digits: the
/// same offender in the same file is the same finding wherever its line moves; repeats of one
/// key in one file are numbered in file order.
pub fn fingerprint(rule: &str, path: &str, key: &str, occurrence: usize) -> String {
    use sha2::{Digest, Sha256};
    let key = words(key);
    let mut h = Sha256::new();
    for part in [
        "shipshape-finding/1",
        rule,
        path,
        &key,
        &occurrence.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())[..16].to_string()
}

/// Whitespace-insensitive identity of a key (a paragraph re-wrapped is the same finding).
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Give each offender of `rule` its fingerprint.
pub fn fingerprint_all(rule: &str, offenders: &mut [Offender]) {
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for o in offenders {
        let path = o.path.clone().unwrap_or_default();
        let n = seen.entry((path.clone(), words(&o.key))).or_insert(0);
        o.fingerprint = fingerprint(rule, &path, &o.key, *n);
        *n += 1;
    }
}

/// Evidence of one rule, by the name the rule gave it.
pub type Vars<'a> = BTreeMap<&'a str, &'a Value>;

/// The offenders of an expectation that came out false.
pub fn find(expr: &str, ctx: &Context<'_, '_>, vars: &Vars<'_>) -> Vec<Offender> {
    let expr = strip_parens(expr);
    let ors = split_top(expr, "||");
    if ors.len() > 1 {
        // `!x.exists || …` guards say when a check applies; the check is what failed.
        let checks: Vec<&String> = ors.iter().filter(|p| !p.starts_with('!')).collect();
        if checks.len() == 1 {
            return find(checks[0], ctx, vars);
        }
        return vec![whole(expr, ctx, vars)];
    }
    let ands = split_top(expr, "&&");
    if ands.len() > 1 {
        return ands
            .iter()
            .filter(|p| !matches!(eval(p, ctx), Ok(Cel::Bool(true))))
            .flat_map(|p| find(p, ctx, vars))
            .collect();
    }
    if let Some(o) = absent(expr, ctx) {
        return vec![o];
    }
    if let Some(list) = emptiness(expr, vars) {
        return elements(&list, ctx, vars);
    }
    if let Some(list) = universal(expr) {
        return elements(&list, ctx, vars);
    }
    if let Some(o) = comparison(expr, ctx, vars) {
        return vec![o];
    }
    vec![whole(expr, ctx, vars)]
}

/// Whether `expr` is a file's `exists` that came out false (later expectations about that file
/// fail for the same reason and are not reported again).
pub fn is_absence(expr: &str, ctx: &Context<'_, '_>) -> bool {
    absent(strip_parens(expr), ctx).is_some()
}

/// `doc.exists` false: the offender is the missing file.
fn absent(expr: &str, ctx: &Context<'_, '_>) -> Option<Offender> {
    let base = expr.strip_suffix(".exists")?;
    // A list's `exists(…)` macro is not a file's `exists` field.
    if base.contains(['(', ' ', '!']) {
        return None;
    }
    let Ok(Cel::String(p)) = eval(&format!("{base}.path"), ctx) else {
        return None;
    };
    let p = p.as_str().to_string();
    Some(Offender::new(
        Some(p.clone()),
        None,
        p.clone(),
        format!("`{p}` does not exist"),
    ))
}

/// The list an emptiness expectation wants empty: `L == []`, `size(L) == 0`, `L.size() == 0`,
/// or a scan's `v.count == 0` (its matches).
fn emptiness(expr: &str, vars: &Vars<'_>) -> Option<String> {
    let parts = split_top(expr, "==");
    if parts.len() != 2 {
        return None;
    }
    let (left, right) = (parts[0].trim(), parts[1].trim());
    match right {
        "[]" => Some(left.to_string()),
        "0" => {
            if let Some(inner) = left.strip_prefix("size(").and_then(|r| r.strip_suffix(')')) {
                Some(inner.to_string())
            } else if let Some(inner) = left.strip_suffix(".size()") {
                Some(inner.to_string())
            } else {
                let var = left.strip_suffix(".count")?;
                vars.get(var)?.get("matches")?.as_array()?;
                Some(format!("{var}.matches"))
            }
        }
        _ => None,
    }
}

/// `L.all(x, P)` false: the elements for which `P` is false; `!L.exists(x, P)`: those for
/// which it holds.
fn universal(expr: &str) -> Option<String> {
    let (negated, body) = match expr.strip_prefix('!') {
        Some(rest) => (true, strip_parens(rest)),
        None => (false, expr),
    };
    let macro_name = if negated { ".exists(" } else { ".all(" };
    let open = top_level_call(body, macro_name)?;
    let list = &body[..open];
    let inner = body[open + macro_name.len()..].strip_suffix(')')?;
    let comma = split_top(inner, ",");
    if comma.len() != 2 {
        return None;
    }
    let (var, pred) = (comma[0].trim(), comma[1].trim());
    Some(if negated {
        format!("{list}.filter({var}, {pred})")
    } else {
        format!("{list}.filter({var}, !({pred}))")
    })
}

/// Where `name` opens the last call of a method chain `X.name(...)` spanning to the end.
fn top_level_call(expr: &str, name: &str) -> Option<usize> {
    if !expr.ends_with(')') {
        return None;
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut last = None;
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match quote {
            Some(_) if c == '\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                '.' if depth == 0 && expr[i..].starts_with(name) => last = Some(i),
                _ => {}
            },
        }
        i += 1;
    }
    // The call must close at the very end: nothing after its parenthesis.
    let open = last?;
    let mut depth = 0i32;
    for (j, c) in expr[open + name.len() - 1..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return (open + name.len() - 1 + j == expr.len() - 1).then_some(open);
                }
            }
            _ => {}
        }
    }
    None
}

/// The evidence variable an expression reads first (`drill` in `size(drill.placeholders)`,
/// `audit` in `timestamp(audit.name_date + "…")`).
fn root_of<'e>(expr: &'e str, vars: &Vars<'_>) -> &'e str {
    let mut first = None;
    let mut rest = expr;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let word = &rest[start..];
        let end = word
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(word.len());
        let name = &word[..end];
        let quoted = rest[..start].matches(['"', '\'']).count() % 2 == 1;
        if !quoted {
            if vars.contains_key(name) {
                return name;
            }
            first.get_or_insert(name);
        }
        rest = &word[end..];
    }
    first.unwrap_or("")
}

/// The member an expression lists, for wording (`placeholders` in `drill.placeholders.filter(…)`).
fn member_of<'e>(list: &'e str, vars: &Vars<'_>) -> &'e str {
    let root = root_of(list, vars);
    let after = list
        .find(root)
        .map(|i| &list[i + root.len()..])
        .unwrap_or("");
    let after = after.strip_prefix('.').unwrap_or("");
    let end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    if end == 0 { root } else { &after[..end] }
}

/// A person's word for one element of a listed member.
fn noun(member: &str) -> String {
    match member {
        "placeholders" => "placeholder".into(),
        "broken" => "broken link".into(),
        "unsafe" => "unsafe link".into(),
        "missing" => "missing file".into(),
        "problems" => "problem".into(),
        "matches" => "match".into(),
        "objects" => "object".into(),
        "items" => "document".into(),
        "values" => "value".into(),
        "tags" => "tag".into(),
        "entries" => "entry".into(),
        "headings" => "heading".into(),
        "outliers" => "version outlier".into(),
        other => other.trim_end_matches('s').replace('_', " "),
    }
}

/// The file the evidence variable describes, when it is one file that exists.
fn file_of(vars: &Vars<'_>, root: &str) -> Option<String> {
    let v = vars.get(root)?;
    if v.get("exists").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    v.get("path").and_then(Value::as_str).map(str::to_string)
}

/// One offender per element of `list` (an expression naming a list).
fn elements(list: &str, ctx: &Context<'_, '_>, vars: &Vars<'_>) -> Vec<Offender> {
    // `….map(o, o._ref)` lists names; the objects themselves say more.
    let objects = top_level_call(list, ".map(")
        .map(|i| &list[..i])
        .filter(|l| matches!(eval(l, ctx), Ok(Cel::List(_))));
    let expr = objects.unwrap_or(list);
    let Ok(Cel::List(items)) = eval(expr, ctx) else {
        return vec![whole(list, ctx, vars)];
    };
    let root = root_of(list, vars);
    let member = member_of(list, vars);
    let word = noun(member);
    let file = file_of(vars, root);
    let filter = top_level_call(expr, ".filter(").and_then(|i| {
        let inner = expr[i + ".filter(".len()..].strip_suffix(')')?;
        let parts = split_top(inner, ",");
        (parts.len() == 2).then(|| (parts[0].trim().to_string(), parts[1].trim().to_string()))
    });
    items
        .iter()
        .map(|item| {
            let mut o = element(item, &word, member, file.as_deref());
            if let Some((var, pred)) = &filter
                && let Some((field, place)) = super::fields::field_of(item, var, pred, ctx)
            {
                o.locate_field(field, &place);
            }
            o
        })
        .collect()
}

/// The offender one listed element stands for.
fn element(item: &Cel, word: &str, member: &str, file: Option<&str>) -> Offender {
    match item {
        Cel::Map(m) => {
            let mut fields = BTreeMap::new();
            for (k, v) in m.map.iter() {
                if let ::cel::objects::Key::String(k) = k {
                    let text = match v {
                        Cel::String(s) => s.to_string(),
                        Cel::Int(_) | Cel::UInt(_) | Cel::Float(_) | Cel::Bool(_) => show(v),
                        Cel::List(l) => l
                            .iter()
                            .map(|x| match x {
                                Cel::String(s) => s.to_string(),
                                other => show(other),
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                        _ => continue,
                    };
                    fields.insert(k.to_string(), text);
                }
            }
            object(fields, word, file)
        }
        Cel::String(s) => {
            let (key, place) = split_ref(s.as_str());
            let (path, line) = match place {
                Some((p, l)) => (Some(p), l),
                None if member == "missing" => (Some(key.clone()), None),
                None => (file.map(str::to_string), None),
            };
            let sentence = if member == "missing" {
                format!("`{key}` is missing")
            } else {
                format!("{word} `{key}`")
            };
            let mut o = Offender::new(path, line, key.clone(), sentence);
            o.fields.insert("name".into(), key);
            o
        }
        other => Offender::new(
            file.map(str::to_string),
            None,
            show(other),
            format!("{word} {}", show(other)),
        ),
    }
}

/// An element that is a map: a placeholder, a link, a suppression entry, a Kubernetes object.
fn object(mut fields: BTreeMap<String, String>, word: &str, file: Option<&str>) -> Offender {
    let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let (ref_key, ref_place) = match get("_ref") {
        Some(r) => {
            let (k, p) = split_ref(&r);
            (Some(k), p)
        }
        None => (None, None),
    };
    let path = get("_path")
        .or_else(|| get("path"))
        .or_else(|| get("file"))
        .or_else(|| ref_place.as_ref().map(|(p, _)| p.clone()))
        .or_else(|| file.map(str::to_string));
    let line = ["_line", "line"]
        .iter()
        .find_map(|k| get(k).and_then(|l| l.parse().ok()))
        .or_else(|| ref_place.and_then(|(_, l)| l));
    let column = get("column").and_then(|c| c.parse().ok());
    let key = ref_key
        .or_else(|| {
            [
                "id", "target", "text", "image", "tag", "name", "version", "value", "entry",
            ]
            .iter()
            .find_map(|k| get(k))
        })
        .or_else(|| path.clone())
        .unwrap_or_default();
    let why = ["reason", "problem", "problems", "hint"]
        .iter()
        .find_map(|k| get(k));
    let place = match (&path, line) {
        (Some(p), Some(l)) => format!(" ({p}:{l})"),
        (Some(p), None) => format!(" ({p})"),
        _ => String::new(),
    };
    let sentence = match why {
        Some(w) => format!("{word} `{key}`: {w}"),
        // A statement that disagrees with what was expected (a version outlier).
        None if get("expected").is_some() => format!(
            "{} says `{key}`, not {}",
            get("source").unwrap_or_else(|| word.to_string()),
            get("expected").unwrap_or_default()
        ),
        // A Kubernetes object names its kind itself; its place is part of how people find it.
        None if word == "object" => format!("`{key}`{place}"),
        None => format!("{word} `{key}`"),
    };
    fields.entry("key".into()).or_insert_with(|| key.clone());
    let mut o = Offender::new(path, line, key, sentence);
    o.column = column;
    o.fields = fields;
    o
}

/// `Deployment/prod/app (k8s/app.yaml:12)` → the name and its place.
fn split_ref(s: &str) -> (String, Option<(String, Option<usize>)>) {
    let Some(inner) = s.strip_suffix(')') else {
        return (s.to_string(), None);
    };
    let Some(open) = inner.rfind(" (") else {
        return (s.to_string(), None);
    };
    let place = &inner[open + 2..];
    let (path, line) = match place.rsplit_once(':') {
        Some((p, l)) if !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()) => {
            (p.to_string(), l.parse().ok())
        }
        _ => (place.to_string(), None),
    };
    (inner[..open].to_string(), Some((path, line)))
}

/// A value in a sentence: strings bare, lists as comma-separated words.
fn plain(v: &Cel) -> String {
    match v {
        Cel::String(s) => s.to_string(),
        Cel::List(l) => {
            let shown: Vec<String> = l.iter().take(8).map(plain).collect();
            let more = if l.len() > 8 {
                format!(", … {} more", l.len() - 8)
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        }
        other => show(other),
    }
}

/// `x.field OP value` false: the offender is the field of that file, with its value as key.
fn comparison(expr: &str, ctx: &Context<'_, '_>, vars: &Vars<'_>) -> Option<Offender> {
    for (op, wording) in super::cel::COMPARISONS {
        let parts = split_top(expr, op);
        if parts.len() != 2 {
            continue;
        }
        let (left, right) = (parts[0].trim(), parts[1].trim());
        let value = eval(left, ctx).ok()?;
        let wanted = eval(right, ctx)
            .map(|v| plain(&v))
            .unwrap_or_else(|_| right.to_string());
        let root = root_of(left, vars);
        let (subject, plain_words) = subject(left, root);
        let shown = match &value {
            Cel::String(s) if s.is_empty() => "empty".to_string(),
            other => plain(other),
        };
        let sentence = if right == "approved" {
            format!("{subject} is {shown}; approved statuses are {wanted}")
        } else {
            format!("{subject} is {shown}; {wording} {wanted}")
        };
        let line = simple_member(left, root).and_then(|m| {
            let v = vars.get(root)?;
            // `status` → `status_line`; an artifact field → its entry in `field_lines`.
            match m.strip_prefix("fields.") {
                Some(name) => v.get("field_lines")?.get(name),
                None => v.get(format!("{m}_line")),
            }?
            .as_u64()
            .filter(|l| *l > 0)
            .map(|l| l as usize)
        });
        let mut o = Offender::new(file_of(vars, root), line, plain(&value), sentence);
        o.plain = plain_words;
        o.fields.insert("value".into(), plain(&value));
        o.fields.insert("expected".into(), wanted);
        return Some(o);
    }
    None
}

/// `status` in `drill.status`: the member a plain field access reads.
fn simple_member<'e>(left: &'e str, root: &str) -> Option<&'e str> {
    let rest = left.strip_prefix(root)?.strip_prefix('.')?;
    rest.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        .then_some(rest)
}

/// What a comparison talks about, in words (`status`, `the number of placeholders`), or the
/// expression itself when it is more than a field (then not plain words).
fn subject(left: &str, root: &str) -> (String, bool) {
    if let Some(m) = simple_member(left, root) {
        let m = match m {
            "count" => "the number of matches",
            "age_days" => "age in days",
            // An artifact's `Owner:` field is called what the document calls it.
            other => other.strip_prefix("fields.").unwrap_or(other),
        };
        return (m.replace('_', " "), true);
    }
    if let Some(inner) = left.strip_prefix("size(").and_then(|r| r.strip_suffix(')'))
        && let Some(m) = simple_member(inner, root)
    {
        return (format!("the number of {}", m.replace('_', " ")), true);
    }
    (format!("`{left}`"), false)
}

/// The expectation as a whole: about the file its evidence names, if one.
fn whole(expr: &str, ctx: &Context<'_, '_>, vars: &Vars<'_>) -> Offender {
    let root = root_of(expr, vars);
    let sentence = super::cel::explain(expr, ctx);
    let mut o = Offender::new(file_of(vars, root), None, String::new(), sentence);
    o.plain = false;
    o
}

/// A `fail_message` for one offender: `{offender.NAME}` replaced by its value.
pub fn render(template: &str, o: &Offender) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{offender.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{offender.".len()..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                out.push_str(&o.field(name).unwrap_or_else(|| "?".into()));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{offender.NAME}` names a message uses (checked when the policy loads).
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{offender.") {
        let after = &rest[start + "{offender.".len()..];
        let Some(end) = after.find('}') else { break };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, name: &str, v: Value) -> Vec<Offender> {
        let mut ctx = super::super::cel::context();
        ctx.add_variable_from_value(name, super::super::cel::to_cel(&v));
        ctx.add_variable_from_value(
            "approved",
            super::super::cel::to_cel(&json!(["PASS", "COMPLETED"])),
        );
        let vars: Vars<'_> = [(name, &v)].into_iter().collect();
        find(expr, &ctx, &vars)
    }

    fn drill() -> Value {
        json!({"exists": true, "path": "ops/drill.md", "status": "PENDING", "status_line": 3,
               "placeholders": [{"line": 7, "text": "TBD"}, {"line": 9, "text": "<fill-me>"}],
               "age_days": 200})
    }

    #[test]
    fn a_status_names_its_line_and_value() {
        let o = run("drill.status in approved", "drill", drill());
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].path.as_deref(), Some("ops/drill.md"));
        assert_eq!(o[0].line, Some(3));
        assert_eq!(o[0].key, "PENDING");
        assert_eq!(
            o[0].sentence,
            "status is PENDING; approved statuses are PASS, COMPLETED"
        );
    }

    #[test]
    fn each_placeholder_is_one_offender() {
        for expr in [
            "size(drill.placeholders) == 0",
            "drill.placeholders == []",
            "drill.placeholders.size() == 0",
            "drill.placeholders.all(p, false)",
            "!drill.placeholders.exists(p, true)",
        ] {
            let o = run(expr, "drill", drill());
            let keys: Vec<(&str, Option<usize>)> =
                o.iter().map(|o| (o.key.as_str(), o.line)).collect();
            assert_eq!(keys, [("TBD", Some(7)), ("<fill-me>", Some(9))], "{expr}");
            assert!(o.iter().all(|o| o.path.as_deref() == Some("ops/drill.md")));
            assert_eq!(o[0].sentence, "placeholder `TBD`");
        }
    }

    #[test]
    fn guards_and_conjunctions_find_the_failing_part() {
        let o = run(
            "!drill.exists || (drill.age_days <= 92 && drill.status == 'PENDING')",
            "drill",
            drill(),
        );
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].sentence, "age in days is 200; expected at most 92");
        assert_eq!(o[0].key, "200");
    }

    #[test]
    fn a_missing_file_is_the_offender() {
        let o = run(
            "doc.exists",
            "doc",
            json!({"exists": false, "path": "docs/ops.md"}),
        );
        assert_eq!(o[0].path.as_deref(), Some("docs/ops.md"));
        assert_eq!(o[0].sentence, "`docs/ops.md` does not exist");
        let o = run(
            "size(files.missing) == 0",
            "files",
            json!({"missing": ["SECURITY.md"]}),
        );
        assert_eq!(o[0].path.as_deref(), Some("SECURITY.md"));
        assert_eq!(o[0].sentence, "`SECURITY.md` is missing");
    }

    #[test]
    fn scan_counts_list_their_matches_and_refs_their_place() {
        let o = run(
            "m.count == 0",
            "m",
            json!({"count": 1, "matches": [{"path": "src/a.rs", "line": 4, "text": "// TODO"}]}),
        );
        assert_eq!(
            (o[0].path.as_deref(), o[0].line, o[0].key.as_str()),
            (Some("src/a.rs"), Some(4), "// TODO")
        );
        let o = run(
            "w.objects.filter(o, true).map(o, o._ref) == []",
            "w",
            json!({"objects": [{"_ref": "Deployment/prod/app (k8s/app.yaml:12)", "_path": "k8s/app.yaml", "_line": 12}]}),
        );
        assert_eq!(
            (o[0].path.as_deref(), o[0].line, o[0].key.as_str()),
            (Some("k8s/app.yaml"), Some(12), "Deployment/prod/app")
        );
    }

    #[test]
    fn messages_name_offender_fields() {
        let mut o = Offender::new(Some("a.md".into()), Some(2), "TBD".into(), String::new());
        o.fields.insert("kind".into(), "tbd".into());
        assert_eq!(
            render(
                "`{offender.key}` ({offender.kind}) at {offender.path}:{offender.line}; {offender.nope}",
                &o
            ),
            "`TBD` (tbd) at a.md:2; ?"
        );
        assert_eq!(
            placeholders("{offender.key} and {offender.x}"),
            ["key", "x"]
        );
    }
}
