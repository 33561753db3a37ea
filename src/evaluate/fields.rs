//! Which field of a Kubernetes object made a rule list it: for
//! `w.objects.filter(o, !o._containers.all(c, c.image.contains("@sha256:")))` the offending
//! container and the field its check reads (`…containers[name=log-forwarder].image`), looked up
//! in the object's `_lines` (where each field is written, in the patch when a patch set it).

use ::cel::objects::Key;
use ::cel::{Context, Value as Cel};
use regex::Regex;

use super::cel::eval;

/// A regex built for a variable name, compiled once per process (the same predicate is looked
/// at for every offending object of a rule). Shared, not cloned: a cloned `Regex` starts with an
/// empty search cache, and rebuilding its lazy DFA on every call was a fifth of an audit's time.
fn cached(pattern: String) -> Option<std::sync::Arc<Regex>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(&pattern) {
        return Some(re.clone());
    }
    let re = Arc::new(Regex::new(&pattern).ok()?);
    cache.insert(pattern, re.clone());
    Some(re)
}

/// The field a filter predicate `pred` (over `var`) found wrong in `item`, and its `file:line`.
pub fn field_of(
    item: &Cel,
    var: &str,
    pred: &str,
    ctx: &Context<'_, '_>,
) -> Option<(String, String)> {
    // Of `a || b || c`, the part that listed this item is the one to read.
    let parts = super::cel::split_top(pred, "||");
    if parts.len() > 1 {
        let mut inner = ctx.new_inner_scope();
        inner.add_variable_from_value(var, item.clone());
        let hit = parts
            .iter()
            .find(|p| matches!(eval(p, &inner), Ok(Cel::Bool(true))))?;
        return field_of(item, var, hit, ctx);
    }
    let pred = super::cel::strip_parens(pred);
    let Cel::Map(m) = item else { return None };
    let Some(Cel::Map(lines)) = m.map.get(&Key::String("_lines".to_string().into())) else {
        return None;
    };
    let lines: Vec<(String, String)> = lines
        .map
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (Key::String(k), Cel::String(v)) => Some((k.to_string(), v.to_string())),
            _ => None,
        })
        .collect();
    let find = |suffixes: &[String]| {
        suffixes.iter().find_map(|suffix| {
            lines
                .iter()
                .find(|(k, _)| k.ends_with(suffix.as_str()))
                .cloned()
        })
    };
    if let Some((container, field)) = container_check(item, var, pred, ctx) {
        let mut tries = Vec::new();
        let mut f = field.as_str();
        loop {
            for coll in ["containers", "initContainers"] {
                let at = if f.is_empty() {
                    format!(".{coll}[name={container}]")
                } else {
                    format!(".{coll}[name={container}].{f}")
                };
                tries.push(at);
            }
            if f.is_empty() {
                break;
            }
            f = f.rsplit_once('.').map_or("", |(a, _)| a);
        }
        return find(&tries);
    }
    let pod = pod_field(var, pred)?;
    let mut tries = Vec::new();
    let mut f = pod.as_str();
    while !f.is_empty() {
        tries.push(format!("spec.{f}"));
        f = f.rsplit_once('.').map_or("", |(a, _)| a);
    }
    find(&tries)
}

/// `!o._containers.all(c, Q)` / `o._containers.exists(c, Q)`: the first container that breaks
/// the check, and the field `Q` reads first (`image`, `securityContext.privileged`).
fn container_check(
    item: &Cel,
    var: &str,
    pred: &str,
    ctx: &Context<'_, '_>,
) -> Option<(String, String)> {
    let re = cached(format!(
        r"(!?)\s*{}\.(_containers|_pod\.containers|_pod\.initContainers)\.(all|exists)\(\s*([A-Za-z_]\w*)\s*,",
        regex::escape(var)
    ))?;
    let caps = re.captures(pred)?;
    let body_start = caps.get(0)?.end();
    let body = until_close(&pred[body_start..])?;
    let (negated, coll, which, c) = (&caps[1] == "!", &caps[2], &caps[3], &caps[4]);
    let cond = match (which, negated) {
        ("all", _) => format!("!({body})"),
        ("exists", false) => body.to_string(),
        _ => return None,
    };
    let mut inner = ctx.new_inner_scope();
    inner.add_variable_from_value(var, item.clone());
    let Ok(Cel::List(bad)) = eval(&format!("{var}.{coll}.filter({c}, {cond})"), &inner) else {
        return None;
    };
    let first = bad.first()?;
    let Cel::Map(cm) = first else { return None };
    let Some(Cel::String(name)) = cm.map.get(&Key::String("name".to_string().into())) else {
        return None;
    };
    Some((name.to_string(), first_field(body, c).unwrap_or_default()))
}

/// `o._pod.hostNetwork == true` → `hostNetwork`: the deepest pod-level field the check reads.
fn pod_field(var: &str, pred: &str) -> Option<String> {
    let re = cached(format!(
        r"{}\._pod((?:\.[A-Za-z_]\w*)+)",
        regex::escape(var)
    ))?;
    let mut best: Option<String> = None;
    for caps in re.captures_iter(pred) {
        let m = caps.get(1)?;
        let path = fields_only(m.as_str(), pred, m.end());
        let usable = !path.is_empty()
            && !path.starts_with("containers")
            && !path.starts_with("initContainers");
        if usable
            && best
                .as_ref()
                .is_none_or(|b| path.split('.').count() > b.split('.').count())
        {
            best = Some(path);
        }
    }
    best
}

/// The deepest field of `c` a check reads (`has(c.securityContext) &&
/// c.securityContext.privileged == true` → `securityContext.privileged`), a trailing method
/// call (`c.image.contains(…)`) left out. The lookup falls back to shorter paths when the
/// field is not written at all.
fn first_field(body: &str, c: &str) -> Option<String> {
    let re = cached(format!(r"\b{}((?:\.[A-Za-z_]\w*)+)", regex::escape(c)))?;
    let mut best: Option<String> = None;
    for caps in re.captures_iter(body) {
        let m = caps.get(1)?;
        let path = fields_only(m.as_str(), body, m.end());
        let depth = |p: &str| p.split('.').count();
        if !path.is_empty() && best.as_deref().is_none_or(|b| depth(&path) > depth(b)) {
            best = Some(path);
        }
    }
    best
}

/// `.a.b.contains` followed by `(` → `a.b`.
fn fields_only(dotted: &str, text: &str, end: usize) -> String {
    let mut segs: Vec<&str> = dotted.split('.').filter(|s| !s.is_empty()).collect();
    if text[end..].starts_with('(') {
        segs.pop();
    }
    segs.join(".")
}

/// The text up to the parenthesis that closes the one opened just before `s`.
fn until_close(s: &str) -> Option<&str> {
    let mut depth = 1i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, ch) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' => quote = Some(ch),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(s[..i].trim());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_a_check_reads() {
        assert_eq!(
            first_field(r#"c.image.contains("@sha256:")"#, "c").as_deref(),
            Some("image")
        );
        assert_eq!(
            first_field(
                "has(c.securityContext) && c.securityContext.readOnlyRootFilesystem == true",
                "c"
            )
            .as_deref(),
            Some("securityContext.readOnlyRootFilesystem")
        );
        assert_eq!(
            pod_field("o", "has(o._pod.hostNetwork) && o._pod.hostNetwork == true").as_deref(),
            Some("hostNetwork")
        );
        assert_eq!(until_close("c, f(x)) && y"), Some("c, f(x)"));
    }
}
