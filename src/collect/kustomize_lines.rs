//! Where a kustomize overlay set a field of a rendered object. kustomize says which
//! kustomization's transformers touched an object (`transformerAnnotations`); this reads those
//! kustomizations' strategic-merge patches and `images:` entries, so a finding about an image
//! that a production patch sets points at the patch line, not at the base file.

use std::collections::BTreeMap;

use serde_json::Value;

use super::k8s::{self, Located};
use super::yaml_lines::{Seg, line_of};

pub const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";

/// One transformer that touched an object: the kustomization (relative to the render's
/// wrapper folder) and the transformer kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformation {
    pub configured_in: String,
    pub kind: String,
}

/// Remove kustomize's transformations annotation and return what it lists, in order.
pub fn take_transformations(v: &mut Value) -> Vec<Transformation> {
    let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let Some(text) = ann.remove(TRANSFORMATIONS_ANNOTATION) else {
        return Vec::new();
    };
    if ann.is_empty() {
        meta.remove("annotations");
    }
    let parsed: Value = text
        .as_str()
        .and_then(|t| serde_yaml::from_str(t).ok())
        .unwrap_or(Value::Null);
    parsed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(Transformation {
                configured_in: t.get("configuredIn")?.as_str()?.to_string(),
                kind: t.pointer("/configuredBy/kind")?.as_str()?.to_string(),
            })
        })
        .collect()
}

/// Reads a file of the audited tree (relative path → text), as the collection context does.
pub type Read<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Override `fields` (field → `file:line`) with the places the transformers set them:
/// `kustomization` is the repository-relative path of a kustomization that `t` names.
pub fn apply(
    object: &Value,
    t: &Transformation,
    kustomization: &str,
    read: &Read<'_>,
    fields: &mut BTreeMap<String, String>,
) {
    // Only patches and image transformers set fields a finding names: the kustomization of
    // any other transformer (labels, namespace…) is not read at all.
    if !matches!(
        t.kind.as_str(),
        "PatchTransformer" | "PatchStrategicMergeTransformer" | "ImageTagTransformer"
    ) {
        return;
    }
    let Some(text) = read(kustomization) else {
        return;
    };
    let Ok(k) = serde_yaml::from_str::<Value>(&text) else {
        return;
    };
    let dir = kustomization.rsplit_once('/').map_or("", |(d, _)| d);
    match t.kind.as_str() {
        "PatchTransformer" | "PatchStrategicMergeTransformer" => {
            for patch in patch_files(&k) {
                let rel = join(dir, &patch);
                let Some(ptext) = read(&rel) else { continue };
                let (docs, _) = k8s::parse_stream(&ptext, &rel);
                for d in docs.iter().filter(|d| same_object(d, object)) {
                    for (field, place) in &d.fields {
                        // A patch names a container to reach its fields; the container itself
                        // stays where it is defined (unless the patch adds it).
                        if field.ends_with(']') {
                            fields.entry(field.clone()).or_insert_with(|| place.clone());
                        } else {
                            fields.insert(field.clone(), place.clone());
                        }
                    }
                }
            }
        }
        "ImageTagTransformer" => images(object, &k, &text, kustomization, fields),
        _ => {}
    }
}

/// The strategic-merge patch files a kustomization names (`patches[].path`,
/// `patchesStrategicMerge`); inline patches have no file of their own.
fn patch_files(k: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in k
        .get("patches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(path) = p.get("path").and_then(Value::as_str) {
            out.push(path.to_string());
        }
    }
    for p in k
        .get("patchesStrategicMerge")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(path) = p.as_str().filter(|s| !s.contains('\n')) {
            out.push(path.to_string());
        }
    }
    out
}

/// A patch document that targets `object`: same kind, and its name equal to (or contained in,
/// after namePrefix/nameSuffix) the rendered name.
fn same_object(d: &Located, object: &Value) -> bool {
    let kind = |v: &Value| v.get("kind").and_then(Value::as_str).map(str::to_string);
    let name = |v: &Value| {
        v.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (pn, on) = (name(&d.value), name(object));
    kind(&d.value) == kind(object) && !pn.is_empty() && (pn == on || on.contains(&pn))
}

/// `images:` entries: the image of every container whose image the entry names is set there.
fn images(
    object: &Value,
    k: &Value,
    text: &str,
    kustomization: &str,
    fields: &mut BTreeMap<String, String>,
) {
    let containers: Vec<String> = fields
        .keys()
        .filter(|f| f.ends_with("].image"))
        .cloned()
        .collect();
    for entry in k
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            continue;
        };
        let new_name = entry.get("newName").and_then(Value::as_str).unwrap_or(name);
        let Some(line) = line_of(text, 1, &[Seg::Key("images"), Seg::Named(name)]) else {
            continue;
        };
        for field in &containers {
            let image = value_at(object, field)
                .and_then(Value::as_str)
                .unwrap_or("");
            let repo = image
                .split('@')
                .next()
                .unwrap_or("")
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .map_or(image.split('@').next().unwrap_or(""), |(r, _)| r);
            if repo == new_name || repo == name {
                fields.insert(field.clone(), format!("{kustomization}:{line}"));
            }
        }
    }
}

/// The value at a field path (`spec.template.spec.containers[name=app].image`) of an object.
pub fn value_at<'v>(object: &'v Value, field: &str) -> Option<&'v Value> {
    let mut v = object;
    for part in field.split('.') {
        v = match part.split_once('[') {
            Some((key, rest)) => {
                let name = rest.strip_prefix("name=")?.strip_suffix(']')?;
                v.get(key)?
                    .as_array()?
                    .iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(name))?
            }
            None => v.get(part)?,
        };
    }
    Some(v)
}

fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}
