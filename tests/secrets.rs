//! Nothing leaks (issue 16): a corpus of secret shapes — our own fake values in the forms the
//! rule families of well-known secret scanners look for — planted in every source shipshape
//! reads, audited into every format; no secret value appears in any output. Each shape is also
//! fed to the streaming redactor split at every byte, so a secret straddling a read boundary is
//! caught too.

mod support;

use assert_cmd::Command;
use shipshape::redact::{LineRedactor, Redactor};

/// (shape, line as it appears in a file, the secret value that must never be shown).
fn corpus() -> Vec<(&'static str, String, String)> {
    let b64 = "QmFzZTY0S2V5TWF0ZXJpYWxGb3JUZXN0aW5nT25seTEyMzQ1Njc4OTA";
    let mut v: Vec<(&str, String, String)> = vec![
        (
            "aws-access-key",
            "id AKIAZ7QWERTYUIOPASDF".into(),
            "AKIAZ7QWERTYUIOPASDF".into(),
        ),
        (
            "aws-secret",
            "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYZ".into(),
            "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYZ".into(),
        ),
        (
            "github-pat-classic",
            format!("token ghp_{}", "Zq9".repeat(12)),
            format!("ghp_{}", "Zq9".repeat(12)),
        ),
        (
            "github-pat-fine",
            format!("use github_pat_{}", "A1b2C3d4E5".repeat(4)),
            format!("github_pat_{}", "A1b2C3d4E5".repeat(4)),
        ),
        (
            "github-oauth",
            format!("gho_{}", "x7Y".repeat(12)),
            format!("gho_{}", "x7Y".repeat(12)),
        ),
        (
            "gitlab-pat",
            "glpat-Zx8Yw7Vu6Ts5Rq4Pp3Oo".into(),
            "glpat-Zx8Yw7Vu6Ts5Rq4Pp3Oo".into(),
        ),
        (
            "gitlab-deploy",
            "gldt-Zx8Yw7Vu6Ts5Rq4Pp3Oo9".into(),
            "gldt-Zx8Yw7Vu6Ts5Rq4Pp3Oo9".into(),
        ),
        (
            "slack-bot",
            "xoxb-1234567890-abcdefghijKL".into(),
            "xoxb-1234567890-abcdefghijKL".into(),
        ),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/zzzzzzzzzzzzzzzzzzzzzzzz".into(),
            "T0AAAAAAA/B0BBBBBBB/zzzzzzzzzzzzzzzzzzzzzzzz".into(),
        ),
        (
            "stripe-live",
            "sk_live_51HxQwErTyUiOpAsDfGhJkL".into(),
            "sk_live_51HxQwErTyUiOpAsDfGhJkL".into(),
        ),
        (
            "stripe-restricted",
            "rk_test_51HxQwErTyUiOpAsDfGhJkL".into(),
            "rk_test_51HxQwErTyUiOpAsDfGhJkL".into(),
        ),
        (
            "google-api",
            "key AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI".into(),
            "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI".into(),
        ),
        (
            "sendgrid",
            "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".into(),
            "ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr".into(),
        ),
        (
            "twilio",
            "SK0123456789abcdef0123456789abcdef".into(),
            "SK0123456789abcdef0123456789abcdef".into(),
        ),
        (
            "npm",
            format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                "q1W2e3R4t5Y6".repeat(3)
            ),
            format!("npm_{}", "q1W2e3R4t5Y6".repeat(3)),
        ),
        (
            "pypi",
            format!("pypi-AgEIcHlwaS5vcmc{}", "Zz9".repeat(12)),
            format!("pypi-AgEIcHlwaS5vcmc{}", "Zz9".repeat(12)),
        ),
        (
            "shopify",
            "shpat_0123456789abcdef0123456789abcdef".into(),
            "shpat_0123456789abcdef0123456789abcdef".into(),
        ),
        (
            "mailgun",
            "key-0123456789abcdefghijABCDEFGHIJ12".into(),
            "key-0123456789abcdefghijABCDEFGHIJ12".into(),
        ),
        (
            "azure-storage",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={b64}==;EndpointSuffix=core.windows.net"
            ),
            b64.into(),
        ),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg".into(),
            "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg".into(),
        ),
        (
            "auth-bearer",
            "Authorization: Bearer opaque.Token-Value_123".into(),
            "opaque.Token-Value_123".into(),
        ),
        (
            "auth-basic",
            "authorization: Basic dXNlcjpodW50ZXIyLXNlY3JldA==".into(),
            "dXNlcjpodW50ZXIyLXNlY3JldA==".into(),
        ),
        (
            "auth-token",
            "Authorization: Token tkn_92a8f7e6d5c4b3a2".into(),
            "tkn_92a8f7e6d5c4b3a2".into(),
        ),
        (
            "yaml-password-words",
            "password: correct horse battery staple".into(),
            "correct horse battery staple".into(),
        ),
        (
            "json-password",
            r#""password": "Tr0ub4dor and more""#.into(),
            "Tr0ub4dor and more".into(),
        ),
        (
            "env-db-password",
            "DB_PASSWORD=s3cr3t-Passw0rd!".into(),
            "s3cr3t-Passw0rd!".into(),
        ),
        (
            "env-api-token",
            "export API_TOKEN=tok_live_abcdef123456".into(),
            "tok_live_abcdef123456".into(),
        ),
        (
            "env-client-secret",
            "OAUTH_CLIENT_SECRET='csec with spaces 42'".into(),
            "csec with spaces 42".into(),
        ),
        (
            "toml-api-key",
            r#"api_key = "k-2f9a8b7c6d5e4f3a""#.into(),
            "k-2f9a8b7c6d5e4f3a".into(),
        ),
        (
            "yaml-apikey",
            "apikey: zyxwvu987654321".into(),
            "zyxwvu987654321".into(),
        ),
        (
            "private-key-field",
            "private_key: not-really-a-pem-but-secret".into(),
            "not-really-a-pem-but-secret".into(),
        ),
        (
            "credentials",
            "credentials = user:VerySecretPass99".into(),
            "VerySecretPass99".into(),
        ),
        (
            "secret-access-key",
            "SecretAccessKey: aB3dE5fG7hI9jK1lM3nO5pQ7rS9".into(),
            "aB3dE5fG7hI9jK1lM3nO5pQ7rS9".into(),
        ),
        (
            "properties-secret",
            "app.secret=property-secret-value".into(),
            "property-secret-value".into(),
        ),
        (
            "signing-key-material",
            format!("SIGNING_KEY={b64}"),
            b64.into(),
        ),
        (
            "url-postgres",
            "postgres://app:pg-pass-123@db.internal:5432/app".into(),
            "pg-pass-123".into(),
        ),
        (
            "url-slash-in-password",
            "https://deploy:pa/ss/w0rd@git.example.com/repo.git".into(),
            "pa/ss/w0rd".into(),
        ),
        (
            "url-upper-scheme",
            "HTTPS://user:UpperCasePass1@example.com/".into(),
            "UpperCasePass1".into(),
        ),
        (
            "url-redis-no-user",
            "redis://:redisPass77@cache:6379/0".into(),
            "redisPass77".into(),
        ),
        (
            "docker-auth",
            r#""auth": "ZG9ja2VyOmRvY2tlci1wYXNzd29yZA==""#.into(),
            "ZG9ja2VyOmRvY2tlci1wYXNzd29yZA==".into(),
        ),
        (
            "passphrase",
            "gpg passphrase: the quick brown fox".into(),
            "the quick brown fox".into(),
        ),
    ];
    for (name, kind) in [
        ("pem-rsa", "RSA PRIVATE KEY"),
        ("openssh", "OPENSSH PRIVATE KEY"),
        ("pgp", "PGP PRIVATE KEY BLOCK"),
    ] {
        let body = format!("MIIEpAIBAAKCAQEA{}", name.replace('-', "").to_uppercase());
        v.push((
            name,
            format!("-----BEGIN {kind}-----\n{body}ZZKEYBODY\n-----END {kind}-----"),
            format!("{body}ZZKEYBODY"),
        ));
    }
    v
}

