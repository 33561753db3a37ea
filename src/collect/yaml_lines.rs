//! Where a field of a Kubernetes manifest is written: `spec.template.spec.containers[name=app].image`
//! → the line that sets it. A finding about a container's image points at that line, not at
//! line 1 of the document. Block-style YAML (what manifests are written in) is read by
//! indentation; a field in flow style (`{…}`, `[…]`) or a block scalar has no line here, and the
//! finding falls back to the object's first line.

use std::collections::BTreeMap;

use serde_json::Value;

/// One segment of a field path: a mapping key, or the sequence item whose `name` is this.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg<'a> {
    Key(&'a str),
    Named(&'a str),
}

/// One meaningful line of a document: where its key starts, whether it opens a sequence item.
#[derive(Debug)]
struct Token<'t> {
    /// 1-based line in the file.
    line: usize,
    /// Column of the key (after `- ` for an item's first key).
    indent: usize,
    /// Column of the `-` when the line opens a sequence item.
    item: Option<usize>,
    key: Option<&'t str>,
    value: &'t str,
}

/// The tokens of the document starting at `first_line` (1-based) of `text`, up to the next
/// `---` or the end. Block scalar bodies are skipped (their text is not YAML structure).
fn tokens(text: &str, first_line: usize) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut scalar_above: Option<usize> = None;
    for (i, raw) in text.lines().enumerate().skip(first_line.saturating_sub(1)) {
        let line = i + 1;
        if line > first_line && (raw.starts_with("---") || raw.starts_with("...")) {
            break;
        }
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(min) = scalar_above {
            if indent > min {
                continue;
            }
            scalar_above = None;
        }
        if line == first_line && raw.starts_with("---") {
            continue;
        }
        let (item, body, body_indent) = match trimmed.strip_prefix("- ") {
            Some(rest) => {
                let r = rest.trim_start();
                (Some(indent), r, indent + 2 + (rest.len() - r.len()))
            }
            None if trimmed == "-" => (Some(indent), "", indent + 2),
            None => (None, trimmed, indent),
        };
        let (key, value) = split_key(body);
        if value.starts_with('|') || value.starts_with('>') {
            scalar_above = Some(body_indent.min(indent));
        }
        out.push(Token {
            line,
            indent: body_indent,
            item,
            key,
            value,
        });
    }
    out
}

/// `key: value` → (key, value); quotes around the key removed.
fn split_key(body: &str) -> (Option<&str>, &str) {
    let bytes = body.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if (b == b'"' || b == b'\'') && i == 0 => quote = Some(b),
            None if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') => {
                let key = body[..i].trim().trim_matches(['"', '\'']);
                let value = body[i + 1..].trim();
                let value = match value.find(" #") {
                    Some(c) => value[..c].trim_end(),
                    None => value,
                };
                return (Some(key), value);
            }
            None if b == b'{' || b == b'[' => return (None, body),
            None => {}
        }
    }
    (None, body)
}

/// The tokens below `tokens[at]` (its value's block). A sequence written at the key's own
/// indentation (`containers:` then `- name: …` in the same column) belongs to the key.
fn children<'a, 't>(tokens: &'a [Token<'t>], at: usize) -> &'a [Token<'t>] {
    let me = &tokens[at];
    let end = tokens[at + 1..]
        .iter()
        .position(|t| t.indent <= me.indent && t.item.is_none_or(|i| i < me.indent))
        .map_or(tokens.len(), |p| at + 1 + p);
    &tokens[at + 1..end]
}

/// Within `block`, the token of `seg` and the block below it.
fn step<'a, 't>(block: &'a [Token<'t>], seg: &Seg<'_>) -> Option<(usize, &'a [Token<'t>])> {
    match seg {
        Seg::Key(k) => {
            let indent = block.iter().map(|t| t.indent).min()?;
            let at = block
                .iter()
                .position(|t| t.indent == indent && t.key == Some(*k))?;
            Some((block[at].line, children(block, at)))
        }
        Seg::Named(name) => {
            let col = block.iter().filter_map(|t| t.item).min()?;
            let starts: Vec<usize> = block
                .iter()
                .enumerate()
                .filter(|(_, t)| t.item == Some(col))
                .map(|(i, _)| i)
                .collect();
            for (n, &s) in starts.iter().enumerate() {
                let end = starts.get(n + 1).copied().unwrap_or(block.len());
                let item = &block[s..end];
                let key_indent = item[0].indent;
                let named = item.iter().any(|t| {
                    t.indent == key_indent
                        && t.key == Some("name")
                        && t.value.trim_matches(['"', '\'']) == *name
                });
                if named {
                    // The item's own keys: its first token and everything below it.
                    return Some((item[0].line, item));
                }
            }
            None
        }
    }
}

