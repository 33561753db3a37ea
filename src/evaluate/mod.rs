//! Evaluation is pure: `(policy, evidence, env, now) → outcomes → score → verdict`. Nothing here
//! touches the file system, so the same evidence always gives the same verdict.

pub mod cel;
mod fields;
pub mod offenders;
pub mod score;
pub mod shared;

pub use offenders::Offender;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::collect::{Item, Request};
use crate::policy::model::{Policy, Rule, Severity, Waiver};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Hash,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Pending,
    Waived,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Pending => "pending",
            Status::Waived => "waived",
            Status::Skipped => "skipped",
        }
    }
}

/// A file and line a finding points at.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is at that place (a placeholder, a matched line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}", self.path),
            None => write!(f, "{}", self.path),
        }
    }
}

/// The waiver that applied to (or lapsed on) a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WaiverNote {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub expired: bool,
    pub days_left: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    pub rule: String,
    pub status: Status,
    /// What the outcome would be without a waiver.
    pub underlying: Status,
    pub severity: Severity,
    /// The human sentence: why it passed, failed or is pending.
    pub sentence: String,
    /// Context: the places the rule's evidence came from (not all of them are gaps).
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverNote>,
    pub warnings: Vec<String>,
    /// What a failing or pending rule is about, one entry per offender, none dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offenders: Vec<Offender>,
    /// The failed CEL comparisons with their values, for `explain` and the JSON.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Context places kept per rule (offenders are never capped).
const MAX_LOCATIONS: usize = 12;

/// Evaluate every rule of `policy` over the collected evidence.
///
/// Each piece of evidence a rule reads is converted to a CEL value once per run (not once per
/// rule), and rules are evaluated on as many threads as the machine has; outcomes keep policy
/// order.
pub fn evaluate(
    policy: &Policy,
    evidence: &BTreeMap<String, Item>,
    env: &str,
    now: DateTime<Utc>,
) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    evaluate_with(policy, evidence, env, now, threads)
}