#[test]
fn the_corpus_has_at_least_forty_shapes() {
    assert!(corpus().len() >= 40, "{}", corpus().len());
}

#[test]
fn every_shape_is_redacted_whole_and_across_every_read_boundary() {
    let r = Redactor::builtin();
    for (name, line, secret) in corpus() {
        let text = format!("before\n{line}\nafter\n");
        let out = r.text(&text);
        assert!(!out.contains(&secret), "{name}: {out}");
        assert!(
            out.contains("before") && out.contains("after"),
            "{name}: {out}"
        );
        for split in 0..text.len() {
            let mut s = LineRedactor::new(r);
            let mut out = s.push(&text.as_bytes()[..split]);
            out.extend(s.push(&text.as_bytes()[split..]));
            out.extend(s.finish());
            let out = String::from_utf8_lossy(&out);
            assert!(!out.contains(&secret), "{name} split at {split}: {out}");
        }
    }
}

const POLICY: &str = r#"
[audit]
name = "secrets"

[[area]]
id = "a"

[[rule]]
id = "artifact"
area = "a"
evidence.d = { artifact = "docs/notes.md" }
expect = ['d.status == "NEVER"']

[[rule]]
id = "scan"
area = "a"
evidence.s = { scan = 'shape-\d+|KEYBODY', include = ["config/**"] }
expect = ['s.count == 0']

