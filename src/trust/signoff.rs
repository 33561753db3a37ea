//! Signed sign-offs. A sign-off is one JSON line in a log beside the bundle (`signoffs.jsonl`):
//! who (identity), as what (role), which bundle (its sha256), the decision, a comment and the
//! time, plus an SSH signature (`ssh-keygen -Y sign -n shipshape-signoff`) over the canonical JSON
//! of all those fields. Verification runs `ssh-keygen -Y verify` against an OpenSSH
//! `allowed_signers` file whose lines carry the signer's roles in their comment
//! (`roles=sre,security`): a signature counts for a role only when a line granting that role to
//! that identity holds the key that made it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::policy::model::SignoffRequirement;

/// The SSH signature namespace: a signature made for anything else never verifies here.
pub const NAMESPACE: &str = "shipshape-signoff";
/// Version of one log line.
pub const FORMAT: &str = "shipshape-signoff/1";
/// The log's file name beside the bundle.
pub const LOG_NAME: &str = "signoffs.jsonl";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// One line of the sign-off log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignoffEntry {
    /// `shipshape-signoff/1`.
    pub format: String,
    /// The bundle signed off: its sha256. Valid for that exact bundle only.
    pub bundle_sha256: String,
    /// Who signs: a principal of the allowed_signers file (usually an e-mail address).
    pub identity: String,
    pub role: String,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Armored SSH signature over [`SignoffEntry::message`].
    pub signature: String,
}

impl SignoffEntry {
    /// The bytes signed: canonical JSON (sorted keys) of every field but `signature`.
    pub fn message(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.remove("signature");
        }
        serde_json::to_string(&v).unwrap_or_default().into_bytes()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignoffError {
    #[error("{0}")]
    Input(String),
    #[error("ssh-keygen: {0}")]
    Ssh(String),
}

/// A temporary folder removed on drop (the library has no tempfile dependency).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        for n in 0..1000u32 {
            let p =
                std::env::temp_dir().join(format!("shipshape-signoff-{}-{n}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(Scratch(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("cannot create a temporary folder"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ssh_keygen_missing(e: &std::io::Error) -> SignoffError {
    SignoffError::Ssh(format!(
        "cannot run ssh-keygen ({e}); install OpenSSH (Debian: openssh-client)"
    ))
}

/// Sign `entry` (its `signature` is replaced) with the private key at `key` (or a public key
/// whose private half is in ssh-agent). ssh-keygen may ask for the key's passphrase.
pub fn sign(entry: &mut SignoffEntry, key: &Path) -> Result<(), SignoffError> {
    entry.signature.clear();
    entry.signature = sign_message(key, NAMESPACE, &entry.message())?;
    Ok(())
}

/// Sign `message` in `namespace` with the key at `key` (`ssh-keygen -Y sign`); the armoured
/// signature.
pub fn sign_message(key: &Path, namespace: &str, message: &[u8]) -> Result<String, SignoffError> {
    let scratch = Scratch::new().map_err(|e| SignoffError::Input(e.to_string()))?;
    let msg = scratch.0.join("message");
    std::fs::write(&msg, message).map_err(|e| SignoffError::Input(e.to_string()))?;
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .arg(&msg)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| ssh_keygen_missing(&e))?;
    if !out.status.success() {
        return Err(SignoffError::Ssh(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    std::fs::read_to_string(scratch.0.join("message.sig"))
        .map_err(|e| SignoffError::Ssh(format!("no signature written: {e}")))
}

/// What a person signing off a bundle gives.
pub struct SignoffRequest<'a> {
    pub bundle_sha256: &'a str,
    /// `--identity`, else `git config user.email`.
    pub identity: Option<String>,
    pub role: &'a str,
    pub decision: Decision,
    pub comment: Option<String>,
    pub now: chrono::DateTime<chrono::Utc>,
    pub key: &'a Path,
}

/// Build and sign one sign-off: the identity (given, else git's `user.email`) and a one-word
/// role are required.
pub fn sign_off(req: SignoffRequest<'_>) -> Result<SignoffEntry, SignoffError> {
    let identity = match req.identity.or_else(git_email) {
        Some(i) if !i.trim().is_empty() => i.trim().to_string(),
        _ => {
            return Err(SignoffError::Input(
                "no identity: give --identity EMAIL (or set git config user.email)".into(),
            ));
        }
    };
    let role = req.role.trim();
    if role.is_empty() || role.contains(char::is_whitespace) {
        return Err(SignoffError::Input(format!(
            "--role `{}` must be one word",
            req.role
        )));
    }
    let mut entry = SignoffEntry {
        format: FORMAT.into(),
        bundle_sha256: req.bundle_sha256.to_string(),
        identity,
        role: role.to_string(),
        decision: req.decision,
        comment: req.comment,
        time: req.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        signature: String::new(),
    };
    sign(&mut entry, req.key)?;
    Ok(entry)
}

/// `git config user.email`, when git has one.
fn git_email() -> Option<String> {
    let out = Command::new("git")
        .args(["config", "--get", "user.email"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Append one entry to the log (created if absent).
pub fn append(log: &Path, entry: &SignoffEntry) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    f.write_all(line.as_bytes())
}

/// Read a log; a line that is not a sign-off is reported, not fatal.
pub fn read_log(log: &Path) -> std::io::Result<(Vec<SignoffEntry>, Vec<String>)> {
    let text = std::fs::read_to_string(log)?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SignoffEntry>(line) {
            Ok(e) => entries.push(e),
            Err(e) => problems.push(format!(
                "{}:{}: not a sign-off ({e}): ignored",
                log.display(),
                i + 1
            )),
        }
    }
    Ok((entries, problems))
}

/// One line of an allowed_signers file, as far as roles are concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct SignerLine {
    pub line: String,
    pub principals: Vec<String>,
    pub roles: Vec<String>,
}

fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-")
        || t.starts_with("ecdsa-sha2-")
        || t.starts_with("sk-")
        || t.starts_with("webauthn-")
}

/// Parse an allowed_signers file: principals, and roles from a `roles=a,b` word in the comment.
pub fn parse_allowed_signers(text: &str) -> Vec<SignerLine> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let toks = tokens(t);
        let Some(k) = toks.iter().position(|x| is_key_type(x)) else {
            continue;
        };
        let principals = toks[0]
            .split(',')
            .map(|p| p.trim_matches('"').to_string())
            .collect();
        let roles = toks
            .iter()
            .skip(k + 2)
            .filter_map(|w| w.strip_prefix("roles="))
            .flat_map(|r| r.split(','))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        out.push(SignerLine {
            line: t.to_string(),
            principals,
            roles,
        });
    }
    out
}

