//! What a published audit is called, how it is sealed and how its superseded note is read —
//! shared by publishing (report), history, evidence collection (published audits are evidence
//! too) and the repository check, none of which should depend on another for it.

use regex::Regex;

/// The index page of published audits, in the publish folder.
pub const INDEX: &str = "audits.md";
/// File names of published audits: this prefix, the date as YYYYMMDD, `.md`.
pub const PREFIX: &str = "final-production-readiness-audit-";

pub(crate) const NOTE_START: &str = "> **Superseded** by [final-production-readiness-audit-";
/// The seal on the last line of a published audit: the bundle it was rendered from and the
/// sha256 of the body above it.
pub(crate) const SEAL: &str = "<!-- shipshape-published ";
pub(crate) const BEGIN: &str = "<!-- shipshape:audits:begin -->";
pub(crate) const END: &str = "<!-- shipshape:audits:end -->";

/// The file name an audit made at `date` (YYYY-MM-DD) is published under.
pub fn file_name(date: &str) -> String {
    numbered(date, 1)
}

/// The name of the day's `n`-th publish: no suffix for the first, `-2`, `-3`… after.
pub(crate) fn numbered(date: &str, n: u32) -> String {
    let d = date.replace('-', "");
    if n == 1 {
        format!("{PREFIX}{d}.md")
    } else {
        format!("{PREFIX}{d}-{n}.md")
    }
}

/// Whether `name` is a published audit's file name: the prefix, a date, an optional `-N` for a
/// second publish on one day.
pub fn is_audit_name(name: &str) -> bool {
    name_parts(name).is_some()
}

/// (YYYY-MM-DD, n) of a published audit's name; n is 1 without a suffix.
pub(crate) fn name_parts(name: &str) -> Option<(String, u32)> {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^final-production-readiness-audit-(\d{4})(\d{2})(\d{2})(?:-(\d+))?\.md$")
            .expect("static regex")
    });
    let c = re.captures(name)?;
    let n = c.get(4).map_or(Some(1), |m| m.as_str().parse().ok())?;
    Some((format!("{}-{}-{}", &c[1], &c[2], &c[3]), n))
}

/// The body with its seal: the bundle's digest and the body's own sha256.
pub(crate) fn seal(body: &str, bundle_sha256: &str) -> String {
    use sha2::{Digest, Sha256};
    let body = if body.ends_with('\n') {
        body.to_string()
    } else {
        format!("{body}\n")
    };
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    format!("{body}{SEAL}bundle-sha256={bundle_sha256} body-sha256={digest} -->\n")
}

/// The bundle digest a published body is sealed with, or why it is not a genuine publish (no
/// seal, a body edited since, a bundle digest its provenance does not state).
pub fn unseal(text: &str) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let trimmed = text.trim_end_matches('\n');
    let (body, last) = match trimmed.rfind('\n') {
        Some(i) => (&text[..=i], &trimmed[i + 1..]),
        None => return Err("no shipshape seal".into()),
    };
    let inner = last
        .strip_prefix(SEAL)
        .and_then(|r| r.strip_suffix(" -->"))
        .ok_or("no shipshape seal (not written by `audit --publish`)")?;
    let mut bundle = None;
    let mut digest = None;
    for part in inner.split_whitespace() {
        if let Some(v) = part.strip_prefix("bundle-sha256=") {
            bundle = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("body-sha256=") {
            digest = Some(v.to_string());
        }
    }
    let (Some(bundle), Some(digest)) = (bundle, digest) else {
        return Err("a malformed shipshape seal".into());
    };
    if hex::encode(Sha256::digest(body.as_bytes())) != digest {
        return Err("its body was edited after it was published (the seal does not match)".into());
    }
    if !body.contains(&bundle) {
        return Err("its seal names a bundle its provenance does not".into());
    }
    Ok(bundle)
}

/// The note put at the top of a superseded audit.
pub(crate) fn note(successor: &str) -> String {
    format!(
        "> **Superseded** by [{successor}]({successor}) — this audit is kept unchanged below as the record of its day.\n\n"
    )
}

/// A published audit's text as it was published: the superseded note (and the blank line after
/// it) removed.
pub fn strip_superseded_note(text: &str) -> &str {
    if !text.starts_with(NOTE_START) {
        return text;
    }
    let rest = match text.find('\n') {
        Some(i) => &text[i + 1..],
        None => "",
    };
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest)
}
