//! The verdict as an in-toto Statement v1 (`--format intoto`, file `report.intoto.json`): the
//! subject is the audited commit (and the image digests the audit saw), the predicate
//! (`https://shipshape.dev/attestation/audit/v1`) the verdict, score, coverage, policy digests,
//! bundle digest and sign-offs. The statement is unsigned; wrap it in a DSSE envelope with the
//! signing tool of your supply chain (cosign, witness, in-toto-attest).

use serde_json::{Value, json};

use crate::evidence::Bundle;
use crate::trust::signoff::SignoffEntry;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://shipshape.dev/attestation/audit/v1";

pub fn statement(bundle: &Bundle, signoffs: &[SignoffEntry]) -> Value {
    let r = &bundle.report;
    let mut subject = Vec::new();
    if let Some(h) = &r.provenance.repository {
        subject.push(json!({
            "name": format!("git+{}@{}", r.name, h.sha),
            "digest": { "gitCommit": h.sha },
        }));
    }
    let evidence = serde_json::to_value(&bundle.evidence).unwrap_or(Value::Null);
    for (name, digest) in super::verify::seen_images(&evidence) {
        subject.push(json!({
            "name": name.unwrap_or_else(|| format!("sha256:{digest}")),
            "digest": { "sha256": digest },
        }));
    }
    let trust = r.trust.clone().unwrap_or_default();
    let source = |s: &Option<crate::policy::model::PolicySource>| {
        s.as_ref()
            .map(|s| json!({ "name": s.name, "sha256": s.sha256 }))
    };
    let signoffs: Vec<Value> = signoffs
        .iter()
        .filter(|s| s.bundle_sha256 == bundle.sha256)
        .map(|s| {
            json!({
                "identity": s.identity,
                "role": s.role,
                "decision": s.decision.as_str(),
                "comment": s.comment,
                "time": s.time,
                "signature": s.signature,
                "namespace": super::signoff::NAMESPACE,
            })
        })
        .collect();
    let mut st = json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verdict": r.verdict_text,
            "reasons": r.reasons,
            "score": { "value": r.score.value, "shown": r.score.shown, "threshold": r.score.threshold },
            "coverage": { "percent": r.score.coverage, "shown": r.score.coverage_shown },
            "environment": r.env,
            "auditTime": r.now,
            "repository": r.provenance.repository.as_ref().map(|h| json!({
                "commit": h.sha, "branch": h.branch, "dirty": h.dirty, "dirtyPaths": h.dirty_paths,
            })),
            "policy": {
                "name": r.provenance.policy,
                "sha256": r.provenance.policy_sha256,
                "sources": r.provenance.policy_sources,
                "central": source(&trust.central),
                "overlay": source(&trust.overlay),
                "waiversFile": source(&trust.waivers_file),
            },
            "bundle": { "sha256": bundle.sha256, "format": bundle.format },
            "counts": r.counts,
            "signoffsRequired": trust.signoffs_required,
            "signoffs": signoffs,
            "ignoredWaivers": trust.ignored_waivers,
            "tool": { "name": "shipshape", "version": r.provenance.version },
        }
    });
    // Files the audit could not read belong to what the statement vouches for (only when any).
    if !r.file_findings.is_empty() {
        st["predicate"]["fileFindings"] = json!(r.file_findings);
    }
    st
}
