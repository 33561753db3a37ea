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

/// Raw HTML counts as GitHub renders it: `<a href>` and `<img src>` are links, `id` and `name`
/// are anchors (read with an HTML tokenizer, so attribute order, quotes and line breaks inside a
/// tag do not matter, and none of it counts inside a code block); a fragment on a folder link
/// is looked up in the README GitHub shows for that folder.
#[test]
fn raw_html_links_and_anchors_and_folder_readmes() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "docs/setup/README.md", "# Setup\n\n## Install\n");
    write(r, "docs/empty/notes.txt", "no readme here\n");
    write(r, "img/logo.png", "png");
    write(
        r,
        "README.md",
        concat!(
            "# Readme\n",
            "<p align=\"center\">\n",
            "  <img alt='logo'\n",
            "       src='img/logo.png'>\n",
            "  <img src=\"img/missing.png\">\n",
            "</p>\n",
            "\n",
            "Inline <a class=x href=\"docs/setup/#install\">install</a> and <a href='docs/gone.md'>gone</a>.\n",
            "\n",
            "<a name=\"legacy\"></a><span id='custom'>x</span>\n",
            "\n",
            "[legacy](#legacy) [custom](#custom) [folder](docs/setup/#install) [bad](docs/setup/#nope)\n",
            "[no readme](docs/empty/#x)\n",
            "\n",
            "```html\n<a href=\"fenced.md\" id=\"fenced\">x</a>\n```\n",
            "[not an anchor](#fenced)\n",
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
            (5, "img/missing.png", "file not found"),
            (8, "docs/gone.md", "file not found"),
            (
                12,
                "docs/setup/#nope",
                "no heading or anchor `#nope` in `docs/setup/README.md`"
            ),
            (
                13,
                "docs/empty/#x",
                "`docs/empty/` has no README to hold `#x` (GitHub shows the folder's README there)"
            ),
            (
                18,
                "#fenced",
                "no heading or anchor `#fenced` in `README.md`"
            ),
        ],
        "{v:#}"
    );
    // Two images, two inline anchors, four Markdown links to the folder and anchors, one more.
    assert_eq!(v["checked"], 10, "{v:#}");
}
