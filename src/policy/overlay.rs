//! Central policy and local overlay. `[audit] extends` names a central policy (pinned by the
//! sha256 of its bytes, or built in); the file that extends it is an *overlay* that may only
//! tighten it. `include` merges freely; `extends` is the gate a platform team controls, so every
//! way an overlay could loosen it is a policy error naming what was loosened, where.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::model::*;
use super::{Diagnostic, GLOBALS, Loaded, Loader, Location, origin_of_file};

/// `[audit]` keys whose position is remembered, for messages about them.
pub(super) const AUDIT_KEYS: &[&str] = &[
    "extends",
    "extends_sha256",
    "approve_min_score",
    "stale_after_days",
    "require_clean",
    "signoffs_required",
    "approved_statuses",
    "environments",
    "default_env",
    "publish_dir",
    "waivers_file",
];

/// `[[override]]` keys whose position is remembered.
pub(super) const OVERRIDE_KEYS: &[&str] = &[
    "rule",
    "severity",
    "weight",
    "expect",
    "evidence",
    "environments",
    "area",
    "disabled",
    "enabled",
    "disable",
];

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Blocking => 2,
    }
}

/// Load the central policy named by `extends` and check its pin. Everything the loader reads
/// before this call returns is the central policy.
pub(super) fn load_central(
    l: &mut Loader,
    ext: &str,
    pin: Option<(String, Origin)>,
    origin: Origin,
    base: Option<&Path>,
) {
    if l.stack.len() > 1 || l.central_end.is_some() {
        l.diags.push(Diagnostic {
            origin,
            message: "only the policy audited with may extend a central policy (an included or central file cannot)".into(),
        });
        return;
    }
    let loc = Location::parse(ext, base);
    let is_file = matches!(loc, Location::File(_));
    let first = l.sources.len();
    l.pinned = is_file;
    l.load_file(&loc, Some(origin.clone()));
    l.pinned = false;
    let source = l.sources.get(first).cloned();
    match (&source, &pin) {
        (Some(src), Some((want, at))) if !src.sha256.eq_ignore_ascii_case(want.trim()) => {
            l.diags.push(Diagnostic {
                origin: at.clone(),
                message: format!(
                    "central policy `{}` has sha256 {}, but extends_sha256 pins {}: the central policy changed; review it, then update the pin",
                    src.name,
                    src.sha256,
                    want.trim()
                ),
            })
        }
        (Some(src), None) if is_file => l.diags.push(Diagnostic {
            origin: origin.clone(),
            message: format!(
                "extends `{ext}`: a central policy file must be pinned with extends_sha256 (its sha256 is {})",
                src.sha256
            ),
        }),
        _ => {}
    }
    l.central_end = Some(l.files.len());
    l.central_source = source;
}

/// The central `[audit]` as the overlay sees it: central files folded, later keys winning.
fn fold_audit(files: &[Loaded]) -> AuditRaw {
    let mut a = AuditRaw::default();
    for f in files {
        let Some(x) = &f.raw.audit else { continue };
        macro_rules! over {
            ($($k:ident),*) => { $( if x.$k.is_some() { a.$k = x.$k.clone(); } )* };
        }
        over!(
            approve_min_score,
            environments,
            default_env,
            approved_statuses,
            stale_after_days,
            publish_dir,
            require_clean
        );
        if let Some(req) = &x.signoffs_required {
            a.signoffs_required = Some(merge_signoffs(
                a.signoffs_required.take().unwrap_or_default(),
                req,
            ));
        }
    }
    a
}

fn fold_waivers(files: &[Loaded]) -> Option<WaiversRaw> {
    let mut out: Option<WaiversRaw> = None;
    for f in files {
        let Some(w) = &f.raw.waivers else { continue };
        let acc = out.get_or_insert_with(WaiversRaw::default);
        if let Some(m) = &w.max_days {
            let d = acc.max_days.get_or_insert_with(MaxDays::default);
            d.blocking = m.blocking.or(d.blocking);
            d.warning = m.warning.or(d.warning);
            d.info = m.info.or(d.info);
        }
        if w.approvers.is_some() {
            acc.approvers = w.approvers.clone();
        }
        if w.require_ticket.is_some() {
            acc.require_ticket = w.require_ticket;
        }
    }
    out
}

