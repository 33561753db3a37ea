//! `shipshape verify`: the deployment-time question "may this commit (and these images) ship?"
//! answered from a bundle alone. It passes only when the bundle is intact and APPROVED, was taken
//! at that commit on a clean tree, saw those image digests, and carries the sign-offs its policy
//! requires. Every failed condition is reported, not just the first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::evaluate::score::Verdict;
use crate::evidence::Bundle;
use crate::trust::signoff;

pub struct VerifyOptions {
    pub bundle: PathBuf,
    pub commit: String,
    pub images: Vec<String>,
    pub allowed_signers: Option<PathBuf>,
    /// Default: `signoffs.jsonl` beside the bundle (absent = no sign-offs).
    pub signoffs: Option<PathBuf>,
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Why the bundle does not vouch for this release; empty = verified.
    pub failures: Vec<String>,
    /// What was checked and held, and what was ignored.
    pub notes: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// An image reference given on the command line: `REF@sha256:HEX`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub name: String,
    pub digest: String,
}

impl ImageRef {
    pub fn parse(s: &str) -> Option<ImageRef> {
        let (name, d) = s.rsplit_once("@sha256:")?;
        if name.is_empty() || !is_sha256(d) {
            return None;
        }
        Some(ImageRef {
            name: repository(name),
            digest: d.to_ascii_lowercase(),
        })
    }
}

fn is_sha256(d: &str) -> bool {
    d.len() == 64 && d.chars().all(|c| c.is_ascii_hexdigit())
}

/// `registry/repo:tag` → `registry/repo` (a `:` after the last `/` is a tag, not a port).
fn repository(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
        _ => name.to_string(),
    }
}

