//! Publishing: the audit ops sign off on is a dated Markdown file committed beside the operations
//! artifacts (`final-production-readiness-audit-YYYYMMDD.md`), with an index (`audits.md`)
//! listing every published audit, its verdict and score. An earlier audit is never rewritten:
//! it only gains a one-line "superseded" note at its top, so the record of that day stays intact.
//! Publishing is idempotent — the same evidence gives the same bytes, and an unchanged file is
//! not written at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::Report;

use crate::published::{BEGIN, END, name_parts, note, numbered, seal};
pub use crate::published::{
    INDEX, PREFIX, file_name, is_audit_name, strip_superseded_note, unseal,
};

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    /// The audit published by this run.
    pub audit: PathBuf,
    pub index: PathBuf,
    /// Files whose bytes changed (written atomically); empty when everything was up to date.
    pub written: Vec<PathBuf>,
    /// Earlier audits that gained their superseded note in this run.
    pub superseded: Vec<PathBuf>,
    /// Files named like published audits that were neither indexed nor superseded, and why
    /// (no genuine seal, dated after the audit).
    pub ignored: Vec<(PathBuf, String)>,
}

struct Entry {
    name: String,
    date: String,
    body: String,
    /// The bytes on disk now (None for a new file).
    current: Option<Vec<u8>>,
    verdict: String,
    score: String,
}

/// Publish `markdown` (the rendered report) into `dir`, update the index and mark earlier audits
/// superseded. Only genuine published audits (sealed, body unchanged) dated no later than the
/// audit take part; anything else named like one is left alone and reported.
pub fn publish(dir: &Path, report: &Report, markdown: &str) -> Result<Published, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the publish folder `{}`: {e}", dir.display()))?;
    let sealed_own = seal(markdown, &report.provenance.bundle_sha256);
    let mut entries: BTreeMap<(String, u32), Entry> = BTreeMap::new();
    let mut ignored = Vec::new();
    let listing = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the publish folder `{}`: {e}", dir.display()))?;
    for e in listing.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((date, n)) = name_parts(&name) else {
            continue;
        };
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            ignored.push((e.path(), "not a regular file".to_string()));
            continue;
        }
        let bytes = std::fs::read(e.path())
            .map_err(|err| format!("cannot read `{}`: {err}", e.path().display()))?;
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = strip_superseded_note(&text).to_string();
        if date > report.date {
            ignored.push((
                e.path(),
                format!("dated {date}, after this audit ({})", report.date),
            ));
            continue;
        }
        if let Err(why) = unseal(&body) {
            ignored.push((e.path(), why));
            continue;
        }
        let (verdict, score) = summary_of(&body);
        entries.insert(
            (date.clone(), n),
            Entry {
                date,
                name,
                body,
                current: Some(bytes),
                verdict,
                score,
            },
        );
    }
    // Today's name: the first free one, or the one already holding exactly this audit. A
    // second publish on one day gets `-2`, never a silent overwrite.
    let mut n = 1;
    let own = loop {
        let name = numbered(&report.date, n);
        match entries.get(&(report.date.clone(), n)) {
            Some(e) if e.body == sealed_own => break name,
            None if !dir.join(&name).exists() => break name,
            _ => n += 1,
        }
    };
    let own_path = dir.join(&own);
    entries.insert(
        (report.date.clone(), n),
        Entry {
            name: own.clone(),
            date: report.date.clone(),
            body: sealed_own,
            current: std::fs::read(&own_path).ok(),
            verdict: report.verdict_text.clone(),
            score: format!("{}/10", report.score.shown),
        },
    );
    let mut out = Published {
        audit: own_path,
        index: dir.join(INDEX),
        ignored,
        ..Published::default()
    };
    // Oldest first (by date, then by the number of the day's publish); each audit is
    // superseded by the next one.
    let entries: BTreeMap<String, Entry> =
        entries.into_values().map(|e| (e.name.clone(), e)).collect();
    let mut names: Vec<String> = entries.keys().cloned().collect();
    names.sort_by_key(|n| name_parts(n));
    for (i, name) in names.iter().enumerate() {
        let e = &entries[name];
        let successor = names.get(i + 1);
        let desired = match successor {
            Some(s) => format!("{}{}", note(s), e.body),
            None => e.body.clone(),
        };
        // An earlier audit is touched only to add (or correct) its note, never otherwise.
        let is_own = *name == own;
        if !is_own && successor.is_none() {
            continue;
        }
        if e.current.as_deref() == Some(desired.as_bytes()) {
            continue;
        }
        let path = dir.join(name);
        crate::write_atomic(&path, desired.as_bytes())
            .map_err(|err| format!("cannot write `{}`: {err}", path.display()))?;
        if !is_own {
            out.superseded.push(path.clone());
        }
        out.written.push(path);
    }

    let index_path = dir.join(INDEX);
    let existing = std::fs::read_to_string(&index_path).ok();
    let table = index_table(&names, &entries);
    let updated = match &existing {
        Some(text) => match (text.find(BEGIN), text.find(END)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{table}{}", &text[..b], &text[e + END.len()..])
            }
            _ => format!("{}\n{table}\n", text.trim_end()),
        },
        None => format!(
            "# Published audits\n\nEvery readiness audit published here by `shipshape audit --publish`, newest first. The newest is current; each earlier audit is superseded by the one published after it and keeps a note saying so at its top. shipshape rewrites only the table between the markers below.\n\n{table}\n"
        ),
    };
    if existing.as_deref() != Some(updated.as_str()) {
        crate::write_atomic(&index_path, updated.as_bytes())
            .map_err(|err| format!("cannot write `{}`: {err}", index_path.display()))?;
        out.written.push(index_path);
    }
    Ok(out)
}

