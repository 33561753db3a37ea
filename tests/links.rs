//! The `links` source on a docs tree that exercises GitHub's rules and the usual traps: links
//! in code are not links, duplicate headings get -1, emoji and punctuation vanish from slugs,
//! explicit anchors count, line anchors are checked against the file, and external URLs are
//! counted but never fetched.

mod support;

use support::write;

use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use shipshape::collect::{self, Ctx, Request, artifact::PlaceholderSet};
use shipshape::policy::model::EvidenceRaw;

fn check(root: &Path, include: &[&str]) -> Value {
    let ph = PlaceholderSet::default();
    let canon = std::fs::canonicalize(root).unwrap();
    let ctx = Ctx::new(
        canon.clone(),
        canon,
        collect::Options {
            now: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            skip_commands: true,
            jobs: 1,
            max_file_bytes: 1 << 20,
            cache_dir: None,
            cache_max_age: chrono::Duration::hours(24),
        },
        &ph,
        String::new(),
    );
    let raw: EvidenceRaw = serde_json::from_value(json!({"links": include})).unwrap();
    let req = Request::from_raw(&raw).unwrap();
    let plan = [(req.key(), req.clone())].into_iter().collect();
    let (items, _) = collect::collect_all(&ctx, &plan);
    items[&req.key()].as_result().unwrap().clone()
}

#[test]
fn github_rules_and_traps() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".gitignore", "build/\n");
    write(r, "build/out.md", "# Out\n");
    write(
        r,
        "docs/guide.md",
        "# Guide\n\n## Set up\n\n## Set up\n\n## 🚀 Launch: v2.0!\n\n<a id=\"custom-anchor\"></a>\n\nline 11\nline 12\n",
    );
    write(r, "docs/my file.md", "# Spaced\n");
    write(r, "src/main.rs", "fn main() {}\n");
    write(
        r,
        "README.md",
        concat!(
            "# Readme\n",
            "[ok](docs/guide.md) [dup](docs/guide.md#set-up-1) [emoji](docs/guide.md#-launch-v20)\n",
            "[explicit](docs/guide.md#custom-anchor) [case](docs/guide.md#Set-Up) [self](#readme)\n",
            "[line](docs/guide.md#L12) [dir](docs/) [space](docs/my%20file.md) [root](/src/main.rs#L1)\n",
            "[web](https://example.com/x) [mail](mailto:a@b.c)\n",
            "`[code](nope.md)`\n",
            "```\n[fenced](nope.md)\n```\n",
            "[missing](docs/nope.md) [bad anchor](docs/guide.md#set-up-2) [far line](src/main.rs#L9)\n",
            "[ignored](build/out.md) [escape](../../etc/passwd) [bad self](#nowhere)\n",
        ),
    );
    let v = check(r, &["README.md"]);
    let broken: Vec<(u64, &str, &str)> = v["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["target"].as_str().unwrap(),
                b["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        broken,
        vec![
            (10, "docs/nope.md", "file not found"),
            (
                10,
                "docs/guide.md#set-up-2",
                "no heading or anchor `#set-up-2` in `docs/guide.md`"
            ),
            (10, "src/main.rs#L9", "line 9 is past the end (1 lines)"),
            (
                11,
                "build/out.md",
                "target is ignored or outside the audited files"
            ),
            (11, "../../etc/passwd", "leaves the repository"),
            (
                11,
                "#nowhere",
                "no heading or anchor `#nowhere` in `README.md`"
            ),
        ]
    );
    assert_eq!(v["external"], 2);
    assert_eq!(v["checked"], 16);
}

/// In Sphinx (MyST) docs a link to a bare label or dotted name is a cross-reference the docs
/// build resolves, not a file (found on attrs' docs, docs/field-tests.md); outside a Sphinx
/// folder the same link is broken, and so is a missing file even inside one.
#[test]
fn sphinx_cross_references_are_not_broken_links() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "docs/conf.py", "project = 'x'\n");
    write(
        r,
        "docs/init.md",
        "# Init\n\nSee [validators](api-validators) and [](attrs.frozen), and [the guide](guide.md).\n",
    );
    write(
        r,
        "notes/a.md",
        "# A\n\nSee [validators](api-validators).\n",
    );
    let v = check(r, &["docs/**/*.md", "notes/*.md"]);
    let broken: Vec<(&str, &str)> = v["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["path"].as_str().unwrap(), b["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        broken,
        [
            ("docs/init.md", "guide.md"),
            ("notes/a.md", "api-validators")
        ]
    );
    let xrefs: Vec<&str> = v["xrefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["target"].as_str().unwrap())
        .collect();
    assert_eq!(xrefs, ["api-validators", "attrs.frozen"]);
}