[[rule]]
id = "capture"
area = "a"
evidence.c = { capture = 'shape-\d+ (.*)', include = ["config/all.txt"] }
expect = ['size(c.values) == 0']

[[rule]]
id = "data"
area = "a"
evidence.j = { data = "config/app.json" }
expect = ['j.value.never == 1']

[[rule]]
id = "run"
area = "a"
evidence.r = { run = "cat config/all.txt; cat config/all.txt >&2; exit 1" }
expect = ['r.exit_code == 0']

[[rule]]
id = "cluster"
area = "a"
evidence.k = { cluster = "v1", kind = "ConfigMap" }
expect = ['k.count == 0']

[[rule]]
id = "git"
area = "a"
evidence.g = { git = "last_change", path = "config/all.txt" }
expect = ['g.subject == "never"']

[[rule]]
id = "head"
area = "a"
evidence.h = { git = "head" }
expect = ['h.branch == "never"']
"#;

#[test]
fn no_secret_reaches_any_format_from_any_source() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let corpus = corpus();
    let write = |rel: &str, text: &str| {
        let p = r.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("shipshape.toml", POLICY);
    let mut all = String::new();
    let mut notes = String::from("# Notes\n\nStatus: DRAFT\n\n");
    let mut json = serde_json::Map::new();
    let mut cm = String::from(
        "# captured-at: 2026-03-01T11:00:00Z\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaky\n  namespace: d\n  annotations:\n",
    );
    for (i, (_, line, _)) in corpus.iter().enumerate() {
        all.push_str(&format!("shape-{i:02} {line}\n"));
        notes.push_str(&format!("{line}\n\n"));
        json.insert(format!("shape{i:02}"), serde_json::json!(line));
        if !line.contains('\n') {
            cm.push_str(&format!(
                "    note{i:02}: {}\n",
                serde_json::to_string(&format!("shape-{i:02} {line}")).unwrap()
            ));
        }
    }
    cm.push_str("data:\n");
    for (i, (_, line, _)) in corpus.iter().enumerate() {
        cm.push_str(&format!(
            "  k{i:02}: {}\n",
            serde_json::to_string(line).unwrap()
        ));
    }
    write("config/all.txt", &all);
    write("docs/notes.md", &notes);
    write(
        "config/app.json",
        &serde_json::to_string_pretty(&serde_json::Value::Object(json)).unwrap(),
    );
    write("evidence/cluster.yaml", &cm);
    let token = &corpus[2].2;
    support::git(r, &["init", "-q", "-b", &format!("feature/{token}")]);
    support::git(r, &["add", "-A"]);
    let subject = format!("rotate {} and password: {}", corpus[0].2, corpus[23].2);
    support::git(r, &["commit", "-q", "-m", &subject]);

    let out = dir.path().join("out");
    let o = Command::cargo_bin("shipshape")
        .unwrap()
        .arg("audit")
        .arg(r)
        .args(["--now", "2026-03-01T12:00:00Z", "-q", "--no-cache"])
        .args(["--format", "md,html,json,junit,sarif,intoto", "--out"])
        .arg(&out)
        .arg("--cluster-snapshot")
        .arg(r.join("evidence/cluster.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let files: Vec<(String, String)> = [
        "report.md",
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.sarif",
        "report.intoto.json",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read_to_string(out.join(n)).unwrap()))
    .chain([("stdout".to_string(), stdout)])
    .collect();
    // The lines did reach the bundle (the test is not vacuous): their tags are there.
    let bundle = &files[2].1;
    for i in [0, 10, 20, 30, corpus.len() - 4] {
        assert!(
            bundle.contains(&format!("shape-{i:02}")),
            "shape-{i:02} not collected"
        );
    }
    for (name, _, secret) in &corpus {
        for (file, text) in &files {
            assert!(
                !text.contains(secret.as_str()),
                "{name}: `{secret}` leaks into {file}"
            );
        }
    }
}
