//! Inputs that once crashed, hung or blew up a parser — found by the fuzz targets in `fuzz/`
//! (each test names its target) or by the size and shape limits of issue 8 — kept as tests so
//! they stay fixed. Every parser here must answer quickly with a value or an error: never a
//! panic, a stack overflow or an unbounded allocation.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use shipshape::collect::{self, Ctx, Request, artifact::PlaceholderSet};
use shipshape::policy::model::EvidenceRaw;

fn collect_one(root: &Path, raw: Value) -> Result<Value, String> {
    let ph = PlaceholderSet::default();
    let root = std::fs::canonicalize(root).unwrap();
    let c = Ctx::new(
        root.clone(),
        root,
        collect::Options {
            now: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            skip_commands: false,
            jobs: 1,
            max_file_bytes: 16 * 1024 * 1024,
            cache_dir: None,
            cache_max_age: chrono::Duration::hours(24),
        },
        &ph,
        "docs/ops".into(),
    );
    let raw: EvidenceRaw = serde_json::from_value(raw).unwrap();
    let req = Request::from_raw(&raw).unwrap();
    let plan = [(req.key(), req.clone())].into_iter().collect();
    let (items, _) = collect::collect_all(&c, &plan);
    items[&req.key()]
        .as_result()
        .cloned()
        .map_err(str::to_string)
}

fn quickly<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let v = f();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{what} took {:?}",
        started.elapsed()
    );
    v
}

fn alias_bomb() -> String {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = "a";
    for n in ["b", "c", "d", "e", "f", "g", "h", "i"] {
        bomb.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    bomb
}

const DEEP: usize = 100_000;

#[test]
fn data_files_nested_100000_deep_are_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let files = [
        (
            "deep.json",
            format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP)),
        ),
        (
            "deep-object.json",
            format!("{}1{}", "{\"a\":".repeat(DEEP), "}".repeat(DEEP)),
        ),
        (
            "deep.yaml",
            format!("a: {}{}\n", "[".repeat(DEEP), "]".repeat(DEEP)),
        ),
        (
            "deep-block.yaml",
            (0..2000)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect(),
        ),
        (
            "deep.toml",
            format!("a = {}{}\n", "[".repeat(DEEP), "]".repeat(DEEP)),
        ),
        (
            "deep-inline.toml",
            format!("a = {}1{}\n", "{b = ".repeat(DEEP), "}".repeat(DEEP)),
        ),
        (
            "deep-keys.toml",
            format!("{} = 1\n", vec!["a"; DEEP].join(".")),
        ),
        (
            "deep.xml",
            format!(
                "{}{}",
                "<testsuite>".repeat(DEEP),
                "</testsuite>".repeat(DEEP)
            ),
        ),
        ("bomb.yaml", alias_bomb()),
    ];
    for (name, text) in files {
        std::fs::write(r.join(name), text).unwrap();
        let result = quickly(name, || collect_one(r, json!({"data": name})));
        // Either refused with a reason, or parsed into a value; the run goes on.
        match result {
            Err(e) => assert!(!e.contains("internal error"), "{name}: {e}"),
            Ok(v) => assert_eq!(v["exists"], true, "{name}"),
        }
    }
}

#[test]
fn manifests_alias_bombs_and_deep_nesting_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir_all(r.join("k8s")).unwrap();
    std::fs::write(r.join("k8s/bomb.yaml"), alias_bomb()).unwrap();
    std::fs::write(
        r.join("k8s/deep.yaml"),
        format!("a: {}{}\n", "[".repeat(DEEP), "]".repeat(DEEP)),
    )
    .unwrap();
    std::fs::write(
        r.join("k8s/deep-map.yaml"),
        format!("a: {}1{}\n", "{b: ".repeat(DEEP), "}".repeat(DEEP)),
    )
    .unwrap();
    std::fs::write(
        r.join("k8s/ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
    )
    .unwrap();
    let v = quickly("manifests", || {
        collect_one(r, json!({"manifests": ["k8s/*.yaml"]}))
    })
    .unwrap();
    assert_eq!(v["count"], 1, "{v}");
}

