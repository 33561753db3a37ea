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
    /// What the deployer demands — never read from the bundle being checked.
    pub demands: Demands,
}

/// The verifier's own requirements (`verify` flags). A bundle audited with a throwaway policy,
/// for another environment, long ago, or below the deployer's bar is refused.
#[derive(Debug, Clone, Default)]
pub struct Demands {
    /// The effective policy's digest must be exactly this (`policy show` prints it).
    pub policy_sha256: Option<String>,
    /// The central policy the bundle's policy extends must be exactly this (sha256 of its bytes).
    pub central_sha256: Option<String>,
    pub env: Option<String>,
    pub min_score: Option<f64>,
    /// Longest time between the audit (`now` of the bundle) and `at`.
    pub max_age: Option<chrono::Duration>,
    /// The verify time.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Sign-offs required on top of what the bundle's policy asks.
    pub signoffs: Vec<crate::policy::model::SignoffRequirement>,
    /// Accept command results that came from the cache (never a default).
    pub allow_cached: bool,
    /// Accept pending rules (non-blocking ones; a pending blocking rule never verifies).
    pub allow_pending: bool,
    /// Accept an audit whose cluster evidence is a simulated snapshot (never a default).
    pub allow_simulated: bool,
    /// The bundle must carry an auditor signature by this principal.
    pub auditor: Option<String>,
}

/// `30m`, `24h`, `7d`, `3600s` (or plain seconds) as a duration.
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok()?;
    match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    }
}

/// `ROLE` or `ROLE=N`.
pub fn parse_signoff(s: &str) -> Option<crate::policy::model::SignoffRequirement> {
    let (role, count) = match s.split_once('=') {
        Some((r, n)) => (r.trim(), n.trim().parse().ok()?),
        None => (s.trim(), 1),
    };
    (!role.is_empty() && count > 0).then(|| crate::policy::model::SignoffRequirement {
        role: role.to_string(),
        count,
    })
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
    let (entries, log_problems) = signoff_log(o)?;
    let mut r = VerifyReport::default();
    let digest = check_integrity(&bundle, &mut r);
    // What the deployer demands, the verdict recomputed, the auditor's signature.
    check_demands(&bundle, &o.demands, &mut r);
    check_recomputed(&bundle, &mut r);
    check_auditor(o, &bundle, allowed.as_deref(), &mut r)?;
    check_commit(&bundle, &commit, &o.commit, &mut r);
    check_images(&bundle, &images, &mut r);
    r.notes.extend(log_problems);
    check_signoffs(o, &bundle, &digest, &entries, allowed.as_deref(), &mut r)?;
    Ok(r)
}

/// The sign-off log (given, else beside the bundle; an absent default log is no sign-off) and
/// the lines of it that are not sign-offs.
#[allow(clippy::type_complexity)]
fn signoff_log(o: &VerifyOptions) -> Result<(Vec<signoff::SignoffEntry>, Vec<String>), BadInput> {
    let log = o.signoffs.clone().unwrap_or_else(|| {
        o.bundle
            .parent()
            .unwrap_or(Path::new("."))
            .join(signoff::LOG_NAME)
    });
    match signoff::read_log(&log) {
        Ok(x) => Ok(x),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && o.signoffs.is_none() => {
            Ok((vec![], vec![]))
        }
        Err(e) => Err(BadInput(format!(
            "cannot read sign-offs `{}`: {e}",
            log.display()
        ))),
    }
}

/// Steps 1 and 2: the bundle is what the audit wrote, and its verdict. Returns the digest computed.
fn check_integrity(bundle: &Bundle, r: &mut VerifyReport) -> String {
    let report = &bundle.report;
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
    digest
}

