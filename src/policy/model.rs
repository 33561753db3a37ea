//! The policy as shipshape understands it after loading: typed, validated, spans kept so every
//! later complaint can still point at the file, line and column the user wrote.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A position in a policy file, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// `[audit]`: what the audit is called and what it takes to approve.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct AuditRaw {
    pub name: Option<String>,
    pub title: Option<String>,
    /// The order the report lists areas in (ids; areas not listed follow in the order the
    /// policy files declare them). A pack's areas come before those of the policy including it.
    pub area_order: Option<Vec<String>>,
    /// How long a cached command result or kustomize render may be reused: `30m`, `24h`, `7d`
    /// (default 24h).
    pub cache_max_age: Option<String>,
    pub approve_min_score: Option<f64>,
    /// Environments this policy knows; `--env` must name one of them.
    pub environments: Option<Vec<String>>,
    pub default_env: Option<String>,
    /// Artifact `status` values that count as approved; exposed to CEL as `approved`.
    pub approved_statuses: Option<Vec<String>>,
    /// Default freshness window for artifacts (days), exposed to CEL as `stale_after_days`.
    pub stale_after_days: Option<i64>,
    /// Folder (relative to the audited path) where published audits live; excluded from
    /// placeholder checks and marker scans so a published report never becomes a finding.
    pub publish_dir: Option<String>,
    /// The central policy this file is an overlay of: `builtin:NAME` or a path (relative to this
    /// file). Only the policy you audit with may extend; see `src/policy/overlay.rs`.
    pub extends: Option<String>,
    /// sha256 of the central policy file's bytes; required when `extends` is a path.
    pub extends_sha256: Option<String>,
    /// A separate file of `[[waiver]]` tables (relative to this policy file).
    pub waivers_file: Option<String>,
    /// A dirty work tree cannot be APPROVED.
    pub require_clean: Option<bool>,
    /// Sign-offs `shipshape verify` requires: `[{ role = "sre", count = 1 }]`.
    pub signoffs_required: Option<Vec<SignoffRequirement>>,
}

/// One required sign-off role and how many distinct signers must approve.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SignoffRequirement {
    pub role: String,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// `[waivers]`: the rules a waiver must follow to apply (governance).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct WaiversRaw {
    /// Longest lifetime (`expires` − `granted`, in days) per severity of the waived rule.
    pub max_days: Option<MaxDays>,
    /// Who may approve a waiver; absent = anyone but its owner.
    pub approvers: Option<Vec<String>>,
    /// Whether every waiver must name a ticket.
    pub require_ticket: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct MaxDays {
    pub blocking: Option<i64>,
    pub warning: Option<i64>,
    pub info: Option<i64>,
}

