//! The auditor's signature on a bundle. A bundle's sha256 is a plain hash: anyone who edits a
//! bundle can recompute it, so it guards against accidents only. `audit --sign-key` signs a
//! statement of the digest (and of which command results came from the cache, which the digest
//! leaves out) with `ssh-keygen -Y sign -n shipshape-bundle` into `report.json.sig`; `verify
//! --allowed-signers F --require-auditor PRINCIPAL` checks it, so only the CI job holding the
//! key can produce a bundle a deployer accepts.

use std::path::{Path, PathBuf};

use crate::evidence::Bundle;
use crate::trust::signoff::{self, SignoffError};

/// The ssh-keygen namespace of auditor signatures (never valid as a sign-off, and back).
pub const NAMESPACE: &str = "shipshape-bundle";

/// Where the signature of the bundle at `bundle` lives: `report.json` → `report.json.sig`.
pub fn sig_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.file_name().unwrap_or_default().to_os_string();
    name.push(".sig");
    bundle.with_file_name(name)
}

/// What the auditor signs: the bundle's digest and its cache provenance, as canonical JSON.
pub fn statement(bundle: &Bundle) -> Vec<u8> {
    let v = serde_json::json!({
        "format": "shipshape-auditor-statement/1",
        "sha256": bundle.sha256,
        "cached": bundle.run.cached,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Sign the bundle written at `bundle_path` with `key`; writes and returns the `.sig` path.
pub fn sign(bundle_path: &Path, bundle: &Bundle, key: &Path) -> Result<PathBuf, SignoffError> {
    let sig = signoff::sign_message(key, NAMESPACE, &statement(bundle))?;
    let path = sig_path(bundle_path);
    crate::write_atomic(&path, sig.as_bytes())
        .map_err(|e| SignoffError::Input(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Whether the signature beside the bundle verifies for `principal` against `allowed`.
pub fn check(
    bundle_path: &Path,
    bundle: &Bundle,
    allowed: &str,
    principal: &str,
) -> Result<Result<(), String>, SignoffError> {
    let path = sig_path(bundle_path);
    let Ok(sig) = std::fs::read_to_string(&path) else {
        return Ok(Err(format!(
            "the bundle is not signed by an auditor (no {}): its sha256 guards against accidents only",
            path.display()
        )));
    };
    if signoff::verify_message(allowed, principal, NAMESPACE, &sig, &statement(bundle))? {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "the auditor signature {} does not verify for `{principal}` against --allowed-signers (a different key, an edited bundle, or edited cache provenance)",
            path.display()
        )))
    }
}