#[test]
fn markdown_nested_100000_deep_or_huge_parses_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let files = [
        ("quotes.md", format!("{} Status: DONE\n", ">".repeat(DEEP))),
        (
            "lists.md",
            (0..5000)
                .map(|i| format!("{}- x\n", "  ".repeat(i)))
                .collect(),
        ),
        (
            "brackets.md",
            format!("Status: DONE\n{}x{}\n", "[".repeat(DEEP), "]".repeat(DEEP)),
        ),
        (
            "emphasis.md",
            format!(
                "Status: DONE\n{}x{}\n",
                "*_".repeat(DEEP / 2),
                "_*".repeat(DEEP / 2)
            ),
        ),
        (
            "links.md",
            format!("Status: DONE\n{}\n", "[a](".repeat(DEEP)),
        ),
        (
            "front.md",
            format!("---\n{}---\nStatus: DONE\n", alias_bomb()),
        ),
        (
            "deepfront.md",
            format!(
                "---\na: {}{}\n---\nStatus: DONE\n",
                "[".repeat(DEEP),
                "]".repeat(DEEP)
            ),
        ),
        // Just under the default 8 MiB limit: a 600,000-row table full of placeholders.
        ("huge.md", "| a | TODO |\n".repeat(600_000)),
    ];
    for (name, text) in files {
        std::fs::write(r.join(name), text).unwrap();
        let result = quickly(name, || collect_one(r, json!({"artifact": name})));
        match result {
            Err(e) => assert!(!e.contains("internal error"), "{name}: {e}"),
            Ok(v) => {
                assert_eq!(v["exists"], true, "{name}");
                if name == "huge.md" {
                    assert_eq!(v["truncated"], true);
                    assert_eq!(v["placeholders"].as_array().unwrap().len(), 10_000);
                }
            }
        }
    }
}

/// Regression: a bundle written by an installed shipshape (no dev-dependencies in the build)
/// failed its own integrity check on `render`/`verify`: without serde_json's `float_roundtrip`
/// feature, parsing a float back can land one ulp away, so the re-hashed content differed.
/// `cargo test` did not see it because a dev-dependency switches the feature on for the whole
/// test build. The feature must be asked for by shipshape itself.
#[test]
fn serde_json_float_roundtrip_is_a_direct_dependency_feature() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let doc: toml::Table = manifest.parse().unwrap();
    let features = doc["dependencies"]["serde_json"]["features"]
        .as_array()
        .expect("serde_json must list its features in [dependencies]");
    assert!(
        features
            .iter()
            .any(|f| f.as_str() == Some("float_roundtrip")),
        "serde_json needs features = [\"float_roundtrip\"] so bundles re-hash identically"
    );
    // And the property itself, on values like the ones a score and coverage produce.
    for x in [
        7.614035087719298_f64,
        0.1 + 0.2,
        90.65_f64,
        1.0 / 3.0,
        88.46153846153847,
    ] {
        let text = serde_json::to_string(&x).unwrap();
        let back: f64 = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_bits(), x.to_bits(), "{text}");
    }
}

/// Found by the `scan_lines` fuzz target: the scan searched whole texts in CRLF mode, where `.`
/// does not match `\r`, so `x.` missed the line `x\ry`. Lines are what `str::lines` yields, a
/// lone `\r` included, and `$` still meets a `\r\n` line end.
#[test]
fn scan_matches_lines_holding_carriage_returns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), "one\r\nx\ry\nfoo\r\nlast x\r").unwrap();
    let lines = |pattern: &str| -> Vec<u64> {
        let v = collect_one(dir.path(), json!({"scan": pattern})).unwrap();
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(lines("x."), [2, 4]);
    assert_eq!(lines("foo$"), [3]);
    assert_eq!(lines("^one$"), [1]);
}
