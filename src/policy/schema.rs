//! The JSON Schema of the policy file, generated from the raw types so it cannot drift from
//! what the loader accepts. Editors (Taplo / Even Better TOML) use it through a
//! `#:schema ./schema.json` first line; `policies/schema.json` is kept equal to it by a test.

use serde_json::Value;

use super::model::PolicyFileRaw;

/// The schema as pretty JSON, ending in a newline (the committed file's exact bytes).
pub fn json() -> String {
    // Draft 7 is what Taplo and most editors understand.
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<PolicyFileRaw>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    if let Value::Object(m) = &mut value {
        m.insert("title".into(), Value::String("shipshape policy".into()));
        m.insert(
            "description".into(),
            Value::String(
                "A shipshape release-gate policy (shipshape.toml). Reference: docs/policy.md."
                    .into(),
            ),
        );
    }
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// TOML has no null: an optional key is simply absent, so `null` never belongs in the schema.
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    m.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = m.get_mut("anyOf") {
                any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
                if any.len() == 1 {
                    let only = any.remove(0);
                    m.remove("anyOf");
                    if let Value::Object(inner) = only {
                        for (k, val) in inner {
                            m.entry(k).or_insert(val);
                        }
                    }
                }
            }
            for (_, child) in m.iter_mut() {
                drop_null(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(drop_null),
        _ => {}
    }
}
