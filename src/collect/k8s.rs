//! The Kubernetes object model shared by the `cluster` and `manifests` sources: YAML streams
//! split into documents with the line each starts on, `List` kinds flattened, label and field
//! selectors, and the per-object keys rules use to name an offender (`_ref`, `_path`, `_line`).
//! Keeping this in one place is what lets one rule run unchanged on manifests, on a recorded
//! snapshot and on the live API.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Nesting deeper than this is refused before parsing: no Kubernetes object comes close, and a
/// hostile file should fail fast with a clear reason instead of exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// One object read from a file, with the place it came from (serialised as is in the run
/// cache of kustomize renders).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Located {
    pub value: Value,
    /// `/`-separated path relative to the audited folder (or as given on the command line).
    pub path: Option<String>,
    /// 1-based line where the object's document (or `List` item) starts.
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    /// Workload fields → `file:line` that sets them (`_lines` in the evidence), so a finding
    /// about a container's image points at the image line, in the patch when a patch set it.
    pub fields: BTreeMap<String, String>,
}

/// A document of a YAML stream that could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseProblem {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// A YAML document: its text and the 1-based line of its first content line.
struct Doc<'a> {
    text: &'a str,
    /// Line (1-based) of the first line of `text`.
    first_line: usize,
}

/// Split a YAML stream at `---` (and `...`) lines in column 0. Block scalars are always indented
/// in Kubernetes objects, so a marker in column 0 always separates documents.
fn split_docs(text: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_end_matches(['\n', '\r']);
        let marker = t == "---"
            || t.starts_with("--- ")
            || t.starts_with("---\t")
            || t == "..."
            || t.starts_with("... ");
        if marker {
            docs.push(Doc {
                text: &text[start..offset],
                first_line: start_line,
            });
            // `--- {inline: doc}` keeps its content on the marker line.
            let rest = t.strip_prefix("---").unwrap_or("");
            if t.starts_with("---") && !rest.trim().is_empty() && !rest.trim().starts_with('#') {
                start = offset + 3;
                start_line = i + 1;
            } else {
                start = offset + line.len();
                start_line = i + 2;
            }
        }
        offset += line.len();
    }
    docs.push(Doc {
        text: &text[start..],
        first_line: start_line,
    });
    docs
}

/// The first line of a document that holds content (not blank, not a comment).
fn content_line(doc: &Doc<'_>) -> Option<usize> {
    doc.text.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim();
        (!t.is_empty() && !t.starts_with('#')).then_some(doc.first_line + i)
    })
}

