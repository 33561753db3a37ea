//! The run cache (command results, kustomize renders) that no repository can plant. It lives
//! outside the audited tree (`$XDG_CACHE_HOME/shipshape`, or `--cache-dir`), is never read
//! from inside the audit boundary, and every entry carries an HMAC-SHA256 tag made with a
//! per-machine key kept in the cache folder (created on first use, mode 0600): an entry copied
//! in from elsewhere, committed to a repository or edited by hand does not verify and is
//! ignored. Entries older than `[audit] cache_max_age` (default 24 h) are not reused, and the
//! audit date is part of every key, so date-dependent checks rerun at least daily.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `$XDG_CACHE_HOME/shipshape`, else `$HOME/.cache/shipshape`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("shipshape"))
}

/// Refuse a cache folder inside the audit boundary: a repository could plant entries there.
pub fn check_outside(dir: &Path, boundary: &Path) -> Result<(), String> {
    let resolved = super::fs::resolved(dir);
    if resolved.starts_with(boundary) {
        return Err(format!(
            "the cache folder `{}` is inside the audited repository ({}): a repository could plant cache entries there; use a folder outside it (--cache-dir, XDG_CACHE_HOME) or --no-cache",
            dir.display(),
            boundary.display()
        ));
    }
    Ok(())
}

/// The machine's cache key, created on first use.
fn machine_key(dir: &Path) -> Option<[u8; 32]> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("key");
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(k) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Some(k);
    }
    std::fs::create_dir_all(dir).ok()?;
    let mut k = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .ok()?
        .read_exact(&mut k)
        .ok()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .ok()?;
    f.write_all(&k).ok()?;
    Some(k)
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let pad = |b: u8| block.map(|x| x ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// A verified, fresh entry's value and the time it was produced.
pub fn read(
    dir: &Path,
    file: &Path,
    max_age: chrono::Duration,
) -> Option<(Value, chrono::DateTime<chrono::Utc>)> {
    let key = machine_key(dir)?;
    let stored: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let payload = stored.get("payload")?.as_str()?;
    let tag = hex::decode(stored.get("hmac")?.as_str()?).ok()?;
    if tag != hmac(&key, payload.as_bytes()) {
        tracing::warn!(entry = %file.display(), "cache entry does not verify; ignored");
        return None;
    }
    let entry: Value = serde_json::from_str(payload).ok()?;
    let at = chrono::DateTime::parse_from_rfc3339(entry.get("produced_at")?.as_str()?)
        .ok()?
        .with_timezone(&chrono::Utc);
    let age = chrono::Utc::now() - at;
    if age > max_age || age < -chrono::Duration::minutes(5) {
        return None;
    }
    Some((entry.get("value")?.clone(), at))
}

/// Store `value` (produced at `at`) as an authenticated entry. A cache that cannot be written
/// only costs the next run its reuse.
pub fn write(dir: &Path, file: &Path, value: &Value, at: chrono::DateTime<chrono::Utc>) {
    let Some(key) = machine_key(dir) else { return };
    let payload = json!({
        "produced_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "value": value,
    })
    .to_string();
    let tag = hex::encode(hmac(&key, payload.as_bytes()));
    let stored = json!({"payload": payload, "hmac": tag}).to_string();
    let _ = crate::write_atomic(file, stored.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; ours are 32 bytes, zero-padded the same way.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn an_entry_older_than_the_maximum_age_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run-old.json");
        let two_days_ago = chrono::Utc::now() - chrono::Duration::hours(48);
        write(dir.path(), &file, &json!({"exit_code": 0}), two_days_ago);
        assert!(read(dir.path(), &file, chrono::Duration::hours(24)).is_none());
        assert!(read(dir.path(), &file, chrono::Duration::hours(72)).is_some());
    }

    #[test]
    fn a_planted_or_edited_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run-x.json");
        write(
            dir.path(),
            &file,
            &json!({"exit_code": 1}),
            chrono::Utc::now(),
        );
        let day = chrono::Duration::hours(24);
        assert_eq!(read(dir.path(), &file, day).unwrap().0["exit_code"], 1);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("\\\"exit_code\\\":1"));
        std::fs::write(
            &file,
            text.replace("\\\"exit_code\\\":1", "\\\"exit_code\\\":0"),
        )
        .unwrap();
        assert!(read(dir.path(), &file, day).is_none(), "an edited entry");
        let planted = json!({"payload": "{\"produced_at\":\"2026-01-01T00:00:00Z\",\"value\":{}}", "hmac": "00"});
        std::fs::write(&file, planted.to_string()).unwrap();
        assert!(read(dir.path(), &file, day).is_none(), "a planted entry");
    }
}
