//! CEL glue: compile-time checks for the policy loader, evidence → CEL values, and the sentence
//! that says *why* an expectation was false, showing the values involved.

use std::sync::{Arc, OnceLock};

use cel::common::types::{CelBool, CelString, Kind};
use cel::common::value::{CowVal, Val};
use cel::objects::{Key, Map as CelMap};
use cel::{Context, Env, Program, Value as Cel};
use regex::Regex;
use serde_json::Value;

/// The CEL environment rules run in: the standard library plus the strings, lists and math
/// extensions (`lowerAscii()`, `split()`, `sort()`, `math.greatest()`…).
pub fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        for ext in [
            cel::extensions::strings as fn(&mut Env) -> Result<(), cel::DeclarationError>,
            cel::extensions::lists,
            cel::extensions::math,
        ] {
            // The extensions are part of the crate and do not clash; a failure is a build bug.
            let _ = env.add_extension(ext);
        }
        let _ = env.add_overload(
            "k8s.selects",
            "k8s_selects_dyn_dyn",
            vec![cel::common::types::DYN_TYPE, cel::common::types::DYN_TYPE],
            k8s_selects,
        );
        Arc::new(env)
    })
    .clone()
}

/// `k8s.selects(selector, labels)`: whether a Kubernetes label selector (`matchLabels` and
/// `matchExpressions` with `In`, `NotIn`, `Exists`, `DoesNotExist`) selects the given labels,
/// as the API server decides it: a `null` selector selects nothing, an empty one everything.
/// Relating PodDisruptionBudgets, NetworkPolicies or Services to workloads needs it, and
/// spelling it out in CEL costs a comprehension per pair.
fn k8s_selects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, cel::ExecutionError> {
    let [selector, labels]: [CowVal<'b, 'v>; 2] = args
        .try_into()
        .map_err(|a: Vec<_>| cel::ExecutionError::invalid_argument_count(2, a.len()))?;
    let selected = selects(selector.as_ref(), labels.as_ref())
        .map_err(|m| cel::ExecutionError::function_error("k8s.selects", m))?;
    Ok(CowVal::owned(CelBool::from(selected)))
}