/// Refuse documents nested deeper than [`MAX_DEPTH`] or using YAML aliases more than a
/// Kubernetes object ever would. serde_yaml 0.9 already stops alias expansion ("repetition limit
/// exceeded") and deep recursion, but only after doing a lot of work; this check is a linear
/// scan that fails at once.
pub fn precheck(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut max_flow = 0usize;
    let mut aliases = 0usize;
    let mut max_indent = 0usize;
    // Inside a block scalar (`key: |`), lines indented deeper than its key are text, not
    // structure: a script or a certificate there is never counted as nesting.
    let mut block_at: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(key_indent) = block_at {
            if trimmed.is_empty() || indent > key_indent {
                continue;
            }
            block_at = None;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        max_indent = max_indent.max(indent);
        if starts_block_scalar(trimmed) {
            block_at = Some(indent);
        }
        let mut in_quote: Option<char> = None;
        let mut prev = ' ';
        for c in trimmed.chars() {
            match in_quote {
                Some(q) => {
                    if c == q {
                        in_quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' if prev == ' ' || prev == ':' || prev == '[' || prev == ',' => {
                        in_quote = Some(c)
                    }
                    // Only where a flow collection can start: `^[a-z]+$` in a plain scalar is not
                    // nesting.
                    '[' | '{' if matches!(prev, ' ' | '[' | '{' | ',' | ':' | '-') => {
                        depth += 1;
                        max_flow = max_flow.max(depth);
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    '*' if prev == ' ' || prev == '[' || prev == ',' => aliases += 1,
                    '#' if prev == ' ' => break,
                    _ => {}
                },
            }
            prev = c;
        }
    }
    if max_flow > MAX_DEPTH {
        return Err(format!(
            "nesting deeper than {MAX_DEPTH} levels (refused before parsing)"
        ));
    }
    // Two spaces per level is the usual style; a Kubernetes object stays far below this.
    if max_indent > MAX_DEPTH * 4 {
        return Err(format!(
            "indentation deeper than {} columns (refused before parsing)",
            MAX_DEPTH * 4
        ));
    }
    if aliases > 10_000 {
        return Err(format!(
            "{aliases} YAML aliases: refused (alias expansion could explode)"
        ));
    }
    Ok(())
}

/// A line whose value is a block scalar: it ends in `|` or `>`, with optional chomping and
/// indentation indicators (`|-`, `>+`, `|2`), after a key or a sequence dash.
fn starts_block_scalar(trimmed: &str) -> bool {
    let t = match trimmed.find(" #") {
        Some(i) => &trimmed[..i],
        None => trimmed,
    }
    .trim_end();
    let indicator = t.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
    indicator.ends_with(": |")
        || indicator.ends_with(": >")
        || matches!(indicator, "- |" | "- >" | "|" | ">")
}

fn parse_doc(text: &str) -> Result<Value, String> {
    // Leading comment lines (a capture-time header) do not make JSON into YAML.
    let mut body = text;
    loop {
        let t = body.trim_start();
        match t.strip_prefix('#') {
            Some(rest) => body = rest.split_once('\n').map(|(_, r)| r).unwrap_or(""),
            None => {
                body = t;
                break;
            }
        }
    }
    if body.starts_with('{') || body.starts_with('[') {
        // `kubectl get -o json` output: the JSON parser is much faster than the YAML one.
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            return Ok(v);
        }
    }
    super::strict_yaml::from_str(text)
}

/// Parse a YAML (or JSON) stream of Kubernetes objects: multi-document, `List` kinds flattened,
/// empty documents skipped. Every object carries its path and the 1-based line where its document
/// (or list item) starts; documents that do not parse are returned as problems, not fatal.
pub fn parse_stream(text: &str, path: &str) -> (Vec<Located>, Vec<ParseProblem>) {
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for doc in split_docs(text) {
        let Some(line) = content_line(&doc) else {
            continue;
        };
        // Limits hold per document: one odd document never hides the others.
        if let Err(message) = precheck(doc.text) {
            problems.push(ParseProblem {
                path: path.to_string(),
                line,
                message,
            });
            continue;
        }
        match parse_doc(doc.text) {
            Ok(Value::Null) => {}
            Ok(v) => flatten(v, path, line, doc.text, doc.first_line, &mut objects),
            Err(message) => problems.push(ParseProblem {
                path: path.to_string(),
                line,
                message,
            }),
        }
    }
    (objects, problems)
}

/// Lines where the items of a top-level `items:` sequence start (kubectl's `-o yaml` layout).
fn item_lines(doc: &str, first_line: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_items = false;
    let mut indent: Option<usize> = None;
    for (i, l) in doc.lines().enumerate() {
        if !in_items {
            if l.trim_end() == "items:" {
                in_items = true;
            }
            continue;
        }
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = l.len() - t.len();
        if ind == 0 && !t.starts_with('-') {
            break; // the next top-level key
        }
        if t.starts_with("- ") || t == "-" {
            match indent {
                None => {
                    indent = Some(ind);
                    out.push(first_line + i);
                }
                Some(x) if x == ind => out.push(first_line + i),
                _ => {}
            }
        }
    }
    out
}

fn flatten(
    v: Value,
    path: &str,
    line: usize,
    doc: &str,
    first_line: usize,
    out: &mut Vec<Located>,
) {
    let is_list = v
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && v.get("items").is_some_and(Value::is_array);
    if !is_list {
        let fields = super::yaml_lines::field_lines(&v, doc, path, first_line);
        out.push(Located {
            value: v,
            path: Some(path.to_string()),
            line: Some(line),
            fields,
        });
        return;
    }
    let Value::Object(mut m) = v else { return };
    let items = match m.remove("items") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let lines = item_lines(doc, first_line);
    let exact = lines.len() == items.len();
    for (i, item) in items.into_iter().enumerate() {
        out.push(Located {
            value: item,
            path: Some(path.to_string()),
            line: Some(if exact { lines[i] } else { line }),
            fields: BTreeMap::new(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

/// What a rule asks for. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `apps/v1`, `v1`, or a bare group (`apps`) to match any version of it.
    pub api_version: Option<String>,
    /// One kind, or several separated by commas (manifests only).
    pub kinds: Vec<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub selector: Option<Selector>,
    pub fields: Option<FieldSelector>,
}

impl Query {
    pub fn matches(&self, v: &Value) -> bool {
        if let Some(want) = &self.api_version {
            let have = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let group = have.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            let ok = have == want || (!want.contains('/') && want != "v1" && group == want);
            if !ok {
                return false;
            }
        }
        if !self.kinds.is_empty() {
            let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
            if !self.kinds.iter().any(|k| k == kind) {
                return false;
            }
        }
        let meta = v.get("metadata");
        if let Some(ns) = &self.namespace {
            let have = meta
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str);
            // Objects in manifests often leave the namespace to kustomize or `kubectl -n`.
            if have.is_some_and(|h| h != ns) {
                return false;
            }
        }
        if let Some(name) = &self.name {
            let have = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
            if have != Some(name.as_str()) {
                return false;
            }
        }
        if let Some(sel) = &self.selector {
            let labels = meta.and_then(|m| m.get("labels"));
            if !sel.matches(labels) {
                return false;
            }
        }
        if let Some(f) = &self.fields
            && !f.matches(v)
        {
            return false;
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A Kubernetes label selector (`app=x,tier!=db,env in (prod,test),!legacy`).
#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Vec<Req>);

/// Split at commas outside parentheses.
fn split_terms(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for term in split_terms(s) {
            let bad = || format!("label selector term `{term}` is not valid");
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                Ok(inner
                    .split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect())
            };
            let req = if let Some(k) = term.strip_prefix('!') {
                Req::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = term.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = term.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set(rest)?)
            } else if let Some((k, rest)) = term.split_once(" in ") {
                Req::In(k.trim().into(), set(rest)?)
            } else {
                Req::Exists(term.trim().to_string())
            };
            let key = match &req {
                Req::Eq(k, _)
                | Req::Ne(k, _)
                | Req::In(k, _)
                | Req::NotIn(k, _)
                | Req::Exists(k)
                | Req::NotExists(k) => k,
            };
            if !valid_key(key) {
                return Err(bad());
            }
            reqs.push(req);
        }
        if reqs.is_empty() {
            return Err("label selector is empty".into());
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|h| vs.iter().any(|v| v == h)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|h| vs.iter().any(|v| v == h)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// A field selector (`metadata.name=x,status.phase!=Running`), applied to snapshot and
/// manifest objects the way the API server applies it to live lists.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut out = Vec::new();
        for term in split_terms(s) {
            let (k, eq, v) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!(
                    "field selector term `{term}` needs =, == or != (e.g. metadata.name=app)"
                ));
            };
            if !valid_key(k.trim()) {
                return Err(format!("field selector term `{term}` is not valid"));
            }
            out.push((k.trim().to_string(), eq, v.trim().to_string()));
        }
        if out.is_empty() {
            return Err("field selector is empty".into());
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, v: &Value) -> bool {
        self.0.iter().all(|(path, eq, want)| {
            let mut cur = Some(v);
            for seg in path.split('.') {
                cur = cur.and_then(|c| c.get(seg));
            }
            let have = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (have == *want) == *eq
        })
    }
}

/// `Deployment shipshape/app`: how a finding names an object.
pub fn object_name(v: &Value) -> String {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("?");
    let meta = v.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    match meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
    {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Where the pod template of a workload kind lives.
pub(crate) fn pod_template(v: &Value) -> Option<(&Value, Option<&Value>)> {
    let kind = v.get("kind").and_then(Value::as_str)?;
    let (spec, meta) = match kind {
        "Pod" => (v.get("spec")?, v.get("metadata")),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => {
            let t = v.pointer("/spec/template")?;
            (t.get("spec")?, t.get("metadata"))
        }
        "CronJob" => {
            let t = v.pointer("/spec/jobTemplate/spec/template")?;
            (t.get("spec")?, t.get("metadata"))
        }
        _ => return None,
    };
    Some((spec, meta))
}

/// The object as the evidence keeps it: the object itself plus `_ref` (a readable name with
/// file:line when known), `_path`, `_line` and `_namespace` (`""` when the object names none).
/// Workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) also answer
/// `_pod`, `_containers` and `_pod_labels` in CEL; those are derived from the object when rules
/// read it (`evaluate::shared`), not stored as copies. The underscore keys cannot clash with
/// Kubernetes fields.
pub fn annotate(o: Located) -> Value {
    let name = object_name(&o.value);
    let mut v = o.value;
    let namespace = v
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Value::Object(m) = &mut v {
        m.insert("_namespace".into(), Value::String(namespace));
        let r = match (&o.path, o.line) {
            (Some(p), Some(l)) => format!("{name} ({p}:{l})"),
            (Some(p), None) => format!("{name} ({p})"),
            _ => name,
        };
        m.insert("_ref".into(), Value::String(r));
        if let Some(p) = o.path {
            m.insert("_path".into(), Value::String(p));
        }
        if let Some(l) = o.line {
            m.insert("_line".into(), Value::from(l as u64));
        }
        if !o.fields.is_empty() {
            let lines: serde_json::Map<String, Value> = o
                .fields
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            m.insert("_lines".into(), Value::Object(lines));
        }
    }
    v
}

/// Put `objects` and its lookup tables into a collected value by moving them: `json!` would
/// serialise each object into a fresh copy, a deep copy of every object of the request.
pub fn with_objects(mut v: Value, objects: Vec<Value>, idx: Indexes) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("objects".into(), Value::Array(objects));
        m.insert("by_namespace".into(), idx.by_namespace);
        m.insert("by_name".into(), idx.by_name);
        m.insert("by_selector_label".into(), idx.by_selector_label);
        m.insert("by_selector_unlabelled".into(), idx.by_selector_unlabelled);
    }
    v
}

/// See [`indexes`].
pub struct Indexes {
    pub by_namespace: Value,
    pub by_name: Value,
    pub by_selector_label: Value,
    pub by_selector_unlabelled: Value,
}

/// Lookup tables over annotated objects, so rules that relate two object sets (a PDB for every
/// Deployment, a NetworkPolicy in every namespace) stay linear instead of comparing every pair:
/// `by_namespace` maps a namespace (`""` for none) to the indexes of its objects in `objects`,
/// `by_name` maps `Kind/namespace/name` to an index, `by_selector_label` maps
/// `namespace/key=value` to the objects whose `spec.selector.matchLabels` hold that pair (a
/// selector can only select pods carrying every one of its pairs, so one pair finds every
/// candidate), and `by_selector_unlabelled` maps a namespace to the objects whose `spec.selector`
/// has no `matchLabels` (only `matchExpressions`, or empty), which must be tried one by one.
pub fn indexes(objects: &[Value]) -> Indexes {
    let mut by_ns: Map<String, Value> = Map::new();
    let mut by_name: Map<String, Value> = Map::new();
    let mut by_label: Map<String, Value> = Map::new();
    let mut unlabelled: Map<String, Value> = Map::new();
    let push = |m: &mut Map<String, Value>, key: String, i: usize| {
        if let Value::Array(a) = m.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
            a.push(Value::from(i as u64));
        }
    };
    for (i, o) in objects.iter().enumerate() {
        let ns = o.get("_namespace").and_then(Value::as_str).unwrap_or("");
        push(&mut by_ns, ns.to_string(), i);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        by_name
            .entry(format!("{kind}/{ns}/{name}"))
            .or_insert(Value::from(i as u64));
        if let Some(selector) = o.pointer("/spec/selector") {
            match selector.get("matchLabels").and_then(Value::as_object) {
                Some(labels) if !labels.is_empty() => {
                    for (k, v) in labels {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        push(&mut by_label, format!("{ns}/{k}={v}"), i);
                    }
                }
                _ => push(&mut unlabelled, ns.to_string(), i),
            }
        }
    }
    Indexes {
        by_namespace: Value::Object(by_ns),
        by_name: Value::Object(by_name),
        by_selector_label: Value::Object(by_label),
        by_selector_unlabelled: Value::Object(unlabelled),
    }
}

/// Strip what must never reach evidence or a report: the data of Secrets (a snapshot or manifest
/// may hold some) and the last-applied annotation, which repeats the whole object (and any secret
/// in it).
pub fn scrub(v: &mut Value) {
    if let Some(Value::Object(ann)) = v.get_mut("metadata").and_then(|m| m.get_mut("annotations")) {
        ann.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    if v.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Value::Object(m) = v
    {
        for k in ["data", "stringData"] {
            if let Some(Value::Object(d)) = m.get_mut(k) {
                let keys: Map<String, Value> = d
                    .keys()
                    .map(|k| (k.clone(), Value::String("<redacted>".into())))
                    .collect();
                *d = keys;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prechecks_hold_per_document_and_skip_block_scalars() {
        let deep = format!("data:\n  script: |\n{}\n", "    [[[[[[[[".repeat(20));
        assert!(
            precheck(&deep).is_ok(),
            "text in a block scalar is not nesting"
        );
        let bad = format!("a: {}\n", "[".repeat(80));
        let stream = format!("kind: A\n---\n{bad}---\nkind: B\n");
        let (objs, problems) = parse_stream(&stream, "x.yaml");
        assert_eq!(objs.len(), 2, "the documents around a refused one are read");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 3);
    }
    use serde_json::json;

    #[test]
    fn documents_carry_their_start_line() {
        let text = "# header\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n\n# c\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n---\n---\n";
        let (objs, problems) = parse_stream(text, "k8s/a.yaml");
        assert!(problems.is_empty());
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].line, Some(2));
        assert_eq!(objs[1].line, Some(9));
    }

    #[test]
    fn kubectl_list_items_get_their_own_lines() {
        let text = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
        let (objs, _) = parse_stream(text, "s.yaml");
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].line, Some(3));
        assert_eq!(objs[1].line, Some(7));
        assert_eq!(objs[1].value["metadata"]["name"], "b");
    }

    #[test]
    fn a_bad_document_is_a_problem_not_the_end() {
        let text = "kind: A\n---\nkind: [unclosed\n---\nkind: B\n";
        let (objs, problems) = parse_stream(text, "x.yaml");
        assert_eq!(objs.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 3);
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused_fast() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            bomb.push_str(&format!(
                "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = n;
        }
        let started = std::time::Instant::now();
        let (objs, problems) = parse_stream(&bomb, "bomb.yaml");
        assert!(objs.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(started.elapsed().as_secs() < 2);
        let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let (_, problems) = parse_stream(&deep, "deep.yaml");
        assert!(problems[0].message.contains("nesting"), "{problems:?}");
    }

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "web", "env": "prod"});
        let ok = |s: &str| Selector::parse(s).unwrap().matches(Some(&labels));
        assert!(ok("app=web"));
        assert!(ok("app==web,env in (prod, test)"));
        assert!(ok("env notin (dev),!legacy"));
        assert!(ok("app"));
        assert!(!ok("app!=web"));
        assert!(!ok("tier"));
        assert!(Selector::parse("a b c").is_err());
        let f = FieldSelector::parse("metadata.name=x,status.phase!=Failed").unwrap();
        assert!(f.matches(&json!({"metadata": {"name": "x"}, "status": {"phase": "Running"}})));
        assert!(!f.matches(&json!({"metadata": {"name": "y"}})));
    }

    #[test]
    fn refs_and_scrubbing() {
        let v = annotate(Located {
            value: json!({"kind": "Deployment", "metadata": {"name": "app", "namespace": "ns"}}),
            path: Some("k8s/d.yaml".into()),
            line: Some(4),
            fields: BTreeMap::new(),
        });
        assert_eq!(v["_ref"], "Deployment ns/app (k8s/d.yaml:4)");
        assert_eq!(v["_line"], 4);
        let mut s = json!({"kind": "Secret", "data": {"k": "c2VjcmV0"}});
        scrub(&mut s);
        assert_eq!(s["data"]["k"], "<redacted>");
    }
}
