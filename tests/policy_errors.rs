//! A broken policy must be reported whole, each problem with file:line:column, in one run —
//! and the exact wording is part of the interface, so it is pinned here.

use assert_cmd::Command;

fn validate(files: &[(&str, &str)], main: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(dir.path())
        .args(["policy", "validate", main])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

const HEAD: &str = "[audit]\nname = \"t\"\n\n[[area]]\nid = \"docs\"\n\n";

fn one(body: &str) -> String {
    let (code, err) = validate(&[("p.toml", &format!("{HEAD}{body}"))], "p.toml");
    assert_eq!(code, 2, "a bad policy exits 2: {err}");
    let e = errors(&err);
    assert_eq!(e.len(), 1, "exactly one error expected, got:\n{err}");
    e[0].to_string()
}

#[test]
fn unknown_key_in_audit() {
    let (code, err) = validate(
        &[("p.toml", "[audit]\nname = \"t\"\ncolour = \"blue\"\n")],
        "p.toml",
    );
    assert_eq!(code, 2);
    assert_eq!(
        errors(&err),
        vec!["error: p.toml:3:1: unknown key `colour` in [audit]"]
    );
}

#[test]
fn unknown_key_in_evidence() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"README.md\", globb = \"x\" }\nexpect = ['d.exists']\n"
        ),
        "error: p.toml:10:40: unknown key `globb` in rule.evidence.d"
    );
}

#[test]
fn duplicate_rule_id() {
    let rule = "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"README.md\" }\nexpect = ['d.exists']\n\n";
    assert_eq!(
        one(&format!("{rule}{rule}")),
        "error: p.toml:14:1: duplicate rule id `r`"
    );
}

#[test]
fn unknown_area() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"nope\"\nevidence.d = { artifact = \"README.md\" }\nexpect = ['d.exists']\n"
        ),
        "error: p.toml:9:1: rule `r`: unknown area `nope`"
    );
}

#[test]
fn bad_glob() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"docs/[x.md\" }\nexpect = ['d.exists']\n"
        ),
        "error: p.toml:10:10: rule `r`: evidence `d` bad glob `docs/[x.md`: unclosed character class; missing ']'"
    );
}

#[test]
fn bad_regex() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.m = { scan = '(open' }\nexpect = ['m.count == 0']\n"
        ),
        "error: p.toml:10:10: rule `r`: evidence `m` bad regex `(open`: regex parse error: (open ^ error: unclosed group"
    );
}

#[test]
fn cel_that_does_not_compile() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"README.md\" }\nexpect = ['d.status in [']\n"
        ),
        "error: p.toml:11:25: rule `r`: expect[0] does not compile: Syntax error: mismatched input '<EOF>'"
    );
}

#[test]
fn undeclared_name_in_expect() {
    assert_eq!(
        one(
            "[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"README.md\" }\nexpect = ['d.exists', 'doc.items.all(x, x.exists)']\n"
        ),
        "error: p.toml:11:23: rule `r`: expect[1] uses `doc`, which the rule does not declare (declared: d)"
    );
}

#[test]
fn waiver_for_unknown_rule_and_incomplete_waiver() {
    let (code, err) = validate(
        &[(
            "p.toml",
            &format!(
                "{HEAD}[[waiver]]\nrule = \"ghost\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n\n[[waiver]]\nrule = \"ghost\"\n"
            ),
        )],
        "p.toml",
    );
    assert_eq!(code, 2);
    assert_eq!(
        errors(&err),
        vec![
            "error: p.toml:7:1: waiver for unknown rule `ghost`",
            "error: p.toml:13:1: waiver needs reason, owner, expires",
        ]
    );
}

#[test]
fn include_cycle() {
    let (code, err) = validate(
        &[
            ("a.toml", "include = [\"b.toml\"]\n"),
            ("b.toml", "include = [\"a.toml\"]\n"),
        ],
        "a.toml",
    );
    assert_eq!(code, 2);
    let e = errors(&err);
    assert_eq!(e.len(), 1, "{err}");
    assert!(
        e[0].starts_with("error: b.toml:1:12: include cycle: "),
        "{}",
        e[0]
    );
    assert!(e[0].ends_with("a.toml"), "{}", e[0]);
}