/// The work of `k8s.selects`, reading the values in place (no conversion: it runs once per
/// pair of objects).
fn selects(selector: &dyn Val, labels: &dyn Val) -> Result<bool, String> {
    let kind = |v: &dyn Val| v.get_type().kind();
    if kind(selector) == Kind::NullType {
        return Ok(false);
    }
    if kind(selector) != Kind::Map {
        return Err(format!(
            "a selector must be a map, not {}",
            selector.get_type().name()
        ));
    }
    if !matches!(kind(labels), Kind::Map | Kind::NullType) {
        return Err(format!(
            "labels must be a map, not {}",
            labels.get_type().name()
        ));
    }
    let label = |k: &str| -> Option<String> {
        let v = field(labels, k)?;
        Some(string(v.as_ref()).map_or_else(|| format!("{v:?}"), str::to_string))
    };
    let present = |v: &Option<CowVal<'_, '_>>| {
        v.as_ref()
            .is_some_and(|v| kind(v.as_ref()) != Kind::NullType)
    };
    let match_labels = field(selector, "matchLabels");
    if present(&match_labels) {
        let m = match_labels
            .as_ref()
            .map(|v| v.as_ref())
            .ok_or("matchLabels")?;
        if kind(m) != Kind::Map {
            return Err("matchLabels must be a map".into());
        }
        let keys = m.as_iterable().ok_or("matchLabels must be a map")?;
        let mut it = keys.iter();
        while let Some(k) = it.next() {
            let k = string(k).ok_or("matchLabels must map strings to strings")?;
            let want = field(m, k).ok_or("matchLabels must map strings to strings")?;
            let want = string(want.as_ref()).ok_or("matchLabels must map strings to strings")?;
            if label(k).as_deref() != Some(want) {
                return Ok(false);
            }
        }
    }
    let exprs = field(selector, "matchExpressions");
    if present(&exprs) {
        let list = exprs
            .as_ref()
            .map(|v| v.as_ref())
            .ok_or("matchExpressions")?;
        if kind(list) != Kind::List {
            return Err("matchExpressions must be a list".into());
        }
        let items = list
            .as_iterable()
            .ok_or("matchExpressions must be a list")?;
        let mut it = items.iter();
        while let Some(e) = it.next() {
            if kind(e) != Kind::Map {
                return Err("each of matchExpressions must be a map".into());
            }
            let key = field(e, "key");
            let key = key
                .as_ref()
                .and_then(|k| string(k.as_ref()))
                .ok_or("a match expression needs a string `key`")?;
            let op = field(e, "operator");
            let op = op
                .as_ref()
                .and_then(|o| string(o.as_ref()))
                .ok_or("a match expression needs a string `operator`")?;
            let mut values = Vec::new();
            let vals = field(e, "values");
            if present(&vals) {
                let vals = vals.as_ref().map(|v| v.as_ref()).ok_or("values")?;
                let vi = vals
                    .as_iterable()
                    .filter(|_| kind(vals) == Kind::List)
                    .ok_or("match expression `values` must be a list")?;
                let mut vit = vi.iter();
                while let Some(v) = vit.next() {
                    values.push(
                        string(v)
                            .ok_or("match expression values must be strings")?
                            .to_string(),
                    );
                }
            }
            let have = label(key);
            let ok = match op {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                other => return Err(format!("unknown operator `{other}`")),
            };
            if !ok {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// `v[key]` of a map, `None` when missing (or `v` is not a map).
fn field<'b, 'v>(v: &'b (dyn Val + 'v), key: &str) -> Option<CowVal<'b, 'v>> {
    if v.get_type().kind() != Kind::Map {
        return None;
    }
    let idx = CelString::from(key.to_string());
    v.as_indexer()?.get(&idx).ok()
}

fn string(v: &dyn Val) -> Option<&str> {
    v.downcast_ref::<CelString>().map(|s| s.inner())
}

/// Namespaces of the functions in [`env`] (`strings.quote`, `lists.range`, `math.greatest`,
/// `k8s.selects`): the parser reports them as variables.
const FUNCTION_NAMESPACES: [&str; 4] = ["k8s", "lists", "math", "strings"];

/// A fresh evaluation context over [`env`].
pub fn context() -> Context<'static, 'static> {
    Context::with_env(env())
}

/// Compile `expr` once per process: every rule's expectations (and the sub-expressions the
/// explanation and offender lookup evaluate) are compiled the first time they are met and then
/// shared by every thread and every later evaluation.
fn compile(expr: &str) -> Result<Arc<Program>, String> {
    compile_cached(expr).map_err(|e| one_line(&e.to_string()))
}

/// [`compile`] with the parser's own error; the policy check compiles through it too, so an
/// expectation is parsed once per process, not once to check it and again to evaluate it.
fn compile_cached(expr: &str) -> Result<Arc<Program>, cel::ParseErrors> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, Arc<Program>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(expr) {
        return Ok(p.clone());
    }
    let program = Arc::new(env().compile(expr)?);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    // Fleet runs compile many policies in one process: a bound, not a leak.
    if cache.len() >= 16_384 {
        cache.clear();
    }
    cache.insert(expr.to_string(), program.clone());
    Ok(program)
}

/// A CEL syntax error: the message and where in the expression (1-based line, column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Compile `expr` and return the free names it uses (comprehension variables left out).
pub fn check(expr: &str) -> Result<Vec<String>, SyntaxError> {
    let program = compile_cached(expr).map_err(|e| {
        let first = e.errors.first();
        let mut message = first
            .map(|p| one_line(&p.msg))
            .unwrap_or_else(|| one_line(&e.to_string()));
        // ANTLR lists every token it would have accepted; that list helps nobody.
        if let Some(i) = message.find(" expecting ")
            && message.len() - i > 60
        {
            message.truncate(i);
        }
        SyntaxError {
            line: first.map(|p| p.pos.0.max(1) as usize).unwrap_or(1),
            column: first.map(|p| p.pos.1.max(1) as usize).unwrap_or(1),
            message,
        }
    })?;
    let bound = comprehension_vars(expr);
    let mut names: Vec<String> = program
        .references()
        .variables()
        .into_iter()
        .filter(|v| !bound.iter().any(|b| b == v))
        // `math.greatest(…)`, `k8s.selects(…)`: the namespace of a function, not a name.
        .filter(|v| !FUNCTION_NAMESPACES.contains(v))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Variables bound by macros such as `all(d, …)` or `filter(x, …)`.
fn comprehension_vars(expr: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\b(?:all|exists|exists_one|filter|map)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
            .expect("static regex")
    });
    re.captures_iter(expr).map(|c| c[1].to_string()).collect()
}

/// JSON evidence → CEL value. Integers stay integers so `age_days <= 92` compares as ints.
pub fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cel::Int(i)
            } else if let Some(u) = n.as_u64() {
                Cel::UInt(u)
            } else {
                Cel::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Cel::String(s.clone().into()),
        Value::Array(a) => Cel::List(a.iter().map(to_cel).collect::<Vec<_>>().into()),
        Value::Object(m) => {
            let map: std::collections::HashMap<Key, Cel> = m
                .iter()
                .map(|(k, v)| (Key::String(k.clone().into()), to_cel(v)))
                .collect();
            Cel::Map(CelMap { map: map.into() })
        }
    }
}