impl MaxDays {
    pub fn get(&self, s: Severity) -> Option<i64> {
        match s {
            Severity::Blocking => self.blocking,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// `[[override]]`: an overlay tightening a rule it did not define. Keys that would loosen the
/// rule are read only to name them in the error.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct OverrideRaw {
    pub rule: String,
    pub severity: Option<Severity>,
    pub weight: Option<f64>,
    /// Appended to the rule's expectations (all must hold).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub expect: Vec<toml::Spanned<String>>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub evidence: Option<toml::Value>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub environments: Option<toml::Value>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub area: Option<toml::Value>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub disabled: Option<toml::Value>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub enabled: Option<toml::Value>,
    #[schemars(with = "Option<serde_json::Value>")]
    pub disable: Option<toml::Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct AreaRaw {
    pub id: String,
    pub title: Option<String>,
    pub weight: Option<f64>,
    pub description: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Blocking,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct Remediation {
    pub priority: Option<String>,
    pub category: Option<String>,
    pub files: Option<Vec<String>>,
    pub action: Option<String>,
    pub rationale: Option<String>,
    pub effort: Option<String>,
    pub dependencies: Option<String>,
}

/// One evidence request as written. Exactly one *source* key must be set; the others are
/// options of that source. Validation turns it into a [`crate::collect::Request`].
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct EvidenceRaw {
    // sources
    pub artifact: Option<String>,
    pub files: Option<Vec<FileEntry>>,
    pub run: Option<String>,
    pub scan: Option<String>,
    pub capture: Option<String>,
    pub data: Option<String>,
    pub git: Option<String>,
    pub links: Option<Vec<String>>,
    pub manifests: Option<Vec<String>>,
    pub cluster: Option<String>,
    pub http: Option<String>,
    /// Vulnerability suppression files (`.trivyignore`, `.grype.yaml`, `osv-scanner.toml`,
    /// `.snyk`, `deny.toml`…); `[]`: each tool's default file.
    pub suppressions: Option<Vec<String>>,
    /// Files stating the release version (`[]`: every place shipshape knows).
    pub versions: Option<Vec<String>>,
    // options
    pub path: Option<String>,
    pub paths: Option<Vec<String>>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub timeout: Option<u64>,
    pub captures: Option<BTreeMap<String, String>>,
    pub format: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    pub group: Option<u32>,
    pub case_insensitive: Option<bool>,
    pub max_matches: Option<usize>,
    /// scan: `"comments"` counts a match only in comments of code (not identifiers, calls or
    /// strings) and in Markdown outside code; `"all"` (default) anywhere.
    pub within: Option<String>,
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<String>,
    // options of the Kubernetes sources (cluster, manifests)
    pub name: Option<String>,
    pub field_selector: Option<String>,
    pub api_version: Option<String>,
    pub allow_snapshot: Option<bool>,
    // options of the http source
    pub max_body_bytes: Option<u64>,
    /// `"never"` (default) or `"same-origin"`.
    pub follow_redirects: Option<String>,
    // option of git last_change: `"mtime"` dates untracked files (or a folder outside git) by
    // their modification time
    pub fallback: Option<String>,
    // option of run: the files whose content keys the command cache (globs; default: every
    // file of the audited tree)
    pub inputs: Option<Vec<String>>,
    // option of versions: the project's own image repositories (default: named like the project)
    pub images: Option<Vec<String>>,
}

/// A required file: one glob, or a list of alternatives of which any one will do.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum FileEntry {
    One(String),
    AnyOf(Vec<String>),
}

impl FileEntry {
    pub fn alternatives(&self) -> Vec<String> {
        match self {
            FileEntry::One(s) => vec![s.clone()],
            FileEntry::AnyOf(v) => v.clone(),
        }
    }
    pub fn label(&self) -> String {
        self.alternatives().join(" | ")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct RuleRaw {
    /// kebab-case, unique across all included files.
    pub id: String,
    /// The id of an `[[area]]`.
    pub area: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// blocking (a fail or pending blocks approval), warning (lowers the score) or info.
    pub severity: Option<Severity>,
    /// Weight inside the area (default 1).
    pub weight: Option<f64>,
    /// The rule applies only to these environments; elsewhere it is skipped.
    pub environments: Option<Vec<String>>,
    /// evidence.NAME = { SOURCE = ..., options }: NAME is what CEL sees.
    #[serde(default)]
    pub evidence: BTreeMap<String, EvidenceRaw>,
    /// CEL expressions over the evidence; all must be true.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub expect: Vec<toml::Spanned<String>>,
    /// Sentence shown when the rule passes (what the evidence shows).
    pub pass_message: Option<String>,
    /// Sentence shown when the rule fails, before the computed detail.
    pub fail_message: Option<String>,
    /// An entry of the prioritised recommendations when the rule fails or is pending.
    pub remediation: Option<Remediation>,
    /// Freshness window for this rule (days); shadows `[audit] stale_after_days` in its CEL.
    pub stale_after_days: Option<i64>,
    /// Evidence that may match nothing (no file, no object) without the rule becoming
    /// pending: `true` for every entry, or the entry names. Central policies only.
    pub allow_empty: Option<AllowEmpty>,
    /// The handoff-readiness questions this rule answers in the report (`runbooks`,
    /// `escalation`, `dr-drill`, `alerting`): can another team operate the service?
    pub handoff: Option<Vec<String>>,
}

/// `allow_empty = true` or `allow_empty = ["hpa"]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AllowEmpty {
    All(bool),
    Names(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct WaiverRaw {
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub owner: Option<String>,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    /// The day the waiver was granted; lifetimes (`[waivers] max_days`) are measured from it.
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub granted: Option<toml::value::Datetime>,
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub expires: Option<toml::value::Datetime>,
    /// Waive one finding of the rule, by the fingerprint the report gives it.
    pub fingerprint: Option<String>,
    /// Waive the findings of the rule in this file and/or with this key.
    #[serde(rename = "match")]
    pub matches: Option<FindingMatch>,
}

/// `match = { file = "…", key = "…" }`: which findings of its rule a waiver covers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct FindingMatch {
    /// The finding's file, relative to the audited folder.
    pub file: Option<String>,
    /// The finding's key (placeholder, status value, CVE id, link target, object…).
    pub key: Option<String>,
}

impl WaiverRaw {
    /// What is wrong with the finding this waiver names, if it names one.
    pub fn finding_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.fingerprint
            && !(f.len() == 16
                && f.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            out.push(format!(
                "fingerprint `{f}` is not a finding fingerprint (16 lowercase hex digits)"
            ));
        }
        if let Some(m) = &self.matches
            && m.file.as_deref().is_none_or(|s| s.trim().is_empty())
            && m.key.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            out.push("`match` needs a file, a key or both".into());
        }
        if self.fingerprint.is_some() && self.matches.is_some() {
            out.push("give a fingerprint or a match, not both".into());
        }
        out
    }

    /// The finding selector, once valid.
    pub fn finding(&self) -> Option<FindingSelector> {
        match (&self.fingerprint, &self.matches) {
            (Some(f), _) => Some(FindingSelector::Fingerprint(f.clone())),
            (None, Some(m)) => Some(FindingSelector::Match(m.clone())),
            _ => None,
        }
    }
}

/// Which finding of its rule a waiver covers (none: the whole rule).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FindingSelector {
    Fingerprint(String),
    Match(FindingMatch),
}

impl FindingSelector {
    /// Whether a finding (its fingerprint, file and key) is the one named.
    pub fn covers(&self, fingerprint: &str, file: Option<&str>, key: &str) -> bool {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        match self {
            FindingSelector::Fingerprint(f) => f == fingerprint,
            FindingSelector::Match(m) => {
                m.file.as_deref().is_none_or(|f| Some(f) == file)
                    && m.key.as_deref().is_none_or(|k| words(k) == words(key))
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            FindingSelector::Fingerprint(f) => format!("finding {f}"),
            FindingSelector::Match(m) => match (&m.file, &m.key) {
                (Some(f), Some(k)) => format!("finding `{k}` in {f}"),
                (Some(f), None) => format!("findings in {f}"),
                (None, Some(k)) => format!("finding `{k}`"),
                (None, None) => "findings".into(),
            },
        }
    }
}

/// `[[document]]`: a row of the documentation matrix.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct DocumentRaw {
    pub path: String,
    pub title: Option<String>,
    #[serde(default)]
    pub sections: Vec<String>,
}

/// `[placeholders]`: what counts as unfinished text in an artifact.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct PlaceholdersRaw {
    /// Extra patterns: kind → regex.
    pub patterns: Option<BTreeMap<String, String>>,
    /// Built-in kinds to switch off (tbd, todo, fill-in, date-template, pending).
    pub disable: Option<Vec<String>>,
}

/// The whole of one policy file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub struct PolicyFileRaw {
    /// Policies loaded before this one: paths relative to this file, or builtin:NAME.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub include: Vec<toml::Spanned<String>>,
    pub audit: Option<AuditRaw>,
    #[serde(default)]
    pub area: Vec<AreaRaw>,
    #[serde(default)]
    pub rule: Vec<RuleRaw>,
    #[serde(default)]
    pub waiver: Vec<WaiverRaw>,
    #[serde(default)]
    pub document: Vec<DocumentRaw>,
    pub placeholders: Option<PlaceholdersRaw>,
    pub redact: Option<RedactRaw>,
    pub cluster: Option<ClusterRaw>,
    pub waivers: Option<WaiversRaw>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideRaw>,
    /// Named glob lists a rule's glob lists use as `@name` (a pack's defaults, overridden name
    /// by name by the files that include it). `non-production` replaces the built-in list.
    pub globs: Option<BTreeMap<String, Vec<String>>>,
}

