//! One evidence source is one type: its validated spec implements [`Source`] — the key a rule
//! names it by, how it is checked from the policy, what it reads, how it is collected, how it
//! is described and documented. `sources!` in `collect/mod.rs` lists every source once and
//! generates the request enum and every dispatch from that list, so adding a source is its file
//! and one line there (plus its field of the policy's `EvidenceRaw` and its section of
//! docs/policy.md, which a test holds to [`SourceDoc`]).

use serde_json::Value;

use super::{Collected, Ctx};
use crate::policy::model::EvidenceRaw;

/// One name CEL sees under an evidence entry.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub name: &'static str,
    pub kind: &'static str,
    pub meaning: &'static str,
}

/// What one evidence source is, what it yields and how a rule uses it (`explain --source`).
#[derive(Debug, Clone, Copy)]
pub struct SourceDoc {
    pub name: &'static str,
    pub summary: &'static str,
    pub options: &'static str,
    pub names: &'static [Name],
    /// A complete `[[rule]]` (area `example`) that uses the source.
    pub example: &'static str,
}

pub const fn n(name: &'static str, kind: &'static str, meaning: &'static str) -> Name {
    Name {
        name,
        kind,
        meaning,
    }
}

/// An evidence source, implemented by its validated spec.
pub trait Source: Sized {
    /// The key a rule's evidence entry names the source by (`artifact = "…"`); also the field
    /// of `EvidenceRaw` that holds it.
    const NAME: &'static str;
    /// What `explain --source NAME` prints; docs/policy.md documents the same names.
    const DOC: SourceDoc;
    /// A rough rank of how long collecting takes, for scheduling (commands 4, network 3,
    /// tree-wide reads 2, single files 1).
    const COST: u8 = 1;

    /// Check what the policy wrote; `Err` is the policy error's text.
    fn from_raw(raw: &EvidenceRaw) -> Result<Self, String>;
    /// Collect the evidence (plain data, never a verdict).
    fn collect(&self, ctx: &Ctx<'_>) -> Collected;
    /// One line for `explain RULE_ID`.
    fn describe(&self) -> String;
    /// Paths and globs this request reads, for the boundary check at load time.
    fn paths(&self) -> Vec<String> {
        Vec::new()
    }
    /// The part of the tree it reads (include, exclude), to hold it to what it could not read;
    /// `None` for sources that read no files.
    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        None
    }
    /// Why the collected value `v` (of the evidence entry `name`) matched nothing, when it did:
    /// a rule never passes over an empty match.
    fn matched_nothing(&self, _name: &str, _v: &Value) -> Option<String> {
        None
    }
}