/// A value as a person reads it in a sentence; long lists are cut.
pub fn show(v: &Cel) -> String {
    match v {
        Cel::String(s) => format!("{:?}", s.as_str()),
        Cel::Int(i) => i.to_string(),
        Cel::UInt(u) => u.to_string(),
        Cel::Float(f) => {
            if f.fract() == 0.0 {
                format!("{f:.1}")
            } else {
                format!("{}", (f * 100.0).round() / 100.0)
            }
        }
        Cel::Bool(b) => b.to_string(),
        Cel::Null => "null".into(),
        Cel::List(l) => {
            let shown: Vec<String> = l.iter().take(5).map(show).collect();
            if l.len() > 5 {
                format!("[{}, … {} more]", shown.join(", "), l.len() - 5)
            } else {
                format!("[{}]", shown.join(", "))
            }
        }
        Cel::Map(m) => format!("{{… {} keys}}", m.map.len()),
        Cel::Timestamp(t) => t.to_rfc3339(),
        Cel::Duration(d) => format!("{}s", d.num_seconds()),
        other => format!("{other:?}"),
    }
}

/// One item of an evidence list, briefly: `path:line target (reason)` for findings.
fn brief(v: &Cel) -> String {
    let Cel::Map(m) = v else { return show(v) };
    let get = |k: &str| {
        m.map
            .get(&Key::String(k.to_string().into()))
            .map(|v| match v {
                Cel::String(s) => s.as_str().to_string(),
                other => show(other),
            })
    };
    let mut s = match (get("path"), get("line")) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p,
        (None, Some(l)) => format!("line {l}"),
        (None, None) => String::new(),
    };
    for k in ["target", "text", "value", "entry"] {
        if let Some(t) = get(k) {
            s = format!("{s} {t}").trim().to_string();
            break;
        }
    }
    if let Some(r) = get("reason") {
        s = format!("{s} ({r})");
    }
    if s.is_empty() { show(v) } else { s }
}

/// Evaluate one expression.
pub fn eval(expr: &str, ctx: &Context<'_, '_>) -> Result<Cel, String> {
    let program = compile(expr)?;
    program.execute(ctx).map_err(|e| one_line(&e.to_string()))
}

/// Split `expr` at every top-level occurrence of `op` (outside brackets and strings).
pub(crate) fn split_top(expr: &str, op: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let bytes: Vec<(usize, char)> = expr.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {
                    if depth == 0 && expr[pos..].starts_with(op) {
                        parts.push(expr[start..pos].trim().to_string());
                        start = pos + op.len();
                        i += op.chars().count();
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
    parts.push(expr[start..].trim().to_string());
    parts
}

pub(crate) fn strip_parens(expr: &str) -> &str {
    let t = expr.trim();
    if !t.starts_with('(') {
        return t;
    }
    let mut depth = 0i32;
    for (i, c) in t.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    // Strip only when the first parenthesis closes at the very end.
                    return if i == t.len() - 1 {
                        strip_parens(&t[1..i])
                    } else {
                        t
                    };
                }
            }
            _ => {}
        }
    }
    t
}