/// [`evaluate`] on at most `threads` threads.
pub fn evaluate_with(
    policy: &Policy,
    evidence: &BTreeMap<String, Item>,
    env: &str,
    now: DateTime<Utc>,
    threads: usize,
) -> Vec<Outcome> {
    // The evidence of the rules that apply to `env`, each request once.
    let mut wanted: Vec<&str> = Vec::new();
    for rule in &policy.rules {
        if applies(rule, env) {
            for request in rule.evidence.values() {
                let key = request.key();
                if let Some((k, _)) = evidence.get_key_value(&key)
                    && !wanted.contains(&k.as_str())
                {
                    wanted.push(k.as_str());
                }
            }
        }
    }
    let converted: Vec<Option<Box<dyn ::cel::common::value::Val + '_>>> =
        parallel_map(&wanted, threads, |key| {
            let item = &evidence[*key];
            match item.as_result() {
                Ok(v) if matches!(item.request, Request::Cluster(_) | Request::Manifests(_)) => {
                    Some(shared::to_val_k8s(v))
                }
                Ok(v) => Some(shared::to_val(v)),
                Err(_) => None,
            }
        });
    let values: BTreeMap<&str, &(dyn ::cel::common::value::Val + '_)> = wanted
        .iter()
        .zip(&converted)
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    let approved = cel::to_cel(&Value::from(policy.audit.approved_statuses.clone()));
    let rules: Vec<&Rule> = policy.rules.iter().collect();
    parallel_map(&rules, threads, |rule| {
        let started = std::time::Instant::now();
        let mut o = evaluate_rule(policy, rule, evidence, &values, &approved, env, now);
        tracing::debug!(rule = %rule.id, ms = started.elapsed().as_millis() as u64, "evaluated");
        let waivers: Vec<&Waiver> = policy
            .waivers
            .iter()
            .filter(|w| w.rule == rule.id)
            .collect();
        apply_finding_waivers(&mut o, &waivers, now);
        apply_waiver(
            &mut o,
            waivers.iter().find(|w| w.finding.is_none()).copied(),
            now,
        );
        o
    })
}

/// `f` over `items` on up to `threads` scoped threads; results in the order of `items`.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

fn applies(rule: &Rule, env: &str) -> bool {
    !rule.deselected
        && rule
            .environments
            .as_ref()
            .is_none_or(|envs| envs.iter().any(|e| e == env))
}

fn evaluate_rule(
    policy: &Policy,
    rule: &Rule,
    evidence: &BTreeMap<String, Item>,
    converted: &BTreeMap<&str, &(dyn ::cel::common::value::Val + '_)>,
    approved: &::cel::Value,
    env: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut outcome = Outcome {
        rule: rule.id.clone(),
        status: Status::Pass,
        underlying: Status::Pass,
        severity: rule.severity,
        sentence: String::new(),
        locations: Vec::new(),
        waiver: None,
        warnings: Vec::new(),
        offenders: Vec::new(),
        detail: String::new(),
    };
    let finish = |mut o: Outcome, status: Status, sentence: String| {
        o.status = status;
        o.underlying = status;
        o.sentence = sentence;
        o
    };
    if rule.deselected {
        return finish(
            outcome,
            Status::Skipped,
            "not checked: a partial run (--rule) left it out".into(),
        );
    }
    if let Some(envs) = &rule.environments
        && !envs.iter().any(|e| e == env)
    {
        return finish(
            outcome,
            Status::Skipped,
            format!("not required for `{env}` (applies to {})", envs.join(", ")),
        );
    }
    let mut bound = shared::Bound { vars: Vec::new() };
    let mut ctx = ::cel::Context::with_env(cel::env());
    ctx.add_variable_from_value("now", ::cel::Value::Timestamp(now.fixed_offset()));
    ctx.add_variable_from_value("env", env.to_string());
    ctx.add_variable_from_value("approved", approved.clone());
    // A rule's own window shadows the policy's (a quarterly drill: `stale_after_days = 92`).
    ctx.add_variable_from_value(
        "stale_after_days",
        rule.stale_after_days
            .unwrap_or(policy.audit.stale_after_days),
    );
    let mut values: Vec<(&str, &Request, &Value)> = Vec::new();
    for (name, request) in &rule.evidence {
        match evidence.get(&request.key()).map(Item::as_result) {
            Some(Ok(v)) => {
                if let Some(c) = converted.get(request.key().as_str()) {
                    bound.vars.push((name.as_str(), *c));
                } else {
                    ctx.add_variable_from_value(name.as_str(), cel::to_cel(v));
                }
                values.push((name.as_str(), request, v));
            }
            Some(Err(reason)) => {
                return finish(
                    outcome,
                    Status::Pending,
                    format!("evidence `{name}` not collected: {reason}"),
                );
            }
            None => {
                return finish(
                    outcome,
                    Status::Pending,
                    format!("evidence `{name}` not collected"),
                );
            }
        }
    }
    ctx.set_variable_resolver(&bound);
    for (_, _, v) in &values {
        locations_of(v, &mut outcome.locations);
    }
    outcome.locations.sort();
    outcome.locations.dedup();
    outcome.locations.truncate(MAX_LOCATIONS);

    let vars: offenders::Vars<'_> = values.iter().map(|(n, _, v)| (*n, *v)).collect();
    let (status, sentence) = expectations(rule, &ctx, &vars, &mut outcome);
    let (status, sentence) = completeness(rule, &values, status, sentence, &mut outcome);
    offenders::fingerprint_all(&rule.id, &mut outcome.offenders);
    finish(outcome, status, sentence)
}

/// Evaluate every `expect` of `rule`: a fail names its offenders (kept in `outcome`) and words
/// the failure; an expression that is not a boolean, or cannot be evaluated, leaves the rule
/// pending.
fn expectations(
    rule: &Rule,
    ctx: &::cel::Context<'_, '_>,
    vars: &offenders::Vars<'_>,
    outcome: &mut Outcome,
) -> (Status, String) {
    // Where the expression is written, for an error at run time.
    let at = |i: usize| {
        rule.expect_origins
            .get(i)
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    };
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    let mut found: Vec<Vec<Offender>> = Vec::new();
    for (i, expr) in rule.expect.iter().enumerate() {
        match cel::eval(expr, ctx) {
            Ok(::cel::Value::Bool(true)) => {}
            Ok(::cel::Value::Bool(false)) => {
                found.push(offenders::find(expr, ctx, vars));
                failures.push(cel::explain(expr, ctx));
                // An absent file makes every later expectation fail too; say the cause only.
                if offenders::is_absence(expr, ctx) {
                    break;
                }
            }
            Ok(other) => errors.push(format!(
                "expect[{i}]{} gave {}, not true or false",
                at(i),
                cel::show(&other)
            )),
            Err(e) => errors.push(format!("expect[{i}]{} could not be evaluated: {e}", at(i))),
        }
    }
    if !failures.is_empty() {
        outcome.detail = failures.join("; ");
        let found = distinct(found);
        let sentence = headline(rule.fail_message.as_deref(), &found);
        outcome.offenders = found
            .into_iter()
            .flatten()
            .map(|mut o| {
                o.sentence = sentence_of(rule.fail_message.as_deref(), &o);
                o
            })
            .collect();
        (Status::Fail, sentence)
    } else if !errors.is_empty() {
        (Status::Pending, errors.join("; "))
    } else {
        let sentence = rule
            .pass_message
            .clone()
            .or_else(|| rule.description.clone())
            .unwrap_or_else(|| format!("all {} expectation(s) hold", rule.expect.len()));
        (Status::Pass, sentence)
    }
}

/// Each offender once: one an earlier expectation already found (the status line that is also
/// a placeholder) is not repeated; repeats within one list (two `TBD` on a line) are kept.
fn distinct(found: Vec<Vec<Offender>>) -> Vec<Vec<Offender>> {
    let mut seen: Vec<(Option<String>, Option<usize>, String)> = Vec::new();
    let mut out = Vec::with_capacity(found.len());
    for list in found {
        let kept: Vec<Offender> = list
            .into_iter()
            .filter(|o| !seen.contains(&(o.path.clone(), o.line, o.key.clone())))
            .collect();
        seen.extend(kept.iter().map(|o| (o.path.clone(), o.line, o.key.clone())));
        out.push(kept);
    }
    out
}

/// One offender's sentence: the rule's `fail_message` for it (alone when shipshape's own
/// wording would be CEL, not plain words), else shipshape's wording.
fn sentence_of(fail_message: Option<&str>, o: &Offender) -> String {
    match fail_message {
        Some(m) if !offenders::placeholders(m).is_empty() => offenders::render(m, o),
        Some(m) if !o.plain => m.to_string(),
        Some(m) => format!("{m}: {}", o.sentence),
        None => o.sentence.clone(),
    }
}

/// The rule's headline: its `fail_message` (for the first offender, when it names offender
/// fields), then what each failed expectation found, in plain words.
fn headline(fail_message: Option<&str>, found: &[Vec<Offender>]) -> String {
    let templated = fail_message.is_some_and(|m| !offenders::placeholders(m).is_empty());
    if templated || fail_message.is_some() && found.iter().flatten().all(|o| !o.plain) {
        let all: Vec<&Offender> = found.iter().flatten().collect();
        let m = fail_message.unwrap_or_default();
        return match all.as_slice() {
            [] => m.to_string(),
            [one] => sentence_of(fail_message, one),
            [first, rest @ ..] if templated => {
                format!(
                    "{} (+{} more)",
                    sentence_of(fail_message, first),
                    rest.len()
                )
            }
            _ => m.to_string(),
        };
    }
    let summary: Vec<String> = found
        .iter()
        .filter_map(|list| {
            let first = list.first()?;
            Some(match list.len() {
                1 => first.sentence.clone(),
                n => format!("{} (+{} more)", first.sentence, n - 1),
            })
        })
        .collect();
    let summary = summary.join("; ");
    match fail_message {
        Some(m) if summary.is_empty() => m.to_string(),
        Some(m) => format!("{m}: {summary}"),
        None => summary,
    }
}

/// Most unread files named in one sentence; the rest are counted.
const MAX_UNREAD_NAMED: usize = 5;

/// The evidence-completeness invariant: a rule never passes over evidence it did not read,
/// nor over evidence that matched nothing. A fail stands (it was found in what was read) and
/// says what else was not read; a pass or an evaluation error becomes pending, naming it.
fn completeness(
    rule: &Rule,
    values: &[(&str, &Request, &Value)],
    status: Status,
    sentence: String,
    outcome: &mut Outcome,
) -> (Status, String) {
    let unread: Vec<(String, String)> = values
        .iter()
        .flat_map(|(_, _, v)| {
            v.get("unread")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|u| {
            Some((
                u.get("path")?.as_str()?.to_string(),
                u.get("reason")?.as_str()?.to_string(),
            ))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unread.is_empty() {
        let mut named: Vec<String> = unread
            .iter()
            .take(MAX_UNREAD_NAMED)
            .map(|(p, r)| format!("`{p}` ({r})"))
            .collect();
        if unread.len() > MAX_UNREAD_NAMED {
            named.push(format!("{} more", unread.len() - MAX_UNREAD_NAMED));
        }
        let list = named.join(", ");
        for (p, r) in &unread {
            let l = Location {
                path: p.clone(),
                line: None,
                text: Some(r.clone()),
            };
            if !outcome.locations.contains(&l) {
                outcome.locations.push(l);
            }
        }
        if status != Status::Fail {
            // Pending because of them: the unread files are what to look at.
            outcome.offenders = unread
                .iter()
                .map(|(p, r)| {
                    Offender::new(
                        Some(p.clone()),
                        None,
                        r.clone(),
                        format!("`{p}` not read: {r}"),
                    )
                })
                .collect();
        }
        return match status {
            Status::Fail => (Status::Fail, format!("{sentence}; also not read: {list}")),
            Status::Pending => (Status::Pending, format!("not read: {list}; and {sentence}")),
            _ => (
                Status::Pending,
                format!("evidence in scope was not read: {list}"),
            ),
        };
    }
    if status == Status::Pass {
        let empty: Vec<String> = values
            .iter()
            .filter(|(name, _, _)| !rule.allow_empty.iter().any(|a| a == name))
            .filter_map(|(name, request, v)| matched_nothing(name, request, v))
            .collect();
        if !empty.is_empty() {
            return (
                Status::Pending,
                format!("no evidence matched: {}", empty.join("; ")),
            );
        }
    }
    (status, sentence)
}

/// Why an evidence entry matched nothing, when it did: a glob of no file, a manifests or
/// cluster request of no object, a scan of no file (each source says, `Source::matched_nothing`).
/// A single named file that is absent is data — `exists == false` — not an empty match.
fn matched_nothing(name: &str, request: &Request, v: &Value) -> Option<String> {
    request.matched_nothing(name, v)
}

/// File references found in a piece of evidence: its path, placeholder lines, matches.
fn locations_of(v: &Value, out: &mut Vec<Location>) {
    let path = v.get("path").and_then(Value::as_str);
    let exists = v.get("exists").and_then(Value::as_bool).unwrap_or(true);
    if let (Some(p), true) = (path, exists) {
        let placeholders = v.get("placeholders").and_then(Value::as_array);
        match placeholders {
            Some(list) if !list.is_empty() => {
                for ph in list {
                    out.push(Location {
                        path: p.to_string(),
                        line: ph.get("line").and_then(Value::as_u64).map(|l| l as usize),
                        text: ph.get("text").and_then(Value::as_str).map(str::to_string),
                    });
                }
            }
            _ => out.push(Location {
                path: p.to_string(),
                line: v
                    .get("status_line")
                    .and_then(Value::as_u64)
                    .filter(|l| *l > 0)
                    .map(|l| l as usize),
                text: None,
            }),
        }
    }
    for key in ["matches", "locations", "broken", "entries"] {
        for m in v.get(key).and_then(Value::as_array).into_iter().flatten() {
            let path = m
                .get("path")
                .or_else(|| m.get("file"))
                .and_then(Value::as_str);
            if let Some(p) = path.filter(|p| !p.is_empty()) {
                out.push(Location {
                    path: p.to_string(),
                    line: m.get("line").and_then(Value::as_u64).map(|l| l as usize),
                    text: m
                        .get("text")
                        .or_else(|| m.get("value"))
                        .or_else(|| m.get("target"))
                        .or_else(|| m.get("version"))
                        .or_else(|| m.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
        }
    }
    for p in v
        .get("present")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.get("path").and_then(Value::as_str) {
            out.push(Location {
                path: p.to_string(),
                line: None,
                text: None,
            });
        }
    }
}

/// The last second a waiver holds: 23:59:59 UTC of its `expires` day.
fn waiver_end(w: &Waiver, now: DateTime<Utc>) -> DateTime<Utc> {
    w.expires
        .and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc())
        .unwrap_or(now)
}

/// Per-finding waivers: each covers the findings it names (by fingerprint, or file and key).
/// When every offender of a failing or pending rule is covered, the rule is waived; a waiver
/// that covers nothing this run, or has expired, says so.
fn apply_finding_waivers(o: &mut Outcome, waivers: &[&Waiver], now: DateTime<Utc>) {
    let mut applied: Option<&Waiver> = None;
    for w in waivers {
        let Some(sel) = &w.finding else { continue };
        let expired = now > waiver_end(w, now);
        let mut covered = 0;
        for off in o.offenders.iter_mut() {
            if sel.covers(&off.fingerprint, off.path.as_deref(), &off.key) {
                covered += 1;
                if !expired {
                    off.waived = true;
                }
            }
        }
        if covered == 0 {
            o.warnings.push(format!(
                "waiver for {} (owner {}) covers no finding of this run: remove it",
                sel.describe(),
                w.owner
            ));
        } else if expired {
            o.warnings.push(format!(
                "waiver for {} expired on {} (owner {}): the finding stands",
                sel.describe(),
                w.expires,
                w.owner
            ));
        } else {
            applied.get_or_insert(w);
        }
    }
    let all_waived = !o.offenders.is_empty() && o.offenders.iter().all(|f| f.waived);
    if let (Some(w), true, true) = (
        applied,
        all_waived,
        matches!(o.status, Status::Fail | Status::Pending),
    ) {
        let mut rule_wide = (*w).clone();
        rule_wide.finding = None;
        apply_waiver(o, Some(&rule_wide), now);
    }
}

/// A waiver holds through 23:59:59 UTC of its `expires` day.
fn apply_waiver(o: &mut Outcome, waiver: Option<&Waiver>, now: DateTime<Utc>) {
    let Some(w) = waiver else { return };
    if !matches!(o.status, Status::Fail | Status::Pending) {
        return;
    }
    let expired = now > waiver_end(w, now);
    let days_left = (w.expires - now.date_naive()).num_days();
    o.waiver = Some(WaiverNote {
        reason: w.reason.clone(),
        owner: w.owner.clone(),
        expires: w.expires.to_string(),
        expired,
        days_left,
    });
    if expired {
        o.warnings.push(format!(
            "waiver expired on {} (owner {}): the {} stands",
            w.expires,
            w.owner,
            o.status.as_str()
        ));
    } else {
        o.status = Status::Waived;
        if days_left <= 14 {
            o.warnings.push(format!(
                "waiver expires in {days_left} day(s), on {}",
                w.expires
            ));
        }
    }
}