fn index_table(names: &[String], entries: &BTreeMap<String, Entry>) -> String {
    let mut t = String::new();
    t.push_str(BEGIN);
    t.push_str("\n| Date | Audit | Verdict | Score | Status |\n|---|---|---|---|---|\n");
    for (i, name) in names.iter().enumerate().rev() {
        let e = &entries[name];
        let status = match names.get(i + 1) {
            Some(s) => format!("superseded by [{s}]({s})"),
            None => "current".to_string(),
        };
        t.push_str(&format!(
            "| {} | [{}]({}) | {} | {} | {status} |\n",
            e.date, e.name, e.name, e.verdict, e.score
        ));
    }
    t.push_str(END);
    t
}

/// Verdict and score as a shipshape report states them; "—" for a document that does not.
fn summary_of(body: &str) -> (String, String) {
    match stated_summary(body) {
        Some((verdict, score)) => (verdict, format!("{score}/10")),
        None => ("—".into(), "—".into()),
    }
}

/// The verdict and score (as written) of a shipshape report's summary line, if it has one.
pub(crate) fn stated_summary(body: &str) -> Option<(String, String)> {
    let re = Regex::new(r"\*\*Verdict: ([A-Z ]+)\*\* · score \*\*([0-9.]+)/10\*\*")
        .expect("static regex");
    re.captures(body)
        .map(|c| (c[1].to_string(), c[2].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_round_trips() {
        let n = note("final-production-readiness-audit-20260210.md");
        assert_eq!(
            n,
            "> **Superseded** by [final-production-readiness-audit-20260210.md](final-production-readiness-audit-20260210.md) — this audit is kept unchanged below as the record of its day.\n\n"
        );
        let body = "# Audit\n\ntext\n";
        assert_eq!(strip_superseded_note(&format!("{n}{body}")), body);
        assert_eq!(strip_superseded_note(body), body);
    }

    #[test]
    fn summary_from_a_shipshape_report() {
        let body = "**Verdict: NOT APPROVED** · score **6.3/10** (approval needs 8)";
        assert_eq!(
            summary_of(body),
            ("NOT APPROVED".to_string(), "6.3/10".to_string())
        );
        assert_eq!(summary_of("hand-written").0, "—");
    }
}
