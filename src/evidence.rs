//! The evidence bundle: everything a run saw (report, evidence, outcomes), hashed over canonical
//! JSON so the same evidence always gives the same digest; timings sit outside the hash.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::collect::Item;
use crate::evaluate::Outcome;
use crate::report::Report;

pub const FORMAT: &str = "shipshape-bundle/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bundle {
    /// Always `shipshape-bundle/1` for this version of the format.
    pub format: String,
    /// sha256 (hex) of the canonical JSON of everything but `run` and this field, with
    /// `report.provenance.bundle_sha256` blanked.
    pub sha256: String,
    /// The report every output format is rendered from.
    pub report: Report,
    /// One outcome per policy rule, in policy order.
    pub outcomes: Vec<Outcome>,
    /// Collected evidence by request key.
    pub evidence: BTreeMap<String, Item>,
    /// Not hashed: how long things took.
    pub run: RunInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunInfo {
    pub duration_ms: u64,
    pub timings_ms: BTreeMap<String, u64>,
    /// Command results reused from the cache: request key → when they were produced.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cached: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a shipshape bundle: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("unsupported bundle format `{0}` (this shipshape reads {FORMAT})")]
    Format(String),
}

/// Values that vary from run to run without the evidence changing; kept in `run`, not hashed.
const VOLATILE: &[&str] = &["duration_ms"];

impl Bundle {
    pub fn new(
        mut report: Report,
        outcomes: Vec<Outcome>,
        mut evidence: BTreeMap<String, Item>,
        mut run: RunInfo,
    ) -> Bundle {
        for (key, item) in evidence.iter_mut() {
            if let crate::collect::ItemResult::Value(Value::Object(m)) = &mut item.result {
                for k in VOLATILE {
                    if let Some(Value::Number(n)) = m.remove(*k) {
                        run.timings_ms
                            .insert(format!("{key}#{k}"), n.as_u64().unwrap_or(0));
                    }
                }
                // A command result from the cache is the same evidence as a fresh one.
                let cached = m.remove("cached") == Some(Value::Bool(true));
                if let Some(Value::String(at)) = m.remove("produced_at")
                    && cached
                {
                    run.cached.insert(key.clone(), at);
                }
            }
        }
        report.provenance.bundle_sha256.clear();
        let mut b = Bundle {
            format: FORMAT.into(),
            sha256: String::new(),
            report,
            outcomes,
            evidence,
            run,
        };
        b.sha256 = b.digest();
        b.report.provenance.bundle_sha256 = b.sha256.clone();
        b
    }

    /// sha256 over canonical JSON (sorted keys) of everything but `run` and the digest itself.
    ///
    /// The canonical text is streamed into the hash, never held in memory: the top-level keys
    /// and each evidence item's keys are written in sorted order here, and every value below
    /// them is a `serde_json::Value` (whose maps serialise with sorted keys). The bytes are
    /// exactly those of `serde_json::to_string` over the whole bundle as a `Value`.
    pub fn digest(&self) -> String {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
        // Writing into a hash cannot fail; a serialisation error (none is possible for these
        // types) would leave a digest that matches nothing.
        let _ = self.write_canonical(&mut w);
        match w.into_inner() {
            Ok(h) => hex::encode(h.0.finalize()),
            Err(_) => String::new(),
        }
    }

    fn write_canonical(&self, w: &mut impl std::io::Write) -> Result<(), serde_json::Error> {
        use serde_json::to_writer;
        let io = serde_json::Error::io;
        w.write_all(b"{\"evidence\":{").map_err(io)?;
        for (i, (key, item)) in self.evidence.iter().enumerate() {
            if i > 0 {
                w.write_all(b",").map_err(io)?;
            }
            to_writer(&mut *w, key)?;
            let request = serde_json::to_value(&item.request)?;
            match &item.result {
                crate::collect::ItemResult::Value(v) => {
                    w.write_all(b":{\"request\":").map_err(io)?;
                    to_writer(&mut *w, &request)?;
                    w.write_all(b",\"value\":").map_err(io)?;
                    to_writer(&mut *w, v)?;
                }
                crate::collect::ItemResult::Error(e) => {
                    w.write_all(b":{\"error\":").map_err(io)?;
                    to_writer(&mut *w, e)?;
                    w.write_all(b",\"request\":").map_err(io)?;
                    to_writer(&mut *w, &request)?;
                }
            }
            w.write_all(b"}").map_err(io)?;
        }
        w.write_all(b"},\"format\":").map_err(io)?;
        to_writer(&mut *w, &self.format)?;
        w.write_all(b",\"outcomes\":").map_err(io)?;
        to_writer(&mut *w, &serde_json::to_value(&self.outcomes)?)?;
        w.write_all(b",\"report\":").map_err(io)?;
        let mut report = serde_json::to_value(&self.report)?;
        if let Some(Value::Object(p)) = report.get_mut("provenance") {
            p.insert("bundle_sha256".into(), Value::String(String::new()));
        }
        // Whether a command came from the cache is not evidence.
        if let Some(Value::Array(rows)) = report.get_mut("commands") {
            for row in rows {
                if let Value::Object(r) = row {
                    r.remove("cached_at");
                }
            }
        }
        to_writer(&mut *w, &report)?;
        w.write_all(b"}").map_err(io)
    }

    /// The digest as it was first defined: the whole bundle as one `Value`, serialised to one
    /// string. Kept to prove [`Bundle::digest`] streams the same bytes.
    #[doc(hidden)]
    pub fn digest_via_value(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("run");
            m.remove("sha256");
            if let Some(Value::Object(p)) =
                m.get_mut("report").and_then(|r| r.get_mut("provenance"))
            {
                p.insert("bundle_sha256".into(), Value::String(String::new()));
            }
            // Whether a command came from the cache is not evidence.
            if let Some(Value::Array(rows)) =
                m.get_mut("report").and_then(|r| r.get_mut("commands"))
            {
                for row in rows {
                    if let Value::Object(r) = row {
                        r.remove("cached_at");
                    }
                }
            }
        }
        let canonical = serde_json::to_string(&v).unwrap_or_default();
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The versioned JSON Schema of the bundle, generated from these types
    /// (committed as `evidence/schema.json`; a test keeps the two equal).
    pub fn json_schema() -> Value {
        let mut v = serde_json::to_value(schemars::schema_for!(Bundle)).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert(
                "$id".into(),
                Value::String(format!("urn:shipshape:schema:{}", FORMAT.replace('/', "-"))),
            );
            m.insert(
                "title".into(),
                Value::String(format!("{FORMAT} evidence bundle")),
            );
            m.insert(
                "description".into(),
                Value::String(
                    "Everything one shipshape audit saw: the report (every output format is \
                     rendered from it), each rule's outcome, the collected evidence, and unhashed \
                     run timings. See evidence/README.md."
                        .into(),
                ),
            );
        }
        v
    }

    pub fn from_json(text: &str) -> Result<Bundle, BundleError> {
        let b: Bundle = serde_json::from_str(text)?;
        if b.format != FORMAT {
            return Err(BundleError::Format(b.format));
        }
        Ok(b)
    }

    /// Whether the stored digest matches the content.
    pub fn intact(&self) -> bool {
        self.digest() == self.sha256
    }
}

/// An `io::Write` that feeds a sha256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`Bundle::json_schema`] as the pretty-printed text committed in `evidence/schema.json`.
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&Bundle::json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