/// `[redact]`: extra secret patterns, on top of the built-in token shapes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RedactRaw {
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// `[cluster]`: where cluster evidence comes from when the command line does not say, and which
/// repository manifests `manifests = []` entries (the hardening pack) read. See
/// docs/kubernetes.md for the precedence with `--cluster-snapshot` / `--context`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ClusterRaw {
    /// A recorded snapshot (`kubectl get -o yaml` output), relative to the audited folder.
    pub snapshot: Option<SnapshotPaths>,
    /// A kubeconfig context to query live.
    pub context: Option<String>,
    /// Namespace for cluster evidence that names none (default: all namespaces).
    pub namespace: Option<String>,
    /// Several namespaces for cluster evidence that names none (instead of `namespace`).
    pub namespaces: Option<Vec<String>>,
    /// Manifest files, globs or kustomize folders that an empty `manifests = []` evidence entry
    /// reads; `{env}` is replaced by the audited environment.
    pub manifests: Option<Vec<String>>,
    /// Oldest snapshot cluster rules may rely on (`30m`, `24h`, `7d`; default `24h`): an older
    /// one leaves them pending with its age.
    pub max_snapshot_age: Option<String>,
    /// Where `manifests = []` entries read their objects: `"manifests"` (the rendered
    /// `[cluster] manifests` / `--manifests`) or `"cluster"` (the live cluster or snapshot).
    /// Unset: manifests when the run has any, else the cluster source.
    pub objects: Option<String>,
}

/// One snapshot file or several.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum SnapshotPaths {
    One(String),
    Many(Vec<String>),
}

impl SnapshotPaths {
    pub fn list(&self) -> Vec<String> {
        match self {
            SnapshotPaths::One(s) => vec![s.clone()],
            SnapshotPaths::Many(v) => v.clone(),
        }
    }
}