/// The comparisons a failed expectation is explained by, in the order they are looked for
/// (`<=` before `<`), with how a sentence words what was expected.
pub(crate) const COMPARISONS: [(&str, &str); 7] = [
    (" in ", "expected one of"),
    ("==", "expected"),
    ("!=", "expected anything but"),
    ("<=", "expected at most"),
    (">=", "expected at least"),
    ("<", "expected less than"),
    (">", "expected more than"),
];

/// Why `expr` came out false, with the values of its operands.
pub fn explain(expr: &str, ctx: &Context<'_, '_>) -> String {
    let expr = strip_parens(expr);
    if expr.contains('?') {
        return format!("`{expr}` is false");
    }
    let ors = split_top(expr, "||");
    if ors.len() > 1 {
        // `!x.exists || …` guards say when a check does not apply; when none of them held,
        // the interesting part is the check itself.
        let checks: Vec<&String> = ors.iter().filter(|p| !p.starts_with('!')).collect();
        if checks.len() == 1 {
            return explain(checks[0], ctx);
        }
        let parts: Vec<String> = ors.iter().map(|p| explain(p, ctx)).collect();
        return format!("none held: {}", parts.join("; "));
    }
    let ands = split_top(expr, "&&");
    if ands.len() > 1 {
        let parts: Vec<String> = ands
            .iter()
            .filter(|p| !matches!(eval(p, ctx), Ok(Cel::Bool(true))))
            .map(|p| explain(p, ctx))
            .collect();
        return parts.join("; ");
    }
    // `doc.exists` being false says the file is absent; name the file.
    if let Some(base) = expr.strip_suffix(".exists")
        && !base.contains(['(', ' '])
        && let Ok(Cel::String(p)) = eval(&format!("{base}.path"), ctx)
    {
        return format!("`{}` does not exist", p.as_str());
    }
    for (op, wording) in COMPARISONS {
        let parts = split_top(expr, op);
        if parts.len() == 2 {
            let left = eval(&parts[0], ctx)
                .map(|v| show(&v))
                .unwrap_or_else(|e| format!("unavailable ({e})"));
            let right = eval(&parts[1], ctx)
                .map(|v| show(&v))
                .unwrap_or_else(|_| parts[1].clone());
            let mut sentence = format!("{} is {left}; {wording} {right}", parts[0]);
            // `size(list) == 0` failing: name the first offenders.
            if let Some(inner) = parts[0]
                .strip_prefix("size(")
                .and_then(|r| r.strip_suffix(')'))
                && let Ok(Cel::List(items)) = eval(inner, ctx)
                && !items.is_empty()
            {
                let shown: Vec<String> = items.iter().take(3).map(brief).collect();
                let more = if items.len() > 3 { ", …" } else { "" };
                sentence.push_str(&format!(" ({}{more})", shown.join(", ")));
            }
            return sentence;
        }
    }
    format!("`{expr}` is false")
}