#[test]
fn toml_syntax_error_names_the_place() {
    let (code, err) = validate(&[("p.toml", "[audit]\nname = \"t\nx = 1\n")], "p.toml");
    assert_eq!(code, 2);
    let e = errors(&err);
    assert_eq!(e.len(), 1, "{err}");
    assert_eq!(
        e[0],
        "error: p.toml:2:10: TOML syntax error: invalid basic string, expected `\"`"
    );
}

#[test]
fn missing_policy_file() {
    let (code, err) = validate(&[], "nope.toml");
    assert_eq!(code, 2);
    assert_eq!(
        errors(&err),
        vec!["error: nope.toml:1:1: cannot read policy `nope.toml`: no such file"]
    );
}

#[test]
fn five_mistakes_five_errors() {
    let body = "[[rule]]\nid = \"a\"\narea = \"nowhere\"\nevidence.d = { artifact = \"README.md\", wat = 1 }\nexpect = ['d.exists']\n\n[[rule]]\nid = \"b\"\narea = \"docs\"\nevidence.m = { scan = '[' }\nexpect = ['m.count ==']\n\n[[waiver]]\nrule = \"nobody\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n";
    let (code, err) = validate(&[("p.toml", &format!("{HEAD}{body}"))], "p.toml");
    assert_eq!(code, 2);
    let e = errors(&err);
    assert_eq!(e.len(), 5, "{err}");
    assert!(err.contains("unknown key `wat`"));
    assert!(err.contains("unknown area `nowhere`"));
    assert!(err.contains("evidence `m` bad regex"));
    assert!(err.contains("expect[0] does not compile"));
    assert!(err.contains("waiver for unknown rule `nobody`"));
    assert!(err.contains("5 problem(s) in p.toml"));
}

#[test]
fn shipped_policies_validate() {
    for name in [
        "builtin:default",
        "builtin:shipshape",
        "builtin:k8s-hardening",
    ] {
        let (code, err) = validate(&[], name);
        assert_eq!(code, 0, "{name}: {err}");
    }
}

#[test]
fn unknown_handoff_question() {
    let e = one(
        "[[rule]]\nid = \"r\"\narea = \"docs\"\nhandoff = [\"runbooks\", \"pager\"]\nevidence.d = { artifact = \"README.md\" }\nexpect = ['d.exists']\n",
    );
    assert_eq!(
        e,
        "error: p.toml:10:1: rule `r`: handoff `pager` is not one of runbooks, escalation, dr-drill, alerting"
    );
}

/// A glob set used where one path is taken must hold one glob; a `[[document]]` row likewise;
/// `[audit] area_order` may name only declared areas, and it orders the report's areas.
#[test]
fn glob_sets_in_single_path_fields_and_area_order() {
    let e = one(
        "[globs]\ntwo = [\"a.md\", \"b.md\"]\n\n[[rule]]\nid = \"r\"\narea = \"docs\"\nevidence.d = { artifact = \"@two\" }\nexpect = ['d.exists']\n",
    );
    assert!(
        e.contains("`@two` stands for several globs here, where one path or glob is taken"),
        "{e}"
    );
    let e = one("[globs]\ntwo = [\"a.md\", \"b.md\"]\n\n[[document]]\npath = \"@two\"\n");
    assert!(
        e.contains("[[document]] path `@two` must name a [globs] set of exactly one glob"),
        "{e}"
    );
    let (code, err) = validate(
        &[(
            "p.toml",
            "[audit]\nname = \"t\"\narea_order = [\"b\", \"nope\"]\n\n[[area]]\nid = \"a\"\n\n[[area]]\nid = \"b\"\n",
        )],
        "p.toml",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("[audit] area_order names `nope`, which no [[area]] declares"),
        "{err}"
    );
    // With a set of one glob the artifact reads that file; the order puts `b` first.
    let p = shipshape::policy::load_str(
        "p.toml",
        "[audit]\nname = \"t\"\narea_order = [\"b\"]\n\n[globs]\none = [\"docs/run*.md\"]\n\n[[area]]\nid = \"a\"\n\n[[area]]\nid = \"b\"\n\n[[rule]]\nid = \"r\"\narea = \"a\"\nevidence.d = { artifact = \"@one\" }\nexpect = ['d.exists']\n",
    )
    .unwrap();
    assert_eq!(
        p.areas.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    let key = p.rules[0].evidence["d"].key();
    assert!(key.contains("\"docs/run*.md\""), "{key}");
}
