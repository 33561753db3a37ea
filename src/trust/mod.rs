//! Trust: what makes the verdict a gate rather than a suggestion. The central policy an overlay
//! may only tighten (`policy/overlay.rs`), governed waivers, a clean work tree, signed sign-offs
//! on one exact bundle, `verify` for deployment, and an in-toto attestation of the verdict.
//! See docs/trust.md for the model and what it does not protect against.

pub mod auditor;
pub mod intoto;
pub mod signoff;
pub mod verify;
pub mod waivers;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::policy::model::{Policy, PolicySource, SignoffRequirement};

/// The report's trust section: which central policy and overlay were used, the waivers file,
/// which waivers were ignored and why, and what `verify` will demand of this bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrustSection {
    /// The central policy (`[audit] extends`) and the sha256 of its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central: Option<PolicySource>,
    /// The overlay audited with, when it extends a central policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<PolicySource>,
    /// The separate waivers file, when one was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waivers_file: Option<PolicySource>,
    /// Whether a dirty work tree blocks approval.
    pub require_clean: bool,
    /// Sign-offs `shipshape verify` requires on this bundle.
    pub signoffs_required: Vec<SignoffRequirement>,
    /// Waivers that break the governance rules: ignored (the rule keeps its outcome).
    pub ignored_waivers: Vec<waivers::IgnoredWaiver>,
}

impl TrustSection {
    /// The section for a policy; `None` when the policy uses none of the trust features, so
    /// reports of plain policies stay as they were.
    pub fn of(
        policy: &Policy,
        waivers_file: Option<PolicySource>,
        ignored: Vec<waivers::IgnoredWaiver>,
    ) -> Option<TrustSection> {
        let t = &policy.trust;
        let s = TrustSection {
            central: t.central.clone(),
            overlay: t.overlay.clone(),
            waivers_file,
            require_clean: t.require_clean,
            signoffs_required: t.signoffs_required.clone(),
            ignored_waivers: ignored,
        };
        let used = s.central.is_some()
            || s.waivers_file.is_some()
            || s.require_clean
            || !s.signoffs_required.is_empty()
            || !s.ignored_waivers.is_empty()
            || t.waivers.is_some();
        used.then_some(s)
    }
}

/// Show at most `n` paths, then "+k more".
pub fn some_paths(paths: &[String], n: usize) -> String {
    let mut v: Vec<String> = paths.iter().take(n).map(|p| format!("`{p}`")).collect();
    if paths.len() > n {
        v.push(format!("+{} more", paths.len() - n));
    }
    v.join(", ")
}

/// "policy changed since the baseline: …" when the baseline bundle was audited under other
/// policy digests (the central policy, the overlay, or the policy as a whole).
pub fn policy_changed(old: &crate::report::Report, new: &crate::report::Report) -> Option<String> {
    let digest = |s: &Option<PolicySource>| s.as_ref().map(|s| s.sha256.clone());
    let part = |r: &crate::report::Report| {
        let t = r.trust.clone().unwrap_or_default();
        (digest(&t.central), digest(&t.overlay))
    };
    let (oc, oo) = part(old);
    let (nc, no) = part(new);
    let mut what = Vec::new();
    let short = |d: &Option<String>| {
        d.as_deref()
            .map(|s| s.chars().take(12).collect::<String>())
            .unwrap_or_else(|| "none".into())
    };
    if oc != nc {
        what.push(format!("central policy {} → {}", short(&oc), short(&nc)));
    }
    if oo != no {
        what.push(format!("overlay {} → {}", short(&oo), short(&no)));
    }
    let (op, np) = (&old.provenance.policy_sha256, &new.provenance.policy_sha256);
    if what.is_empty() && op != np {
        what.push(format!(
            "policy {} → {}",
            &op[..op.len().min(12)],
            &np[..np.len().min(12)]
        ));
    }
    (!what.is_empty()).then(|| format!("policy changed since the baseline: {}", what.join("; ")))
}