/// OpenSSH principal patterns: `*` and `?` wildcards, `!` negation is not supported (no match).
fn principal_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    !pattern.starts_with('!') && go(&p, &n)
}

/// Whether `entry`'s signature verifies against the signers in `allowed` (a file's text).
fn ssh_verify(entry: &SignoffEntry, allowed: &str) -> Result<bool, SignoffError> {
    verify_message(
        allowed,
        &entry.identity,
        NAMESPACE,
        &entry.signature,
        &entry.message(),
    )
}

/// Whether `signature` over `message` in `namespace` verifies for `identity` against the
/// signers in `allowed` (an allowed_signers file's text).
pub fn verify_message(
    allowed: &str,
    identity: &str,
    namespace: &str,
    signature: &str,
    message: &[u8],
) -> Result<bool, SignoffError> {
    let scratch = Scratch::new().map_err(|e| SignoffError::Input(e.to_string()))?;
    let sig = scratch.0.join("sig");
    let signers = scratch.0.join("allowed_signers");
    std::fs::write(&sig, signature).map_err(|e| SignoffError::Input(e.to_string()))?;
    std::fs::write(&signers, allowed).map_err(|e| SignoffError::Input(e.to_string()))?;
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", namespace, "-f"])
        .arg(&signers)
        .arg("-I")
        .arg(identity)
        .arg("-s")
        .arg(&sig)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ssh_keygen_missing(&e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(message);
    }
    let status = child.wait().map_err(|e| SignoffError::Ssh(e.to_string()))?;
    Ok(status.success())
}

/// The sign-offs of one bundle, checked.
#[derive(Debug, Default)]
pub struct Checked {
    /// Valid sign-offs on this bundle: (identity, role, decision, comment).
    pub valid: Vec<SignoffEntry>,
    /// Why the sign-offs do not satisfy the policy (empty = they do).
    pub failures: Vec<String>,
    /// What was seen and ignored, for the reader.
    pub notes: Vec<String>,
}