/// Step 3: the audit describes the commit that ships, and saw no uncommitted change.
fn check_commit(bundle: &Bundle, commit: &str, given: &str, r: &mut VerifyReport) {
    match &bundle.report.provenance.repository {
        None => r
            .failures
            .push("the audit was not taken in a git repository, so it describes no commit".into()),
        Some(h) => {
            if !h.sha.to_ascii_lowercase().starts_with(commit) {
                r.failures.push(format!(
                    "the audit was taken at commit {}, not {}",
                    h.sha, given
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
}

/// Step 4, the images: only images the audit recorded with their name, from manifests or cluster
/// objects. A digest mentioned in prose or command output binds nothing.
fn check_images(bundle: &Bundle, images: &[ImageRef], r: &mut VerifyReport) {
    let seen = recorded_images(bundle);
    for img in images {
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
}

/// Step 5: the sign-offs the policy and the deployer require, verified against allowed_signers.
fn check_signoffs(
    o: &VerifyOptions,
    bundle: &Bundle,
    digest: &str,
    entries: &[signoff::SignoffEntry],
    allowed: Option<&str>,
    r: &mut VerifyReport,
) -> Result<(), BadInput> {
    let mut required = bundle
        .report
        .trust
        .as_ref()
        .map(|t| t.signoffs_required.clone())
        .unwrap_or_default();
    for d in &o.demands.signoffs {
        match required.iter_mut().find(|x| x.role == d.role) {
            Some(x) => x.count = x.count.max(d.count),
            None => required.push(d.clone()),
        }
    }
    if required.is_empty() {
        r.notes.push("the policy requires no sign-offs".into());
    }
    match signoff::check(entries, digest, allowed, &required) {
        Ok(c) => {
            r.failures.extend(c.failures);
            r.notes.extend(c.notes);
        }
        Err(e) => return Err(BadInput(e.to_string())),
    }
    Ok(())
}

/// The deployer's demands, each refused with its reason.
fn check_demands(bundle: &Bundle, d: &Demands, r: &mut VerifyReport) {
    let report = &bundle.report;
    let p = &report.provenance;
    if let Some(want) = &d.policy_sha256
        && !p.policy_sha256.eq_ignore_ascii_case(want.trim())
    {
        r.failures.push(format!(
            "the audit used policy sha256 {}, not the required {} (`shipshape policy show` prints a policy's digest)",
            p.policy_sha256,
            want.trim()
        ));
    }
    if let Some(want) = &d.central_sha256 {
        let central = report.trust.as_ref().and_then(|t| t.central.as_ref());
        match central {
            Some(c) if c.sha256.eq_ignore_ascii_case(want.trim()) => r
                .notes
                .push(format!("central policy {} sha256 {}", c.name, c.sha256)),
            Some(c) => r.failures.push(format!(
                "the audit's policy extends central policy sha256 {}, not the required {}",
                c.sha256,
                want.trim()
            )),
            None => r.failures.push(format!(
                "the audit's policy extends no central policy; {} is required",
                want.trim()
            )),
        }
    }
    if let Some(env) = &d.env
        && report.env != *env
    {
        r.failures.push(format!(
            "the audit was for environment `{}`, not `{env}`",
            report.env
        ));
    }
    if let Some(min) = d.min_score
        && !(report.score.value.is_finite() && report.score.value >= min)
    {
        r.failures.push(format!(
            "score {}/10 is below the required {min}",
            report.score.shown
        ));
    }
    if let Some(max) = d.max_age {
        match chrono::DateTime::parse_from_rfc3339(&report.now) {
            Ok(t) => {
                let age = d.at - t.with_timezone(&chrono::Utc);
                if age > max {
                    r.failures.push(format!(
                        "the audit is {} hour(s) old, older than the allowed {} hour(s)",
                        age.num_hours(),
                        max.num_hours()
                    ));
                } else if age < -chrono::Duration::minutes(5) {
                    r.failures.push(format!(
                        "the audit is dated {}, after the verify time",
                        report.now
                    ));
                }
            }
            Err(_) => r
                .failures
                .push(format!("the audit time `{}` is not a time", report.now)),
        }
    }
    if !bundle.run.cached.is_empty() && !d.allow_cached {
        r.failures.push(format!(
            "{} command result(s) came from the cache, not from this audit (rerun with --no-cache, or accept with --allow-cached)",
            bundle.run.cached.len()
        ));
    }
    if let Some(c) = report.provenance.cluster.as_ref().filter(|c| c.simulated)
        && !d.allow_simulated
    {
        r.failures.push(format!(
            "the cluster evidence is simulated, not recorded ({}): accept it only for a demo, with --allow-simulated",
            c.files.join(", ")
        ));
    }
    let pending: Vec<&str> = bundle
        .outcomes
        .iter()
        .filter(|o| o.status == crate::evaluate::Status::Pending)
        .map(|o| o.rule.as_str())
        .collect();
    if !pending.is_empty() && !d.allow_pending {
        r.failures.push(format!(
            "{} rule(s) are pending — their evidence was not collected: {} (accept non-blocking ones with --allow-pending)",
            pending.len(),
            pending.join(", ")
        ));
    }
}

/// The score and verdict recomputed from the bundle's own outcomes and weights: a bundle whose
/// recorded verdict or score disagrees with them is refused.
fn check_recomputed(bundle: &Bundle, r: &mut VerifyReport) {
    use crate::evaluate::Status;
    use crate::policy::model::Severity;
    let report = &bundle.report;
    let mut problems = Vec::new();
    let status_of: std::collections::BTreeMap<&str, Status> = bundle
        .outcomes
        .iter()
        .map(|o| (o.rule.as_str(), o.status))
        .collect();
    let (mut sum, mut total) = (0.0, 0.0);
    for a in &report.score.areas {
        let rows = report
            .areas
            .iter()
            .filter(|s| s.id == a.area)
            .flat_map(|s| s.rules.iter());
        let (mut passed, mut applicable) = (0.0, 0.0);
        for row in rows {
            if status_of.get(row.id.as_str()) != Some(&row.status) {
                problems.push(format!("rule `{}` has two different outcomes", row.id));
            }
            if row.severity == Severity::Info || row.status == Status::Skipped {
                continue;
            }
            applicable += row.weight;
            if matches!(row.status, Status::Pass | Status::Waived) {
                passed += row.weight;
            }
        }
        if (passed - a.passed_weight).abs() > 1e-9
            || (applicable - a.applicable_weight).abs() > 1e-9
        {
            problems.push(format!("area `{}` does not add up", a.area));
        }
        if applicable > 0.0 {
            sum += a.weight * passed / applicable;
            total += a.weight;
        }
    }
    let value = if total > 0.0 { sum / total * 10.0 } else { 0.0 };
    if (value - report.score.value).abs() > 1e-9 {
        problems.push(format!(
            "the recorded score {} is not what its outcomes give ({value:.4})",
            report.score.value
        ));
    }
    let blocked = bundle.outcomes.iter().any(|o| {
        o.severity == Severity::Blocking && matches!(o.status, Status::Fail | Status::Pending)
    });
    let central_short = report
        .score
        .central
        .as_ref()
        .is_some_and(|c| !(c.value.is_finite() && c.value >= c.threshold));
    let approved = !blocked && value >= report.score.threshold && !central_short;
    if report.verdict == Verdict::Approved && (!approved || !report.reasons.is_empty()) {
        problems.push("the recorded verdict APPROVED is not what its outcomes give".into());
    }
    if problems.is_empty() {
        r.notes
            .push("verdict and score recomputed from the outcomes: they agree".into());
    } else {
        r.failures.push(format!(
            "the bundle contradicts itself: {}",
            problems.join("; ")
        ));
    }
}

/// The auditor's signature: required with `--require-auditor`, reported otherwise.
fn check_auditor(
    o: &VerifyOptions,
    bundle: &Bundle,
    allowed: Option<&str>,
    r: &mut VerifyReport,
) -> Result<(), BadInput> {
    let sig = crate::trust::auditor::sig_path(&o.bundle);
    match (&o.demands.auditor, allowed) {
        (Some(_), None) => Err(BadInput(
            "--require-auditor needs --allowed-signers (the auditor's public key)".into(),
        )),
        (Some(who), Some(allowed)) => {
            match crate::trust::auditor::check(&o.bundle, bundle, allowed, who)
                .map_err(|e| BadInput(e.to_string()))?
            {
                Ok(()) => r.notes.push(format!("signed by the auditor `{who}`")),
                Err(why) => r.failures.push(why),
            }
            Ok(())
        }
        (None, _) if sig.exists() => {
            r.notes.push(format!(
                "an auditor signature is present ({}) but was not checked: give --require-auditor PRINCIPAL",
                sig.display()
            ));
            Ok(())
        }
        (None, _) => {
            r.notes.push(
                "the bundle is not signed by an auditor: its sha256 guards against accidents only"
                    .into(),
            );
            Ok(())
        }
    }
}

/// Images the audit recorded with their name: the `image` of every container of every
/// manifests or cluster object. Sorted, unique.
pub fn recorded_images(bundle: &Bundle) -> Vec<(Option<String>, String)> {
    let mut out = BTreeSet::new();
    for item in bundle.evidence.values() {
        if !matches!(
            item.request,
            crate::collect::Request::Manifests(_) | crate::collect::Request::Cluster(_)
        ) {
            continue;
        }
        let Ok(v) = item.as_result() else { continue };
        let mut stack: Vec<&Value> = v.get("objects").into_iter().collect();
        while let Some(v) = stack.pop() {
            match v {
                Value::Array(a) => stack.extend(a.iter()),
                Value::Object(m) => {
                    if let Some(img) = m.get("image").and_then(Value::as_str)
                        && let Some(i) = ImageRef::parse(img)
                    {
                        out.insert((Some(i.name), i.digest));
                    }
                    stack.extend(m.values());
                }
                _ => {}
            }
        }
    }
    out.into_iter().collect()
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
