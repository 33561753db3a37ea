//! The terminal renderer: the summary `audit` prints, the `-q` verdict line and the sign-off
//! lines of `render`, from the same Report model as every other format.

use std::fmt::Write as _;

use super::Report;
use crate::evaluate::Status;
use crate::evaluate::score::Verdict;
use crate::evidence::Bundle;
use crate::policy::model::Severity;

/// The one line `-q` prints, and the summary's first.
pub fn verdict_line(r: &Report, paint: &Paint) -> String {
    let verdict = match r.verdict {
        Verdict::Approved => paint.on("1;32", &format!("✅ {}", r.verdict_text)),
        Verdict::NotApproved => paint.on("1;31", &format!("❌ {}", r.verdict_text)),
    };
    format!(
        "shipshape: {verdict} — score {}/10 (approval needs {}), evidence coverage {}",
        r.score.shown, r.score.threshold, r.score.coverage_shown
    )
}

/// ANSI colour, only for a terminal and only when `NO_COLOR` is unset or empty.
pub struct Paint(pub bool);

impl Paint {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect() -> Paint {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint(!no_color && std::io::stdout().is_terminal())
    }
    pub fn on(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Pad to `width` display columns (counting chars; the icons used here are one column each
/// in most terminals, which is close enough for a summary).
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        s.chars().take(width).collect()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// The summary `audit` prints: verdict, policy, counts, areas, gaps, warnings, what it wrote.
pub fn summary(
    bundle: &Bundle,
    written: &[String],
    skipped_commands: bool,
    paint: &Paint,
) -> String {
    let r = &bundle.report;
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict_line(r, paint));
    let _ = writeln!(
        out,
        "  policy: {} ({}), sha256 {}",
        r.provenance.policy,
        r.provenance.policy_found.as_deref().unwrap_or("as given"),
        &r.provenance.policy_sha256[..r.provenance.policy_sha256.len().min(12)]
    );
    let c = &r.counts;
    let _ = writeln!(
        out,
        "  {} rules: {} pass, {} fail, {} pending, {} waived, {} skipped",
        c.rules, c.pass, c.fail, c.pending, c.waived, c.skipped
    );
    if let Some(cl) = r.provenance.cluster.as_ref().filter(|c| c.kind != "none") {
        let _ = writeln!(out, "  cluster evidence: {}", cl.summary);
    }
    if !bundle.run.cached.is_empty() {
        let _ = writeln!(
            out,
            "  {} command result(s) reused from the cache (verify refuses them without --allow-cached; --no-cache reruns them)",
            bundle.run.cached.len()
        );
    }
    let _ = writeln!(
        out,
        "  {} {:>6} {:>9} {:>8} {:>8}",
        pad("Area", 40),
        "Score",
        "Weight",
        "Blocking",
        "Other"
    );
    for a in &r.areas {
        let s = r.score.areas.iter().find(|s| s.area == a.id);
        let gaps = |blocking: bool| {
            a.rules
                .iter()
                .filter(|x| matches!(x.status, Status::Fail | Status::Pending))
                .filter(|x| (x.severity == Severity::Blocking) == blocking)
                .count()
        };
        let (b, o) = (gaps(true), gaps(false));
        let weight = s
            .map(|s| format!("{}/{}", s.passed_weight, s.applicable_weight))
            .unwrap_or_default();
        let b_txt = format!("{b:>8}");
        let o_txt = format!("{o:>8}");
        let _ = writeln!(
            out,
            "  {} {:>6} {:>9} {} {}",
            pad(&a.title, 40),
            a.score,
            weight,
            if b > 0 { paint.on("31", &b_txt) } else { b_txt },
            if o > 0 { paint.on("33", &o_txt) } else { o_txt },
        );
    }
    if !r.blocking_gaps.is_empty() {
        let _ = writeln!(out, "  {}", paint.on("1", "blocking gaps:"));
        for g in &r.blocking_gaps {
            let _ = writeln!(out, "    {} {} — {}", g.icon, g.rule, g.sentence);
        }
    }
    if !r.nonblocking_gaps.is_empty() {
        let _ = writeln!(out, "  {}", paint.on("1", "non-blocking gaps:"));
        for g in &r.nonblocking_gaps {
            let _ = writeln!(out, "    {} {} — {}", g.icon, g.rule, g.sentence);
        }
    }
    if let Some(t) = &r.trust {
        for (what, s) in [("central policy", &t.central), ("overlay", &t.overlay)] {
            if let Some(s) = s {
                let _ = writeln!(out, "  {what}: {} sha256 {}", s.name, s.sha256);
            }
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "  {} {w}", paint.on("33", "warning:"));
    }
    if let Some(ch) = &r.changes {
        let _ = writeln!(out, "  changes since the baseline: {}", ch.summary);
        if let Some(p) = &ch.policy_changed {
            let _ = writeln!(out, "  {}", paint.on("33", p));
        }
        if let Some(g) = &ch.gate {
            let _ = writeln!(out, "  {g}");
        }
    }
    if skipped_commands {
        let _ = writeln!(
            out,
            "  note: --skip-commands: rules that need commands are pending; this run cannot approve them"
        );
    }
    for w in written {
        let _ = writeln!(out, "  wrote {w}");
    }
    out
}

/// The sign-off block in the terminal: each required role, then each sign-off on the bundle.
pub fn signoff_lines(b: &super::signoffs::SignoffBlock) -> Vec<String> {
    let mut out: Vec<String> = b
        .roles
        .iter()
        .map(|r| {
            format!(
                "sign-off {} {}: `{}` {} of {} approving",
                r.icon, r.word, r.role, r.approvals, r.count
            )
        })
        .collect();
    out.extend(b.entries.iter().map(|e| {
        format!(
            "  {} {} as `{}` ({}): {}",
            e.icon, e.identity, e.role, e.decision, e.verified
        )
    }));
    if b.roles.is_empty() && b.entries.is_empty() {
        out.push("sign-off: none required, none given".into());
    }
    out
}