/// The line that sets `path` in the document starting at `first_line` of `text`.
pub fn line_of(text: &str, first_line: usize, path: &[Seg<'_>]) -> Option<usize> {
    walk(&tokens(text, first_line), path)
}

/// `spec.template.spec.containers[name=app].image` → segments.
pub fn parse_path(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.split_once('[') {
            Some((key, rest)) => {
                if !key.is_empty() {
                    out.push(Seg::Key(key));
                }
                if let Some(name) = rest.strip_prefix("name=").and_then(|r| r.strip_suffix(']')) {
                    out.push(Seg::Named(name));
                }
            }
            None => out.push(Seg::Key(part)),
        }
    }
    out
}

/// The field paths a finding about a workload may name: pod-level keys and every key of each
/// container (three levels deep), as written `spec.template.spec.containers[name=app].image`.
pub fn workload_fields(object: &Value) -> Vec<String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let prefix = match kind {
        "Pod" => "spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => "spec.template.spec",
        _ => return Vec::new(),
    };
    let pointer = format!("/{}", prefix.replace('.', "/"));
    let Some(Value::Object(pod)) = object.pointer(&pointer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in pod {
        if k == "containers" || k == "initContainers" {
            for c in v.as_array().into_iter().flatten() {
                let Some(name) = c.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let base = format!("{prefix}.{k}[name={name}]");
                out.push(base.clone());
                keys(c, &base, 3, &mut out);
            }
        } else {
            let path = format!("{prefix}.{k}");
            out.push(path.clone());
            keys(v, &path, 1, &mut out);
        }
    }
    out
}

fn keys(v: &Value, base: &str, depth: usize, out: &mut Vec<String>) {
    if depth == 0 {
        return;
    }
    if let Value::Object(m) = v {
        for (k, v) in m {
            if k.contains(['.', '[', ']']) {
                continue;
            }
            let path = format!("{base}.{k}");
            out.push(path.clone());
            keys(v, &path, depth - 1, out);
        }
    }
}

/// Each workload field of `object` → `file:line`, read from its document `doc` (the text of
/// one YAML document of the file `path`, whose first line is line `first_line` of the file).
pub fn field_lines(
    object: &Value,
    doc: &str,
    path: &str,
    first_line: usize,
) -> BTreeMap<String, String> {
    let fields = workload_fields(object);
    if fields.is_empty() {
        return BTreeMap::new();
    }
    let all = tokens(doc, 1);
    fields
        .into_iter()
        .filter_map(|f| {
            let line = walk(&all, &parse_path(&f))? + first_line.saturating_sub(1);
            Some((f, format!("{path}:{line}")))
        })
        .collect()
}

fn walk(all: &[Token<'_>], path: &[Seg<'_>]) -> Option<usize> {
    let mut block: &[Token<'_>] = all;
    let mut line = None;
    for seg in path {
        let (l, below) = step(block, seg)?;
        line = Some(l);
        block = below;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &str = "\
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      hostNetwork: false
      containers:
      - name: app
        image: app:1.0
        command:
        - sh
        - -c
        - |
          name: not-a-key
          image: neither
        securityContext:
          readOnlyRootFilesystem: true
      -   image: fwd:latest   # a comment
          name: log-forwarder
      initContainers:
        - name: init
          image: busybox
---
kind: Service
";

    fn at(path: &str) -> Option<usize> {
        line_of(DEPLOY, 1, &parse_path(path))
    }

    #[test]
    fn fields_are_found_at_their_lines() {
        assert_eq!(at("kind"), Some(3));
        assert_eq!(at("spec.template.spec.hostNetwork"), Some(9));
        assert_eq!(at("spec.template.spec.containers[name=app]"), Some(11));
        assert_eq!(
            at("spec.template.spec.containers[name=app].image"),
            Some(12)
        );
        assert_eq!(
            at("spec.template.spec.containers[name=app].securityContext.readOnlyRootFilesystem"),
            Some(20)
        );
        // The item whose name comes second, written with extra spaces after the dash.
        assert_eq!(
            at("spec.template.spec.containers[name=log-forwarder].image"),
            Some(21)
        );
        assert_eq!(
            at("spec.template.spec.initContainers[name=init].image"),
            Some(25)
        );
        // Text inside a block scalar is not structure; an absent field has no line.
        assert_eq!(at("spec.template.spec.containers[name=not-a-key]"), None);
        assert_eq!(
            at("spec.template.spec.containers[name=app].resources"),
            None
        );
        assert_eq!(at("spec.replicas"), None);
    }

    #[test]
    fn every_workload_field_gets_its_line() {
        let text = DEPLOY.split("---").next().unwrap();
        let doc: Value = serde_yaml::from_str(text).unwrap();
        let lines = field_lines(&doc, text, "k8s/d.yaml", 1);
        // The same document later in a file: lines count from where it starts.
        let later = field_lines(&doc, text, "k8s/d.yaml", 11);
        assert_eq!(
            later["spec.template.spec.containers[name=log-forwarder].image"],
            "k8s/d.yaml:31"
        );
        assert_eq!(
            lines["spec.template.spec.containers[name=log-forwarder].image"],
            "k8s/d.yaml:21"
        );
        assert_eq!(
            lines["spec.template.spec.containers[name=app].command"],
            "k8s/d.yaml:13"
        );
        assert!(!lines.keys().any(|k| k.contains("not-a-key")));
    }
}
