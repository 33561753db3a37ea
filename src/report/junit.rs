//! JUnit XML, so a CI system that already shows test results shows the audit the same way: one
//! `<testsuite>` per area, one `<testcase>` per rule. Fail and pending become one `<failure>` per
//! finding (the release is not ready), skipped and waived become `<skipped>`, each with the reason.
//! The shape follows the Jenkins xunit-plugin `junit-10.xsd`, which a test validates against.

use std::io::{self, Write};

use super::{Report, RuleRow};
use crate::evaluate::Status;

/// Text safe inside an XML element: markup escaped, characters XML 1.0 forbids replaced.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a double-quoted XML attribute (newlines kept as character references).
pub fn xml_attr(s: &str) -> String {
    xml_text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

fn detail(r: &RuleRow) -> String {
    let mut lines = vec![r.sentence.clone()];
    for l in &r.locations {
        lines.push(format!("at {l}"));
    }
    if let Some(w) = &r.waiver {
        lines.push(format!("waiver: {w}"));
    }
    for w in &r.warnings {
        lines.push(format!("warning: {w}"));
    }
    lines.join("\n")
}

/// Where one finding is, what identifies it and how to fix it.
fn finding_detail(f: &super::Finding) -> String {
    let mut lines = vec![format!("at {}", f.place())];
    if let Some(k) = &f.text {
        lines.push(format!("key: {k}"));
    }
    if let Some(fix) = &f.fix {
        lines.push(format!("fix: {fix}"));
    }
    lines.push(format!("fingerprint: {}", f.fingerprint));
    lines.join("\n")
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let failing = |r: &&RuleRow| matches!(r.status, Status::Fail | Status::Pending);
    let skipped = |r: &&RuleRow| matches!(r.status, Status::Skipped | Status::Waived);
    let tests: usize = report.areas.iter().map(|a| a.rules.len()).sum();
    let failures: usize = report
        .areas
        .iter()
        .map(|a| a.rules.iter().filter(failing).count())
        .sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{}" tests="{tests}" failures="{failures}" errors="0" time="0">"#,
        xml_attr(&format!(
            "{}: {} ({}/10)",
            report.title, report.verdict_text, report.score.shown
        ))
    )?;
    for a in &report.areas {
        writeln!(
            out,
            r#"  <testsuite name="{}" id="{}" package="{}" tests="{}" failures="{}" errors="0" skipped="{}" timestamp="{}" time="0">"#,
            xml_attr(&a.title),
            xml_attr(&a.id),
            xml_attr(&report.name),
            a.rules.len(),
            a.rules.iter().filter(failing).count(),
            a.rules.iter().filter(skipped).count(),
            xml_attr(&report.now),
        )?;
        for r in &a.rules {
            testcase(report, &a.id, r, out)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    files_not_read(report, out)?;
    if let Some(c) = &report.changes {
        changes_suite(report, c, out)?;
    }
    writeln!(out, "</testsuites>")?;
    Ok(())
}

/// One rule as a `<testcase>`: pass → system-out; fail/pending → one `<failure>` per finding;
/// waived/skipped → `<skipped>`.
fn testcase(report: &Report, area: &str, r: &RuleRow, out: &mut dyn Write) -> io::Result<()> {
    let open = format!(
        r#"    <testcase name="{}" classname="{}" time="0""#,
        xml_attr(&format!("{}: {}", r.id, r.title)),
        xml_attr(&format!("{}.{}", report.name, area)),
    );
    match r.status {
        Status::Pass => {
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_text(&detail(r))
            )?;
            writeln!(out, "    </testcase>")?;
        }
        Status::Fail | Status::Pending => {
            let kind = if r.status == Status::Pending {
                "pending"
            } else {
                r.severity.as_str()
            };
            writeln!(out, "{open}>")?;
            // One failure per offender, each with its own place and words.
            let findings: Vec<&super::Finding> = report
                .findings
                .iter()
                .filter(|f| f.rule == r.id && f.active())
                .collect();
            if findings.is_empty() {
                writeln!(
                    out,
                    r#"      <failure type="{kind}" message="{}">{}</failure>"#,
                    xml_attr(&format!("{} {}: {}", r.icon, r.word, r.sentence)),
                    xml_text(&detail(r))
                )?;
            }
            for f in findings {
                writeln!(
                    out,
                    r#"      <failure type="{kind}" message="{}">{}</failure>"#,
                    xml_attr(&format!("{} {}: {}", r.icon, r.word, f.message)),
                    xml_text(&finding_detail(f))
                )?;
            }
            writeln!(out, "    </testcase>")?;
        }
        Status::Waived | Status::Skipped => {
            let reason = match (&r.status, &r.waiver) {
                (Status::Waived, Some(w)) => format!("waived: {w}"),
                _ => format!("skipped: {}", r.sentence),
            };
            writeln!(out, "{open}>")?;
            writeln!(
                out,
                r#"      <skipped type="{}" message="{}">{}</skipped>"#,
                r.status.as_str(),
                xml_attr(&reason),
                xml_text(&detail(r))
            )?;
            writeln!(out, "    </testcase>")?;
        }
    }
    Ok(())
}

/// Files shipshape did not read, as the properties of an empty suite.
fn files_not_read(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.file_findings.is_empty() {
        return Ok(());
    }
    {
        writeln!(
            out,
            r#"  <testsuite name="Files not read" id="files-not-read" tests="0" failures="0" errors="0" timestamp="{}" time="0">"#,
            xml_attr(&report.now)
        )?;
        writeln!(out, "    <properties>")?;
        for f in &report.file_findings {
            writeln!(
                out,
                r#"      <property name="{}" value="{}"/>"#,
                xml_attr(&super::show_path(&f.path)),
                xml_attr(&f.reason)
            )?;
        }
        writeln!(out, "    </properties>")?;
        writeln!(out, "  </testsuite>")?;
    }
    Ok(())
}

/// "Changes since the last audit" as the properties and output of an empty suite.
fn changes_suite(report: &Report, c: &super::diff::Changes, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        r#"  <testsuite name="Changes since the last audit" id="changes" tests="0" failures="0" errors="0" timestamp="{}" time="0">"#,
        xml_attr(&report.now)
    )?;
    writeln!(out, "    <properties>")?;
    for (k, v) in [
        ("baseline.sha256", c.baseline_sha256.clone()),
        ("baseline.now", c.baseline_now.clone()),
        ("baseline.verdict", c.baseline_verdict.as_str().to_string()),
        ("baseline.score", c.baseline_score.clone()),
        ("new", c.new.len().to_string()),
        ("resolved", c.resolved.len().to_string()),
        ("regressed", c.regressed.len().to_string()),
        ("unchanged", c.unchanged.len().to_string()),
        ("regression", c.regression.to_string()),
    ] {
        writeln!(
            out,
            r#"      <property name="{k}" value="{}"/>"#,
            xml_attr(&v)
        )?;
    }
    writeln!(out, "    </properties>")?;
    let mut text = vec![c.summary.clone()];
    for f in &c.new {
        text.push(format!(
            "new: {} at {} [{}]",
            f.rule,
            f.place(),
            f.fingerprint
        ));
    }
    for r in &c.regressed {
        let f = &r.finding;
        text.push(format!(
            "regressed (was {}): {} at {} [{}]",
            r.was,
            f.rule,
            f.place(),
            f.fingerprint
        ));
    }
    for f in &c.resolved {
        text.push(format!(
            "resolved: {} at {} [{}]",
            f.rule,
            f.place(),
            f.fingerprint
        ));
    }
    writeln!(
        out,
        "    <system-out>{}</system-out>",
        xml_text(&text.join("\n"))
    )?;
    writeln!(out, "  </testsuite>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_forbidden_characters() {
        assert_eq!(
            xml_attr("a\"<b>&\n\u{1}"),
            "a&quot;&lt;b&gt;&amp;&#10;\u{FFFD}"
        );
        assert_eq!(
            xml_text("]]></failure><x/>"),
            "]]&gt;&lt;/failure&gt;&lt;x/&gt;"
        );
    }
}