/// For an expectation of the form `X == []`, `size(X) == 0` or `X.size() == 0` that came out
/// false, the elements of `X`: the offenders the rule found (objects, or `_ref` strings).
pub fn offenders(expr: &str, ctx: &Context<'_, '_>) -> Vec<Cel> {
    let expr = strip_parens(expr);
    let parts = split_top(expr, "==");
    if parts.len() != 2 {
        return Vec::new();
    }
    let (left, right) = (parts[0].trim(), parts[1].trim());
    let list_expr = if right == "[]" {
        left.to_string()
    } else if right == "0" {
        if let Some(inner) = left.strip_prefix("size(").and_then(|r| r.strip_suffix(')')) {
            inner.to_string()
        } else if let Some(inner) = left.strip_suffix(".size()") {
            inner.to_string()
        } else {
            return Vec::new();
        }
    } else {
        return Vec::new();
    };
    match eval(&list_expr, ctx) {
        Ok(Cel::List(l)) => l.iter().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx_with(name: &str, v: Value) -> Context<'static, 'static> {
        let mut c = context();
        c.add_variable_from_value(name, to_cel(&v));
        c
    }

    #[test]
    fn names_exclude_comprehension_variables() {
        assert_eq!(
            check("doc.items.all(d, d.status == 'PASS') && size(x) > 0").unwrap(),
            vec!["doc", "x"]
        );
        assert!(check("doc.status in [").is_err());
    }

    #[test]
    fn explains_membership_and_size() {
        let c = ctx_with(
            "doc",
            json!({"status": "PENDING_EXECUTION", "placeholders": [1, 2, 3]}),
        );
        assert_eq!(
            explain(r#"doc.status in ["COMPLETED", "APPROVED"]"#, &c),
            r#"doc.status is "PENDING_EXECUTION"; expected one of ["COMPLETED", "APPROVED"]"#
        );
        assert_eq!(
            explain(
                r#"doc.status == "PENDING_EXECUTION" && size(doc.placeholders) == 0"#,
                &c
            ),
            "size(doc.placeholders) is 3; expected 0 (1, 2, 3)"
        );
    }

    #[test]
    fn ints_compare_with_ints() {
        let c = ctx_with("d", json!({"age_days": 100}));
        assert_eq!(eval("d.age_days <= 92", &c), Ok(Cel::Bool(false)));
        assert_eq!(
            explain("d.age_days <= 92", &c),
            "d.age_days is 100; expected at most 92"
        );
    }

    #[test]
    fn missing_key_is_an_error_not_false() {
        let c = ctx_with("d", json!({}));
        assert!(eval("d.nope == 1", &c).is_err());
    }
}

#[cfg(test)]
mod selects_tests {
    use super::*;
    use serde_json::json;

    fn selects(selector: Value, labels: Value) -> Result<Cel, String> {
        let mut c = context();
        c.add_variable_from_value("s", to_cel(&selector));
        c.add_variable_from_value("l", to_cel(&labels));
        eval("k8s.selects(s, l)", &c)
    }

    #[test]
    fn label_selectors_select_as_the_api_server_does() {
        let labels = json!({"app": "web", "tier": "front"});
        let yes = Ok(Cel::Bool(true));
        let no = Ok(Cel::Bool(false));
        assert_eq!(
            selects(json!({"matchLabels": {"app": "web"}}), labels.clone()),
            yes
        );
        assert_eq!(
            selects(
                json!({"matchLabels": {"app": "web", "x": "y"}}),
                labels.clone()
            ),
            no
        );
        assert_eq!(
            selects(json!({"matchLabels": {"app": "api"}}), labels.clone()),
            no
        );
        // Empty selects everything; null nothing.
        assert_eq!(selects(json!({}), labels.clone()), yes);
        assert_eq!(selects(json!(null), labels.clone()), no);
        let expr = |op: &str, values: Value| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert_eq!(
            selects(expr("In", json!(["front", "back"])), labels.clone()),
            yes
        );
        assert_eq!(selects(expr("In", json!(["back"])), labels.clone()), no);
        assert_eq!(selects(expr("NotIn", json!(["back"])), labels.clone()), yes);
        assert_eq!(selects(expr("NotIn", json!(["front"])), labels.clone()), no);
        assert_eq!(selects(expr("Exists", json!(null)), labels.clone()), yes);
        assert_eq!(selects(expr("DoesNotExist", json!([])), labels.clone()), no);
        assert_eq!(selects(expr("NotIn", json!(["x"])), json!({})), yes);
        assert_eq!(selects(expr("In", json!(["front"])), json!(null)), no);
        // Both parts must hold.
        let both = json!({"matchLabels": {"app": "web"},
                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]});
        assert_eq!(selects(both, labels.clone()), no);
        // A malformed selector is an error (the rule is pending), never a pass.
        let bad = selects(expr("Near", json!(["x"])), labels.clone()).unwrap_err();
        assert!(bad.contains("unknown operator `Near`"), "{bad}");
        assert!(selects(json!({"matchLabels": "app=web"}), labels).is_err());
    }

    #[test]
    fn the_function_is_not_a_free_name() {
        assert_eq!(
            check("k8s.selects(p.spec.selector, o._pod_labels)").unwrap(),
            vec!["o".to_string(), "p".to_string()]
        );
    }
}
