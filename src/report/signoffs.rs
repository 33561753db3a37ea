//! The sign-off block every human-readable report ends with: the roles the policy requires,
//! who signed this exact bundle (from `signoffs.jsonl` beside it), and whether each signature
//! verifies. Built at render time — sign-offs come after the audit — so it is never part of the
//! hashed bundle.

use serde::Serialize;

use super::Report;
use crate::policy::model::SignoffRequirement;
use crate::trust::signoff::{self, Decision, SignoffEntry};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SignoffBlock {
    pub required: Vec<SignoffRequirement>,
    /// Sign-offs on this bundle, in log order.
    pub entries: Vec<SignoffRow>,
    /// Sign-offs in the log for other bundles (never counted).
    pub other_bundles: usize,
    /// Per required role: `approvals of count`, met or not.
    pub roles: Vec<RoleState>,
    /// Whether signatures were checked (an allowed-signers file was given).
    pub checked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignoffRow {
    pub identity: String,
    pub role: String,
    pub decision: String,
    pub time: String,
    pub comment: String,
    /// `verified`, `not verified: why`, or `not checked` (no allowed-signers file).
    pub verified: String,
    pub icon: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleState {
    pub role: String,
    pub count: u32,
    pub approvals: usize,
    pub met: bool,
    pub icon: String,
    pub word: String,
}

/// The block for `report` (whose bundle hashes to `digest`) from the log's `entries`, with
/// signatures checked against `allowed_signers` (the file's text) when given.
pub fn block(
    report: &Report,
    digest: &str,
    entries: &[SignoffEntry],
    allowed_signers: Option<&str>,
) -> SignoffBlock {
    let required = report
        .trust
        .as_ref()
        .map(|t| t.signoffs_required.clone())
        .unwrap_or_default();
    let mine: Vec<&SignoffEntry> = entries
        .iter()
        .filter(|e| e.bundle_sha256 == digest)
        .collect();
    let rows: Vec<(SignoffRow, bool)> = mine
        .iter()
        .map(|e| {
            let (verified, ok) = verify_one(e, digest, allowed_signers);
            let icon = match (ok, e.decision) {
                (true, Decision::Approve) => "✅",
                (true, Decision::Reject) => "❌",
                _ => "❔",
            };
            (
                SignoffRow {
                    identity: e.identity.clone(),
                    role: e.role.clone(),
                    decision: e.decision.as_str().to_string(),
                    time: e.time.clone(),
                    comment: e.comment.clone().unwrap_or_default(),
                    verified,
                    icon: icon.into(),
                },
                ok,
            )
        })
        .collect();
    let roles = required
        .iter()
        .map(|r| {
            let mut who: Vec<&str> = rows
                .iter()
                .filter(|(row, ok)| *ok && row.role == r.role && row.decision == "approve")
                .map(|(row, _)| row.identity.as_str())
                .collect();
            who.sort();
            who.dedup();
            let met = who.len() as u32 >= r.count;
            RoleState {
                role: r.role.clone(),
                count: r.count,
                approvals: who.len(),
                met,
                icon: if met { "✅" } else { "❌" }.into(),
                word: if met { "signed" } else { "missing" }.into(),
            }
        })
        .collect();
    SignoffBlock {
        required,
        other_bundles: entries.len() - mine.len(),
        entries: rows.into_iter().map(|(r, _)| r).collect(),
        roles,
        checked: allowed_signers.is_some(),
    }
}

/// Whether one sign-off verifies (signature, and the key's right to the role).
fn verify_one(e: &SignoffEntry, digest: &str, allowed: Option<&str>) -> (String, bool) {
    let Some(allowed) = allowed else {
        return (
            "not checked (render with --allowed-signers FILE to verify)".into(),
            false,
        );
    };
    match signoff::check(std::slice::from_ref(e), digest, Some(allowed), &[]) {
        Ok(c) if !c.valid.is_empty() => ("verified".into(), true),
        Ok(c) => (
            format!(
                "NOT verified: {}",
                c.failures
                    .first()
                    .or(c.notes.first())
                    .cloned()
                    .unwrap_or_else(|| "unknown reason".into())
            ),
            false,
        ),
        Err(err) => (format!("not checked: {err}"), false),
    }
}
