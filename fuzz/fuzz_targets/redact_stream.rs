//! Redaction never keeps a secret: random text with a secret of one of the built-in shapes
//! embedded at a random offset (set off by a space or a line break, so the secret stays that
//! secret), fed to the streaming redactor in two reads split at a random byte — across the
//! chunk boundary too. The secret must not survive, whole, anywhere in the output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipshape::redact::{LineRedactor, Redactor};

const SHAPES: &[(&str, &str)] = &[
    ("", "AKIAZ7QWERTYUIOPASDF"),
    ("", "ghp_Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9"),
    ("", "glpat-Zx8Yw7Vu6Ts5Rq4Pp3Oo"),
    ("", "xoxb-1234567890-abcdefghijKL"),
    ("", "sk_live_51HxQwErTyUiOpAsDfGhJkL"),
    ("", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
    ("", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"),
    ("Authorization: Bearer ", "opaque.Token-Value_123"),
    ("password: ", "correct horse battery staple"),
    ("DB_PASSWORD=", "s3cr3t-Passw0rd!"),
    ("postgres://app:", "pg-pass-123@db"),
    ("SIGNING_KEY=", "QmFzZTY0S2V5TWF0ZXJpYWxGb3JUZXN0aW5n"),
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (prefix, secret) = SHAPES[data[0] as usize % SHAPES.len()];
    let split_at = u16::from_le_bytes([data[1], data[2]]) as usize;
    let rest = String::from_utf8_lossy(&data[3..]);
    let kept = secret.split('@').next().unwrap_or(secret);
    // Only the planted secret is judged: the same characters glued into a longer word in the
    // random text are not that secret's shape (scanners anchor on word boundaries too).
    if rest.contains(kept) {
        return;
    }
    let cut = rest
        .char_indices()
        .map(|(i, _)| i)
        .nth(data[1] as usize % (rest.chars().count() + 1))
        .unwrap_or(rest.len());
    let (before, after) = rest.split_at(cut);
    // The line holding the secret starts fresh, so random text cannot turn its key into
    // another word; what follows may be anything.
    let text = format!("{before}\n{prefix}{secret} {after}\n");
    let bytes = text.as_bytes();
    let split = split_at % (bytes.len() + 1);
    let mut stream = LineRedactor::new(Redactor::builtin());
    let mut out = stream.push(&bytes[..split]);
    out.extend(stream.push(&bytes[split..]));
    out.extend(stream.finish());
    let out = String::from_utf8_lossy(&out);
    assert!(
        !out.contains(kept),
        "secret `{kept}` kept in:\n{out}\n--- from ---\n{text}"
    );
});
