//! YAML read as Kubernetes reads it, not as a permissive YAML 1.2 library would: merge keys
//! (`<<`) applied, duplicate keys refused, and YAML 1.1 boolean spellings (`yes`, `on`, `y`, …)
//! in the fields Kubernetes types as booleans read as booleans. A manifest that says
//! `privileged: yes` is privileged; reading it as the harmless string "yes" would let it pass.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Fields of the Kubernetes API typed as booleans that rules read (pod and container security,
/// host namespaces, volumes, workload switches).
const BOOL_FIELDS: &[&str] = &[
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "enableServiceLinks",
    "setHostnameAsFQDN",
    "stdin",
    "stdinOnce",
    "tty",
    "readOnly",
    "optional",
    "immutable",
    "suspend",
    "paused",
];

/// A YAML 1.1 boolean spelling (go-yaml v2, which Kubernetes tooling uses), or `None`.
pub fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

/// Parse one YAML document into a JSON value the Kubernetes way.
pub fn from_str(text: &str) -> Result<Value, String> {
    let de = serde_yaml::Deserializer::from_str(text);
    de.deserialize_any(StrictVisitor)
        .map(|s| s.0)
        .map_err(|e: serde_yaml::Error| {
            let msg = e.to_string();
            msg.split(" at line ").next().unwrap_or(&msg).to_string()
        })
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        let mut merges = Vec::new();
        while let Some(Strict(k)) = map.next_key()? {
            let Strict(mut v) = map.next_value()?;
            let key = match k {
                Value::String(s) => s,
                Value::Null => "null".into(),
                other => other.to_string(),
            };
            if key == "<<" {
                merges.push(v);
                continue;
            }
            if let Value::String(s) = &v
                && BOOL_FIELDS.contains(&key.as_str())
                && let Some(b) = yaml11_bool(s)
            {
                v = Value::Bool(b);
            }
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            out.insert(key, v);
        }
        // Merge keys: explicit keys win, then earlier merged maps over later ones.
        for m in merges {
            let sources = match m {
                Value::Array(a) => a,
                other => vec![other],
            };
            for s in sources {
                let Value::Object(s) = s else {
                    return Err(de::Error::custom("a merge key (`<<`) needs a mapping"));
                };
                for (k, v) in s {
                    out.entry(k).or_insert(v);
                }
            }
        }
        Ok(Strict(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_are_applied() {
        let v =
            from_str("base: &b\n  runAsNonRoot: false\n  x: 1\nsc:\n  <<: *b\n  x: 2\n").unwrap();
        assert_eq!(v["sc"]["runAsNonRoot"], Value::Bool(false));
        assert_eq!(v["sc"]["x"], 2);
        assert!(v["sc"].get("<<").is_none());
    }

    #[test]
    fn yaml11_booleans_in_boolean_fields() {
        let v = from_str("privileged: yes\nname: yes\nhostPID: On\nreadOnly: 'n'\n").unwrap();
        assert_eq!(v["privileged"], Value::Bool(true));
        assert_eq!(v["name"], "yes", "a string field keeps its string");
        assert_eq!(v["hostPID"], Value::Bool(true));
        assert_eq!(v["readOnly"], Value::Bool(false));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = from_str("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(e.contains("duplicate key `a`"), "{e}");
        let e = from_str("spec:\n  privileged: true\n  privileged: false\n").unwrap_err();
        assert!(e.contains("duplicate key"), "{e}");
    }
}