/// The validated `[cluster]` table (later files override earlier ones key by key).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterSettings {
    pub snapshot: Vec<String>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// `namespaces`, or `namespace` as a list of one; empty: all namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    pub manifests: Vec<String>,
    /// `[cluster] max_snapshot_age` in seconds; `None`: the default, 24 h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_snapshot_age_secs: Option<i64>,
    /// `[cluster] objects`: `manifests` or `cluster`; `None`: chosen by what the run has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The validated policy.

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Audit {
    pub name: String,
    pub title: String,
    pub approve_min_score: f64,
    pub environments: Vec<String>,
    pub default_env: String,
    pub approved_statuses: Vec<String>,
    pub stale_after_days: i64,
    pub publish_dir: String,
    /// Longest reuse of a cached result, in seconds.
    #[serde(default = "day_secs")]
    pub cache_max_age_secs: i64,
}

fn day_secs() -> i64 {
    86_400
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Area {
    pub id: String,
    pub title: String,
    pub weight: f64,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    pub id: String,
    pub area: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub weight: f64,
    pub environments: Option<Vec<String>>,
    /// evidence name → request key in the plan.
    pub evidence: BTreeMap<String, crate::collect::Request>,
    pub expect: Vec<String>,
    pub pass_message: Option<String>,
    pub fail_message: Option<String>,
    pub remediation: Option<Remediation>,
    pub origin: Origin,
    /// The rule's own freshness window, if it sets one (else the policy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after_days: Option<i64>,
    /// Evidence entries that may match nothing and still let the rule pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_empty: Vec<String>,
    /// Defined by the central policy (not an overlay): such rules are scored on their own too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub central: bool,
    /// Handoff-readiness questions the rule answers (see [`HANDOFF_QUESTIONS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handoff: Vec<String>,
    /// Left out of this run by `audit --rule` (a partial run): skipped, its evidence not
    /// collected. Never part of the policy or its digest.
    #[serde(skip)]
    pub deselected: bool,
    /// Where each `expect` entry is written (`file:line:col`), so an expression that cannot be
    /// evaluated at run time names its place. Not part of the digest.
    #[serde(skip)]
    pub expect_origins: Vec<Origin>,
}

/// The handoff-readiness questions a report answers, by key: can another team operate this?
pub const HANDOFF_QUESTIONS: &[(&str, &str)] = &[
    ("runbooks", "Runbooks present and linked"),
    ("escalation", "Escalation path documented"),
    ("dr-drill", "DR drill verified and recent"),
    ("alerting", "On-call alerting wired to runbooks"),
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Waiver {
    pub rule: String,
    pub reason: String,
    pub owner: String,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    /// Last day (UTC) on which the waiver holds.
    pub expires: chrono::NaiveDate,
    /// The day it was granted (`[waivers] max_days` is measured from it).
    #[serde(default)]
    pub granted: Option<chrono::NaiveDate>,
    pub origin: Origin,
    /// A per-finding waiver: the one finding (or the findings of a file/key) it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingSelector>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub path: String,
    pub title: String,
    pub sections: Vec<String>,
}

/// A source file that went into the policy, for provenance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PolicySource {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    /// The file (or builtin) the user pointed at.
    pub name: String,
    /// sha256 over the sources, in load order.
    pub digest: String,
    pub sources: Vec<PolicySource>,
    pub audit: Audit,
    pub areas: Vec<Area>,
    pub rules: Vec<Rule>,
    pub waivers: Vec<Waiver>,
    pub documents: Vec<Document>,
    pub placeholders: crate::collect::artifact::PlaceholderSet,
    /// Extra redaction patterns from `[redact]`.
    pub redact_patterns: Vec<String>,
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// Central policy, overlay, waiver governance, sign-offs, clean-tree rule.
    #[serde(default)]
    pub trust: TrustPolicy,
}

/// What the policy says about trust: where it came from and what the gate demands beyond rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrustPolicy {
    /// The central policy an overlay extends (`[audit] extends`), with the sha256 of its bytes.
    pub central: Option<PolicySource>,
    /// The overlay (the file audited with) when it extends a central policy.
    pub overlay: Option<PolicySource>,
    /// The central policy's own `approve_min_score`, which its rules must reach on their own.
    #[serde(default)]
    pub central_min_score: Option<f64>,
    pub require_clean: bool,
    pub signoffs_required: Vec<SignoffRequirement>,
    /// `[waivers]` governance; `None` = only the basic checks (owner, reason, expires).
    pub waivers: Option<WaiverGovernance>,
    /// `[audit] waivers_file`, resolved against the declaring policy file.
    pub waivers_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WaiverGovernance {
    pub max_days: MaxDays,
    pub approvers: Option<Vec<String>>,
    pub require_ticket: bool,
}

impl Policy {
    pub fn area(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.id == id)
    }
}