/// Sign-off requirements add up: every role, with the highest count any file asks for.
fn merge_signoffs(
    mut acc: Vec<SignoffRequirement>,
    more: &[SignoffRequirement],
) -> Vec<SignoffRequirement> {
    for r in more {
        match acc.iter_mut().find(|a| a.role == r.role) {
            Some(a) => a.count = a.count.max(r.count),
            None => acc.push(r.clone()),
        }
    }
    acc
}

/// Every way the overlay files (`files[central_end..]`) loosen the central policy. Returns the
/// overlay rules that redefine a central rule, which the merge leaves out.
pub(super) fn check_overlay(
    files: &[Loaded],
    central_end: Option<usize>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<(usize, usize)> {
    let Some(end) = central_end else {
        return BTreeSet::new();
    };
    let (central, overlay) = files.split_at(end.min(files.len()));
    let redefined = overlay_rules(central, overlay, end, diags);
    overlay_cluster(central, overlay, diags);
    overlay_globs(central, overlay, diags);
    let c = fold_audit(central);
    let cw = fold_waivers(central).unwrap_or_default();
    for f in overlay {
        overlay_audit(&c, f, diags);
        overlay_waivers(&cw, f, diags);
        overlay_text_settings(f, diags);
    }
    redefined
}

fn loosen(origin: Origin, what: String) -> Diagnostic {
    Diagnostic {
        origin,
        message: format!("overlay loosens the central policy: {what}"),
    }
}

/// Rules: an overlay adds rules; it never redefines a central one, and never lets its own
/// rules pass over evidence that matched nothing.
fn overlay_rules(
    central: &[Loaded],
    overlay: &[Loaded],
    end: usize,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<(usize, usize)> {
    let mut redefined = BTreeSet::new();
    let mut central_rules: BTreeMap<&str, &Origin> = BTreeMap::new();
    for f in central {
        for (r, o) in f.raw.rule.iter().zip(&f.rule_origins) {
            central_rules.entry(r.id.as_str()).or_insert(o);
        }
    }
    for (k, f) in overlay.iter().enumerate() {
        for (ri, r) in f.raw.rule.iter().enumerate() {
            if r.allow_empty.is_some() {
                let at = f
                    .rule_field_origins
                    .get(ri)
                    .and_then(|m| m.get("allow_empty"))
                    .or_else(|| f.rule_origins.get(ri))
                    .cloned()
                    .unwrap_or_else(|| origin_of_file(&f.name));
                diags.push(loosen(at, format!(
                    "rule `{}` sets allow_empty: only the central policy may let a rule pass over evidence that matched nothing",
                    r.id
                )));
            }
            if let Some(co) = central_rules.get(r.id.as_str()) {
                let at = f
                    .rule_field_origins
                    .get(ri)
                    .and_then(|m| m.get("id"))
                    .or_else(|| f.rule_origins.get(ri))
                    .cloned()
                    .unwrap_or_else(|| origin_of_file(&f.name));
                diags.push(loosen(at, format!(
                    "rule `{}` redefines the central rule of the same id (defined at {co}), which could change its evidence, expect, severity or weight; tighten it with [[override]] rule = \"{}\" instead",
                    r.id, r.id
                )));
                redefined.insert((end + k, ri));
            }
        }
    }

    redefined
}

/// [cluster]: where cluster evidence comes from is the central policy's choice when its rules
/// read the cluster (an overlay could point them at a snapshot of its own making).
fn overlay_cluster(central: &[Loaded], overlay: &[Loaded], diags: &mut Vec<Diagnostic>) {
    let central_reads_cluster = central.iter().any(|f| {
        f.raw
            .rule
            .iter()
            .any(|r| r.evidence.values().any(|e| e.cluster.is_some()))
    });
    if central_reads_cluster {
        for f in overlay.iter().filter(|f| f.raw.cluster.is_some()) {
            diags.push(loosen(
                origin_of_file(&f.name),
                "[cluster] set by an overlay, but the central policy has cluster rules: their source (snapshot or context) is the central policy's, or the command line's".into(),
            ));
        }
    }
}

/// [globs]: the glob sets the central rules read are the central policy's; an overlay could
/// shrink one to nothing (or widen `non-production` to everything) and empty its rules.
fn overlay_globs(central: &[Loaded], overlay: &[Loaded], diags: &mut Vec<Diagnostic>) {
    let central_names: BTreeSet<&str> = central
        .iter()
        .flat_map(|f| f.raw.globs.iter().flatten().map(|(k, _)| k.as_str()))
        .chain(std::iter::once("non-production"))
        .collect();
    for f in overlay {
        for name in f.raw.globs.iter().flatten().map(|(k, _)| k.as_str()) {
            if central_names.contains(name) {
                diags.push(loosen(
                    f.globs_origin
                        .clone()
                        .unwrap_or_else(|| origin_of_file(&f.name)),
                    format!("[globs] redefines `{name}`, a glob set of the central policy's rules"),
                ));
            }
        }
    }
}

/// [audit]: thresholds may only rise, windows only narrow, the rest stays the central's.
fn overlay_audit(c: &AuditRaw, f: &Loaded, diags: &mut Vec<Diagnostic>) {
    let c_min = c.approve_min_score.unwrap_or(8.0);
    let c_stale = c.stale_after_days.unwrap_or(92);
    let c_clean = c.require_clean.unwrap_or(false);
    let c_statuses = c.approved_statuses.clone().unwrap_or_else(|| {
        ["PASS", "APPROVED", "COMPLETED", "READY"]
            .map(String::from)
            .to_vec()
    });
    let c_envs = c
        .environments
        .clone()
        .unwrap_or_else(|| vec!["prod".into()]);
    let c_default = c
        .default_env
        .clone()
        .or_else(|| c_envs.first().cloned())
        .unwrap_or_else(|| "prod".into());
    let c_publish = c
        .publish_dir
        .clone()
        .unwrap_or_else(|| "docs/operations-artifacts".into());
    let file_origin = origin_of_file(&f.name);
    let at = |key: &str| {
        f.audit_key_origins
            .get(key)
            .or(f.audit_origin.as_ref())
            .cloned()
            .unwrap_or_else(|| file_origin.clone())
    };
    if let Some(a) = &f.raw.audit {
        if let Some(v) = a.approve_min_score
            && v < c_min
        {
            diags.push(loosen(
                at("approve_min_score"),
                format!("[audit] approve_min_score lowered from {c_min} to {v} (an overlay may only raise it)"),
            ));
        }
        if let Some(v) = a.stale_after_days
            && v > c_stale
        {
            diags.push(loosen(
                at("stale_after_days"),
                format!("[audit] stale_after_days widened from {c_stale} to {v} days (an overlay may only narrow the freshness window)"),
            ));
        }
        if a.require_clean == Some(false) && c_clean {
            diags.push(loosen(
                at("require_clean"),
                "[audit] require_clean turned off (the central policy requires a clean work tree)"
                    .into(),
            ));
        }
        if let Some(list) = &a.approved_statuses {
            for s in list.iter().filter(|s| !c_statuses.contains(s)) {
                diags.push(loosen(
                    at("approved_statuses"),
                    format!("[audit] approved_statuses adds `{s}`, which the central policy does not count as done"),
                ));
            }
        }
        if let Some(v) = &a.environments
            && *v != c_envs
        {
            diags.push(loosen(
                at("environments"),
                format!("[audit] environments changed from {c_envs:?} to {v:?} (the central policy owns them)"),
            ));
        }
        if let Some(v) = &a.default_env
            && *v != c_default
        {
            diags.push(loosen(
                at("default_env"),
                format!("[audit] default_env changed from `{c_default}` to `{v}` (rules for `{c_default}` would be skipped)"),
            ));
        }
        if let Some(v) = &a.publish_dir
            && *v != c_publish
        {
            diags.push(loosen(
                at("publish_dir"),
                format!("[audit] publish_dir changed from `{c_publish}` to `{v}` (files there are never scanned)"),
            ));
        }
        for r in a.signoffs_required.iter().flatten() {
            if let Some(cr) = c
                .signoffs_required
                .iter()
                .flatten()
                .find(|x| x.role == r.role && x.count > r.count)
            {
                diags.push(loosen(
                    at("signoffs_required"),
                    format!(
                        "[audit] signoffs_required lowers role `{}` from {} to {} sign-off(s)",
                        r.role, cr.count, r.count
                    ),
                ));
            }
        }
    }
}

/// [waivers]: lifetimes only shorter, approvers only fewer, a ticket never optional again.
fn overlay_waivers(cw: &WaiversRaw, f: &Loaded, diags: &mut Vec<Diagnostic>) {
    if let Some(w) = &f.raw.waivers {
        let at = f
            .waivers_origin
            .clone()
            .unwrap_or_else(|| origin_of_file(&f.name));
        let cm = cw.max_days.clone().unwrap_or_default();
        for sev in [Severity::Blocking, Severity::Warning, Severity::Info] {
            let o = w.max_days.as_ref().and_then(|m| m.get(sev));
            if let (Some(o), Some(c)) = (o, cm.get(sev))
                && o > c
            {
                diags.push(loosen(
                    at.clone(),
                    format!(
                        "[waivers] max_days.{} raised from {c} to {o} days",
                        sev.as_str()
                    ),
                ));
            }
        }
        if let (Some(o), Some(c)) = (&w.approvers, &cw.approvers) {
            for a in o.iter().filter(|a| !c.contains(a)) {
                diags.push(loosen(
                    at.clone(),
                    format!("[waivers] approvers adds `{a}`, whom the central policy does not allow to approve"),
                ));
            }
        }
        if w.require_ticket == Some(false) && cw.require_ticket == Some(true) {
            diags.push(loosen(
                at.clone(),
                "[waivers] require_ticket turned off".into(),
            ));
        }
    }
}

/// [placeholders] disable and [redact] patterns: an overlay may not switch checks off or hide
/// evidence from the central rules.
fn overlay_text_settings(f: &Loaded, diags: &mut Vec<Diagnostic>) {
    let file_origin = origin_of_file(&f.name);
    if let Some(p) = &f.raw.placeholders {
        for k in p.disable.iter().flatten() {
            diags.push(loosen(
                file_origin.clone(),
                format!("[placeholders] disable = [\"{k}\"] switches off a placeholder kind the central policy checks"),
            ));
        }
    }
    if f.raw
        .redact
        .as_ref()
        .is_some_and(|r| !r.patterns.is_empty())
    {
        diags.push(loosen(
            file_origin.clone(),
            "[redact] patterns in an overlay could hide evidence from the central rules; add them to the central policy".into(),
        ));
    }
}

/// Apply every `[[override]]`: severity and weight may only rise, `expect` is appended, and a
/// key that would loosen the rule (evidence, environments, area, disabling) is an error.
pub(super) fn apply_overrides(files: &[Loaded], rules: &mut [Rule], diags: &mut Vec<Diagnostic>) {
    for f in files {
        for (ov, (o, fields)) in f.raw.overrides.iter().zip(&f.override_origins) {
            let at = |key: &str| fields.get(key).cloned().unwrap_or_else(|| o.clone());
            let Some(rule) = rules.iter_mut().find(|r| r.id == ov.rule) else {
                diags.push(Diagnostic {
                    origin: at("rule"),
                    message: format!("override for unknown rule `{}`", ov.rule),
                });
                continue;
            };
            let err = |key: &str, what: String| Diagnostic {
                origin: at(key),
                message: format!("override of rule `{}` loosens it: {what}", ov.rule),
            };
            if ov.evidence.is_some() {
                diags.push(err(
                    "evidence",
                    "it cannot change the rule's evidence (append to `expect` instead)".into(),
                ));
            }
            if ov.environments.is_some() {
                diags.push(err(
                    "environments",
                    "it cannot change the environments the rule applies to".into(),
                ));
            }
            if ov.area.is_some() {
                diags.push(err(
                    "area",
                    "it cannot move the rule to another area".into(),
                ));
            }
            for key in ["disabled", "enabled", "disable"] {
                let set = match key {
                    "disabled" => &ov.disabled,
                    "enabled" => &ov.enabled,
                    _ => &ov.disable,
                };
                if set.is_some() {
                    diags.push(err(key, format!("`{key}`: a rule cannot be disabled")));
                }
            }
            if let Some(s) = ov.severity {
                if rank(s) < rank(rule.severity) {
                    diags.push(err(
                        "severity",
                        format!(
                            "severity lowered from {} to {}",
                            rule.severity.as_str(),
                            s.as_str()
                        ),
                    ));
                } else {
                    rule.severity = s;
                }
            }
            if let Some(w) = ov.weight {
                if !w.is_finite() {
                    diags.push(err(
                        "weight",
                        format!("weight must be a finite number above 0, not {w}"),
                    ));
                } else if w < rule.weight {
                    diags.push(err(
                        "weight",
                        format!("weight lowered from {} to {w}", rule.weight),
                    ));
                } else {
                    rule.weight = w;
                }
            }
            for (ei, e) in ov.expect.iter().enumerate() {
                let eo = at(&format!("expect.{ei}"));
                match crate::evaluate::cel::check(e.get_ref()) {
                    Err(se) => diags.push(Diagnostic {
                        origin: eo,
                        message: format!(
                            "override of rule `{}`: expect[{ei}] does not compile: {}",
                            ov.rule, se.message
                        ),
                    }),
                    Ok(names) => {
                        let bad: Vec<String> = names
                            .into_iter()
                            .filter(|n| {
                                !rule.evidence.contains_key(n) && !GLOBALS.contains(&n.as_str())
                            })
                            .collect();
                        if bad.is_empty() {
                            rule.expect.push(e.get_ref().clone());
                            rule.expect_origins.push(eo.clone());
                        }
                        for n in bad {
                            diags.push(Diagnostic {
                                origin: eo.clone(),
                                message: format!(
                                    "override of rule `{}`: expect[{ei}] uses `{n}`, which the rule does not declare (declared: {})",
                                    ov.rule,
                                    rule.evidence.keys().cloned().collect::<Vec<_>>().join(", ")
                                ),
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The trust settings of the merged policy.
pub(super) fn trust_policy(files: &[Loaded], l: &Loader, require_clean: bool) -> TrustPolicy {
    let mut signoffs = Vec::new();
    let mut waivers_file = None;
    for f in files {
        if let Some(a) = &f.raw.audit {
            if let Some(req) = &a.signoffs_required {
                signoffs = merge_signoffs(signoffs, req);
            }
            if let Some(wf) = &a.waivers_file {
                waivers_file = Some(match &f.base {
                    Some(b) => b.join(wf),
                    None => wf.into(),
                });
            }
        }
    }
    let waivers = fold_waivers(files).map(|w| WaiverGovernance {
        max_days: w.max_days.unwrap_or_default(),
        approvers: w.approvers,
        require_ticket: w.require_ticket.unwrap_or(false),
    });
    let central_min_score = l.central_end.map(|end| {
        fold_audit(&files[..end.min(files.len())])
            .approve_min_score
            .unwrap_or(8.0)
    });
    TrustPolicy {
        central_min_score,
        central: l.central_source.clone(),
        overlay: l.central_end.and_then(|_| l.sources.first().cloned()),
        require_clean,
        signoffs_required: signoffs,
        waivers,
        waivers_file,
    }
}