/// Image digests the audit saw anywhere in its evidence: `name@sha256:…` references and
/// `digest: sha256:…` values (manifests, command output, data files). Sorted, unique.
pub fn seen_images(evidence: &Value) -> Vec<(Option<String>, String)> {
    let re_ref =
        regex::Regex::new(r"([A-Za-z0-9][A-Za-z0-9._/:-]*)@sha256:([0-9a-fA-F]{64})").unwrap();
    let re_digest =
        regex::Regex::new(r#"(?i)digest["']?\s*[:=]\s*["']?sha256:([0-9a-f]{64})"#).unwrap();
    let mut out = BTreeSet::new();
    let mut stack = vec![evidence];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                for c in re_ref.captures_iter(s) {
                    out.insert((Some(repository(&c[1])), c[2].to_ascii_lowercase()));
                }
                for c in re_digest.captures_iter(s) {
                    out.insert((None, c[1].to_ascii_lowercase()));
                }
            }
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(m) => {
                for (k, x) in m {
                    if k.to_ascii_lowercase().contains("digest")
                        && let Some(d) = x.as_str().and_then(|s| s.strip_prefix("sha256:"))
                        && is_sha256(d)
                    {
                        out.insert((None, d.to_ascii_lowercase()));
                    }
                    stack.push(x);
                }
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Verify a bundle for deployment. `Err` is bad input (exit 2); otherwise the report says
/// whether it verified (exit 0) or not (exit 1), with every reason.
pub fn verify(o: &VerifyOptions) -> Result<VerifyReport, BadInput> {
    let text = std::fs::read_to_string(&o.bundle)
        .map_err(|e| BadInput(format!("cannot read bundle `{}`: {e}", o.bundle.display())))?;
    let bundle =
        Bundle::from_json(&text).map_err(|e| BadInput(format!("{}: {e}", o.bundle.display())))?;
    let commit = o.commit.trim().to_ascii_lowercase();
    if commit.len() < 7 || commit.len() > 64 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(BadInput(format!(
            "--commit `{}` is not a commit sha (7 to 40 hex digits)",
            o.commit
        )));
    }
    let images: Vec<ImageRef> = o
        .images
        .iter()
        .map(|i| {
            ImageRef::parse(i).ok_or_else(|| {
                BadInput(format!(
                    "--image `{i}` is not REF@sha256:DIGEST (64 hex digits): only a digest pins what ships"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let allowed = match &o.allowed_signers {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            BadInput(format!(
                "cannot read --allowed-signers `{}`: {e}",
                p.display()
            ))
        })?),
        None => None,
    };
    let log = o.signoffs.clone().unwrap_or_else(|| {
        o.bundle
            .parent()
            .unwrap_or(Path::new("."))
            .join(signoff::LOG_NAME)
    });
    let (entries, log_problems) = match signoff::read_log(&log) {
        Ok(x) => x,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && o.signoffs.is_none() => {
            (vec![], vec![])
        }
        Err(e) => {
            return Err(BadInput(format!(
                "cannot read sign-offs `{}`: {e}",
                log.display()
            )));
        }
    };

    let mut r = VerifyReport::default();
    let report = &bundle.report;
    // 1. The bundle is what the audit wrote.
    let digest = bundle.digest();
    if digest != bundle.sha256 {
        r.failures.push(format!(
            "the bundle's sha256 does not match its content (recorded {}, computed {}): it was altered after the audit",
            signoff::short(&bundle.sha256),
            signoff::short(&digest)
        ));
    } else {
        r.notes.push(format!("bundle sha256 {digest} intact"));
    }
    // 2. The verdict.
    if report.verdict == Verdict::Approved {
        r.notes.push(format!(
            "verdict APPROVED (score {}/10, env `{}`, audit time {})",
            report.score.shown, report.env, report.now
        ));
    } else {
        r.failures.push(format!(
            "the verdict is {}: {}",
            report.verdict_text,
            report.reasons.join("; ")
        ));
    }
    // 3. The commit.
    match &report.provenance.repository {
        None => r
            .failures
            .push("the audit was not taken in a git repository, so it describes no commit".into()),
        Some(h) => {
            if !h.sha.to_ascii_lowercase().starts_with(&commit) {
                r.failures.push(format!(
                    "the audit was taken at commit {}, not {}",
                    h.sha, o.commit
                ));
            } else {
                r.notes.push(format!("taken at commit {}", h.sha));
            }
            if h.dirty {
                r.failures.push(format!(
                    "the audit saw uncommitted changes ({}), so it does not describe commit {}",
                    crate::trust::some_paths(&h.dirty_paths, 10),
                    h.short
                ));
            }
        }
    }
    // 4. The images.
    let evidence = serde_json::to_value(&bundle.evidence).unwrap_or(Value::Null);
    let seen = seen_images(&evidence);
    for img in &images {
        let same: Vec<&(Option<String>, String)> =
            seen.iter().filter(|(_, d)| *d == img.digest).collect();
        let names: Vec<&str> = same.iter().filter_map(|(n, _)| n.as_deref()).collect();
        if same.is_empty() {
            r.failures.push(format!(
                "image {}@sha256:{}: the audit never saw that digest{}",
                img.name,
                signoff::short(&img.digest),
                if seen.is_empty() {
                    " (its evidence holds no image digests)".to_string()
                } else {
                    format!(
                        " (it saw {})",
                        seen.iter()
                            .map(|(n, d)| format!(
                                "{}sha256:{}",
                                n.as_deref().map(|n| format!("{n}@")).unwrap_or_default(),
                                signoff::short(d)
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
        } else if !names.is_empty() && !names.contains(&img.name.as_str()) {
            r.failures.push(format!(
                "image {}@sha256:{}: the audit saw that digest for {}, not for {}",
                img.name,
                signoff::short(&img.digest),
                names.join(", "),
                img.name
            ));
        } else {
            r.notes.push(format!(
                "image {}@sha256:{} seen by the audit",
                img.name,
                signoff::short(&img.digest)
            ));
        }
    }
    // 5. The sign-offs.
    r.notes.extend(log_problems);
    let required = report
        .trust
        .as_ref()
        .map(|t| t.signoffs_required.clone())
        .unwrap_or_default();
    if required.is_empty() {
        r.notes.push("the policy requires no sign-offs".into());
    }
    match signoff::check(&entries, &digest, allowed.as_deref(), &required) {
        Ok(c) => {
            r.failures.extend(c.failures);
            r.notes.extend(c.notes);
        }
        Err(e) => return Err(BadInput(e.to_string())),
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs() {
        let d = "a".repeat(64);
        let i = ImageRef::parse(&format!("ghcr.io/acme/app:1.2@sha256:{d}")).unwrap();
        assert_eq!(i.name, "ghcr.io/acme/app");
        assert!(ImageRef::parse("ghcr.io/acme/app:1.2").is_none());
        assert_eq!(repository("localhost:5000/app"), "localhost:5000/app");
    }

    #[test]
    fn digests_are_found_in_evidence() {
        let d = "b".repeat(64);
        let v = serde_json::json!({"x": {"stdout": format!("image: reg/app:1@sha256:{d}\n")},
            "y": {"value": {"digest": format!("sha256:{}", "c".repeat(64))}}});
        let seen = seen_images(&v);
        assert!(seen.contains(&(Some("reg/app".into()), d)));
        assert!(seen.contains(&(None, "c".repeat(64))));
    }
}