/// Check every sign-off in `entries` for the bundle `digest` against `allowed_signers` (the
/// file's text), then the requirements. A valid `reject` on this bundle always fails.
pub fn check(
    entries: &[SignoffEntry],
    digest: &str,
    allowed_signers: Option<&str>,
    required: &[SignoffRequirement],
) -> Result<Checked, SignoffError> {
    let mut c = Checked::default();
    let Some(allowed) = allowed_signers else {
        if !required.is_empty() {
            c.failures.push(
                "sign-offs are required but no --allowed-signers file was given to check them"
                    .into(),
            );
        }
        return Ok(c);
    };
    let lines = parse_allowed_signers(allowed);
    for e in entries {
        let who = format!("sign-off by `{}` as `{}` ({})", e.identity, e.role, e.time);
        if e.format != FORMAT {
            c.notes
                .push(format!("{who}: unknown format `{}`: ignored", e.format));
            continue;
        }
        if e.bundle_sha256 != digest {
            c.notes.push(format!(
                "{who} is for bundle {}, not this one ({}): ignored (a sign-off is valid only for the exact bundle it signed)",
                short(&e.bundle_sha256),
                short(digest)
            ));
            continue;
        }
        if !ssh_verify(e, allowed)? {
            c.failures.push(format!(
                "{who}: the signature does not verify against the allowed signers (the key is not trusted for that identity, or the sign-off was altered)"
            ));
            continue;
        }
        let granting: Vec<&SignerLine> = lines
            .iter()
            .filter(|l| l.roles.contains(&e.role))
            .filter(|l| {
                l.principals
                    .iter()
                    .any(|p| principal_matches(p, &e.identity))
            })
            .collect();
        let role_ok = !granting.is_empty() && {
            let text: String = granting.iter().map(|l| format!("{}\n", l.line)).collect();
            ssh_verify(e, &text)?
        };
        if !role_ok {
            let mut roles: Vec<String> = lines
                .iter()
                .filter(|l| {
                    l.principals
                        .iter()
                        .any(|p| principal_matches(p, &e.identity))
                })
                .flat_map(|l| l.roles.clone())
                .collect();
            roles.sort();
            roles.dedup();
            c.failures.push(format!(
                "{who}: `{}` may not sign off as `{}` with that key (roles granted: {})",
                e.identity,
                e.role,
                if roles.is_empty() {
                    "none".into()
                } else {
                    roles.join(", ")
                }
            ));
            continue;
        }
        if e.decision == Decision::Reject {
            c.failures.push(format!(
                "{who} REJECTS this bundle{}",
                e.comment
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
        c.valid.push(e.clone());
    }
    for r in required {
        let mut who: Vec<&str> = c
            .valid
            .iter()
            .filter(|e| e.role == r.role && e.decision == Decision::Approve)
            .map(|e| e.identity.as_str())
            .collect();
        who.sort();
        who.dedup();
        if (who.len() as u32) < r.count {
            c.failures.push(format!(
                "needs {} approving sign-off(s) as `{}`, has {}{}",
                r.count,
                r.role,
                who.len(),
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", who.join(", "))
                }
            ));
        } else {
            c.notes.push(format!(
                "sign-offs as `{}`: {} of {} required ({})",
                r.role,
                who.len(),
                r.count,
                who.join(", ")
            ));
        }
    }
    Ok(c)
}

pub fn short(d: &str) -> String {
    d.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_comment() {
        let l = parse_allowed_signers(
            "# team\nalice@x.org,\"bob@x.org\" namespaces=\"shipshape-signoff\" ssh-ed25519 AAAA roles=sre,security\ncarol@x.org ssh-ed25519 BBBB carol laptop\n",
        );
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].principals, vec!["alice@x.org", "bob@x.org"]);
        assert_eq!(l[0].roles, vec!["sre", "security"]);
        assert!(l[1].roles.is_empty());
    }

    #[test]
    fn principal_patterns() {
        assert!(principal_matches("*@x.org", "a@x.org"));
        assert!(!principal_matches("*@x.org", "a@y.org"));
        assert!(principal_matches("a?c", "abc"));
    }
}
