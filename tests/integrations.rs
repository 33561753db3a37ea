//! The files that put shipshape into other systems — CI templates, pre-commit hooks, the
//! Kubernetes CronJob and its image — are parsed here, and every `shipshape …` command they
//! run is checked against the real clap definitions, so a renamed flag breaks this test and not
//! somebody's pipeline.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_yaml::Value;

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

/// Flags of sources being added on other branches (name, takes a value).
const PENDING_FLAGS: &[(&str, bool)] = &[
    ("--in-cluster", false),
    ("--cluster-snapshot", true),
    ("--context", true),
    ("--publish", false),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            Value::deserialize(d).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

/// Every string in a YAML tree.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|x| strings(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(_, x)| strings(x, out)),
        Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// Keys whose values a shell runs: GitHub `run`, GitLab `script`s.
const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Every script string in a CI file.
fn scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Sequence(s) => s.iter().for_each(|x| scripts(x, out)),
        Value::Mapping(m) => {
            for (k, x) in m {
                if k.as_str().is_some_and(|k| SCRIPT_KEYS.contains(&k)) {
                    strings(x, out);
                } else {
                    scripts(x, out);
                }
            }
        }
        Value::Tagged(t) => scripts(&t.value, out),
        _ => {}
    }
}

/// Split a shell line into words (quotes removed), keeping operators as their own words.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if cur.is_empty() => break,
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, ';' | '|' | '&' | '>' | '<' | '(' | ')') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                let mut op = c.to_string();
                while let Some(&n) = chars.peek() {
                    if matches!(n, '|' | '&' | '>') {
                        op.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(op);
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_op(w: &str) -> bool {
    w.chars()
        .all(|c| matches!(c, ';' | '|' | '&' | '>' | '<' | '(' | ')'))
}

/// The argument lists of every `shipshape …` command in a script.
fn shipshape_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let w = words(line);
        let mut i = 0;
        while i < w.len() {
            // a simple command runs from here to the next operator
            let end = (i..w.len()).find(|&j| is_op(&w[j])).unwrap_or(w.len());
            let mut cmd: Vec<String> = w[i..end].to_vec();
            while cmd.first().is_some_and(|c| {
                c.contains('=') && !c.starts_with('-')
                    || matches!(c.as_str(), "exec" | "time" | "then" | "do" | "!")
            }) {
                cmd.remove(0);
            }
            let is_bin = cmd
                .first()
                .is_some_and(|c| c == "shipshape" || c.ends_with("/shipshape"));
            if is_bin {
                found.push(cmd);
            } else if cmd.first().is_some_and(|c| c == "cargo")
                && cmd.iter().any(|c| c == "run")
                && let Some(dd) = cmd.iter().position(|c| c == "--")
            {
                let mut args = vec!["shipshape".to_string()];
                args.extend(cmd[dd + 1..].iter().cloned());
                found.push(args);
            }
            // skip the output redirection target too
            i = end + 1;
            if i > 0 && i - 1 < w.len() && w[i - 1].contains('>') {
                i += 1;
            }
        }
    }
    found
}

/// Parse with the real CLI (after taking out flags that other branches add).
fn check_command(origin: &str, args: &[String]) {
    let mut kept: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some((_, takes)) = PENDING_FLAGS.iter().find(|(f, _)| a == f) {
            if *takes {
                it.next();
            }
            continue;
        }
        kept.push(a.clone());
    }
    let cli = match cli::Cli::try_parse_from(&kept) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            return;
        }
        Err(e) => panic!(
            "{origin}: `{}` is not a valid shipshape command:\n{e}",
            args.join(" ")
        ),
    };
    // Formats, modes and decisions are checked by the parser itself (clap value enums).
    drop(cli);
}

fn commands_in(path: &Path) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for doc in yaml_docs(path) {
        let mut s = Vec::new();
        scripts(&doc, &mut s);
        for script in s {
            all.extend(shipshape_commands(&script));
        }
    }
    all
}

#[test]
fn the_word_splitter_finds_commands_at_command_position() {
    let c = shipshape_commands(
        "set +e\nFOO=1 shipshape audit . --format md,json > log 2>&1 && echo \"shipshape: done\"\ncargo install --git x shipshape\ncargo run -q -- policy validate a.toml\n./target/release/shipshape render \\\n  out/report.json",
    );
    let c: Vec<String> = c.iter().map(|a| a.join(" ")).collect();
    assert_eq!(
        c,
        vec![
            "shipshape audit . --format md,json",
            "shipshape policy validate a.toml",
            "./target/release/shipshape render out/report.json",
        ]
    );
}

#[test]
fn ci_templates_run_only_commands_that_exist() {
    for (file, at_least) in [
        ("examples/ci/github-actions.yml", 2),
        ("examples/ci/gitlab-ci.yml", 2),
    ] {
        let cmds = commands_in(&root().join(file));
        assert!(
            cmds.len() >= at_least,
            "{file}: expected shipshape commands, found {cmds:?}"
        );
        for c in &cmds {
            check_command(file, c);
        }
        let audit = cmds
            .iter()
            .find(|c| c.get(1).is_some_and(|s| s == "audit"))
            .unwrap_or_else(|| panic!("{file} runs no audit"));
        let line = audit.join(" ");
        for f in ["html", "junit", "sarif"] {
            assert!(line.contains(f), "{file}: the audit should write {f}");
        }
    }
    // GitHub: SARIF to code scanning, JUnit as results, the reports as an artifact, and a
    // failing step unless the audit exited 0.
    let gha = std::fs::read_to_string(root().join("examples/ci/github-actions.yml")).unwrap();
    for want in [
        "github/codeql-action/upload-sarif@v4",
        "actions/cache@v4",
        "cache-hit != 'true'",
        "security-events: write",
        "action-junit-report",
        "actions/upload-artifact",
        "exit_code != '0'",
    ] {
        assert!(gha.contains(want), "github-actions.yml lacks {want}");
    }
    let gl = &yaml_docs(&root().join("examples/ci/gitlab-ci.yml"))[0];
    assert_eq!(gl["shipshape"]["artifacts"]["when"], "always");
    assert!(gl["shipshape"]["artifacts"]["reports"]["junit"].is_string());
    assert_eq!(
        gl["shipshape"]["artifacts"]["reports"]["codequality"],
        "shipshape-out/gl-code-quality-report.json"
    );
    assert!(
        gl["shipshape"]["script"][1]
            .as_str()
            .unwrap()
            .contains("gitlab")
    );
}

#[test]
fn pre_commit_hooks_name_real_commands() {
    let path = root().join(".pre-commit-hooks.yaml");
    let hooks = yaml_docs(&path);
    let hooks = hooks[0].as_sequence().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert!(ids.contains(&"shipshape-policy-validate"), "{ids:?}");
    for h in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(h[key].is_string(), "hook {:?} lacks {key}", h["id"]);
        }
        let mut args = words(h["entry"].as_str().unwrap());
        for a in h["args"].as_sequence().into_iter().flatten() {
            args.push(a.as_str().unwrap().to_string());
        }
        check_command(".pre-commit-hooks.yaml", &args);
        // The pre-push gate prints the verdict and the gaps: never quiet.
        assert!(
            !args.iter().any(|a| a == "--quiet" || a == "-q"),
            "{args:?}"
        );
    }
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).unwrap();
    assert!(docs.contains("pre-commit install --hook-type pre-commit --hook-type pre-push"));
}

// --- Kubernetes deployment --------------------------------------------------------------------

fn deploy_objects() -> Vec<(String, Value)> {
    let dir = root().join("deploy/kubernetes");
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for p in names {
        for d in yaml_docs(&p) {
            out.push((p.file_name().unwrap().to_string_lossy().to_string(), d));
        }
    }
    out
}

fn of_kind<'a>(objs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    objs.iter()
        .filter(|(_, o)| o["kind"] == kind)
        .map(|(_, o)| o)
        .collect()
}

#[test]
fn cronjob_containers_are_hardened() {
    let objs = deploy_objects();
    let cron = of_kind(&objs, "CronJob");
    assert_eq!(cron.len(), 1);
    let pod = &cron[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let pod_sc = &pod["securityContext"];
    let mut containers: Vec<&Value> = Vec::new();
    for key in ["initContainers", "containers"] {
        containers.extend(pod[key].as_sequence().into_iter().flatten());
    }
    assert!(!containers.is_empty());
    for c in containers {
        let name = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        let either = |k: &str| {
            if sc[k].is_null() { &pod_sc[k] } else { &sc[k] }
        };
        assert_eq!(
            either("runAsNonRoot"),
            &Value::Bool(true),
            "{name}: runAsNonRoot"
        );
        assert_eq!(
            sc["readOnlyRootFilesystem"], true,
            "{name}: readOnlyRootFilesystem"
        );
        assert_eq!(
            sc["allowPrivilegeEscalation"], false,
            "{name}: allowPrivilegeEscalation"
        );
        let drop: Vec<&str> = sc["capabilities"]["drop"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(drop.contains(&"ALL"), "{name}: capabilities.drop ALL");
        assert!(
            sc["capabilities"]["add"].is_null(),
            "{name}: adds no capability"
        );
        assert_eq!(
            either("seccompProfile")["type"],
            "RuntimeDefault",
            "{name}: seccomp"
        );
        for kind in ["requests", "limits"] {
            for r in ["cpu", "memory"] {
                assert!(
                    !c["resources"][kind][r].is_null(),
                    "{name}: resources.{kind}.{r}"
                );
            }
        }
        let image = c["image"].as_str().unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            image.contains("@sha256:")
                || (!tag.is_empty() && tag != "latest" && !tag.contains('/')),
            "{name}: image `{image}` must be pinned (a version tag or a digest, never latest)"
        );
        // The command it runs is a real shipshape command.
        let mut args = vec!["shipshape".to_string()];
        for a in c["args"].as_sequence().into_iter().flatten() {
            args.push(a.as_str().unwrap().to_string());
        }
        assert!(
            args.contains(&"--in-cluster".to_string()),
            "audits the cluster it runs in"
        );
        check_command("deploy/kubernetes/cronjob.yaml", &args);
    }
    // The policy folder is mounted read-only and is what the audit reads.
    let mounts = &pod["containers"][0]["volumeMounts"];
    assert!(
        mounts
            .as_sequence()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/etc/shipshape" && m["readOnly"] == true)
    );
    let sa = of_kind(&objs, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], sa[0]["metadata"]["name"]);
}

#[test]
fn cluster_role_is_read_only_and_never_reads_secrets() {
    let objs = deploy_objects();
    let roles = of_kind(&objs, "ClusterRole");
    assert_eq!(roles.len(), 1);
    let mut resources = Vec::new();
    for rule in roles[0]["rules"].as_sequence().unwrap() {
        for v in rule["verbs"].as_sequence().unwrap() {
            let v = v.as_str().unwrap();
            assert!(
                matches!(v, "get" | "list" | "watch"),
                "verb `{v}` is not read-only"
            );
        }
        for r in rule["resources"].as_sequence().unwrap() {
            let r = r.as_str().unwrap();
            assert!(
                r != "secrets" && r != "*" && !r.contains('/'),
                "resource `{r}`"
            );
            resources.push(r.to_string());
        }
        for g in rule["apiGroups"].as_sequence().unwrap() {
            assert_ne!(g.as_str().unwrap(), "*");
        }
        assert!(rule["nonResourceURLs"].is_null());
    }
    // The binding gives exactly this role to the CronJob's service account.
    let binding = of_kind(&objs, "ClusterRoleBinding");
    assert_eq!(binding[0]["roleRef"]["name"], roles[0]["metadata"]["name"]);
    assert_eq!(binding[0]["subjects"][0]["name"], "shipshape-audit");
    // Once the hardening pack ships, every kind it queries must be readable.
    let pack = root().join("policies/k8s-hardening.toml");
    if let Ok(text) = std::fs::read_to_string(&pack) {
        let kinds = regex::Regex::new(r#"kind\s*=\s*"([A-Za-z]+)""#).unwrap();
        for c in kinds.captures_iter(&text) {
            let kind = c[1].to_lowercase();
            let plural = if kind.ends_with("policy") {
                format!("{}ies", &kind[..kind.len() - 1])
            } else if kind.ends_with("ss") || kind.ends_with('x') {
                format!("{kind}es")
            } else {
                format!("{kind}s")
            };
            assert!(
                resources.contains(&plural),
                "policies/k8s-hardening.toml queries {} but the ClusterRole cannot read `{plural}`",
                &c[1]
            );
        }
    }
}

#[test]
fn kustomization_lists_every_manifest_and_the_policy_parses() {
    let dir = root().join("deploy/kubernetes");
    let k = &yaml_docs(&dir.join("kustomization.yaml"))[0];
    let listed: Vec<&str> = k["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".yaml") && name != "kustomization.yaml" {
            assert!(
                listed.contains(&name.as_str()),
                "{name} is not in kustomization.yaml"
            );
        }
    }
    let objs = deploy_objects();
    let cm = of_kind(&objs, "ConfigMap");
    let policy = cm[0]["data"]["shipshape.toml"].as_str().unwrap();
    let parsed: toml::Table = toml::from_str(policy).expect("the ConfigMap's policy is TOML");
    assert!(parsed.contains_key("include"));
    // Fully validated once the pack it includes is built in.
    if shipshape::policy::BUILTINS
        .iter()
        .any(|(n, _)| *n == "k8s-hardening")
    {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("shipshape.toml");
        std::fs::write(&p, policy).unwrap();
        let r = shipshape::policy::load(&shipshape::policy::Location::File(p));
        assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

#[test]
fn dockerfile_is_multi_stage_and_runs_as_nonroot() {
    let text = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage build");
    for f in &froms {
        assert!(!f.contains(":latest"), "{f}");
    }
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    let final_stage = &lines[last_from..];
    assert!(
        final_stage[0].contains("distroless") || final_stage[0].contains("-slim"),
        "small base image: {}",
        final_stage[0]
    );
    let user = final_stage
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("the final stage sets USER");
    assert!(user.contains("nonroot") || user.contains("65532"), "{user}");
    assert!(
        final_stage
            .iter()
            .any(|l| l.starts_with("ENTRYPOINT") && l.contains("shipshape"))
    );
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "target"),
        "the build context skips target/"
    );
}

// --- shipshape's own release gate --------------------------------------------------------------

const NOW: &str = "2026-11-26T12:00:00Z";

fn audit_at(dir: &Path) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let o = assert_cmd::Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(dir)
        .args(["audit", ".", "--now", NOW, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn shipshape_approves_its_own_release() {
    let (code, out) = audit_at(&root());
    assert_eq!(code, 0, "the repository's own gate must approve:\n{out}");
    assert!(out.contains("APPROVED"), "{out}");
}

/// A copy of the files the gate reads, so each rule can be flipped without touching the repo.
fn gate_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "shipshape.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "Cargo.toml",
        "Cargo.lock",
        ".pre-commit-hooks.yaml",
    ] {
        std::fs::copy(root().join(f), dir.path().join(f)).unwrap();
    }
    for d in ["docs", "src", "policies", "examples/ci", "deploy"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
        copy_dir(&root().join(d), &dir.path().join(d));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn the_own_gate_is_not_vacuous() {
    let copy = gate_copy();
    let (code, out) = audit_at(copy.path());
    assert_eq!(code, 0, "{out}");
    type Flip = (
        &'static str,
        &'static str,
        fn(String) -> String,
        &'static str,
    );
    let flips: &[Flip] = &[
        (
            "Cargo.toml",
            "version bumped",
            |s| s.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1),
            "changelog-matches-version",
        ),
        (
            "src/lib.rs",
            "a marker comment",
            |s| s + "\n// TODO finish\n",
            "no-markers-in-src",
        ),
        (
            "docs/faq.md",
            "a placeholder",
            |s| s + "\nOwner: TBD\n",
            "docs-free-of-placeholders",
        ),
        (
            "README.md",
            "the test command gone",
            |s| s.replace("cargo test  ", "cargo nextest"),
            "readme-shows-the-two-commands",
        ),
    ];
    for (file, what, edit, rule) in flips {
        let copy = gate_copy();
        let p = copy.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        let changed = edit(text.clone());
        assert_ne!(changed, text, "{what}: the edit changed nothing");
        std::fs::write(&p, changed).unwrap();
        let (code, out) = audit_at(copy.path());
        assert_eq!(code, 1, "{what} must block:\n{out}");
        assert!(out.contains(rule), "{what} should fail {rule}:\n{out}");
    }
}

// --- docs ----------------------------------------------------------------------------------------

#[test]
fn docs_policy_examples_are_real_files_that_validate() {
    let dir = root().join("docs/examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let r = shipshape::policy::load(&shipshape::policy::Location::File(p.clone()));
            assert!(r.is_ok(), "{}: {}", p.display(), r.unwrap_err());
            n += 1;
        }
    }
    assert!(n >= 3);
    // Every TOML block in the user docs is quoted from one of those files.
    for page in [
        "getting-started.md",
        "waivers.md",
        "ci.md",
        "kubernetes-cronjob.md",
        "faq.md",
    ] {
        let text = std::fs::read_to_string(root().join("docs").join(page)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].trim() == "```toml" {
                let marker = lines[..i]
                    .iter()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .copied()
                    .unwrap_or("");
                let file = marker
                    .strip_prefix("<!-- from ")
                    .and_then(|m| m.strip_suffix(" -->"))
                    .unwrap_or_else(|| {
                        panic!("docs/{page}:{}: a toml block must follow `<!-- from docs/examples/FILE.toml -->`", i + 1)
                    });
                let end = (i + 1..lines.len())
                    .find(|&j| lines[j].trim() == "```")
                    .unwrap();
                let block = lines[i + 1..end].join("\n");
                let source = std::fs::read_to_string(root().join(file))
                    .unwrap_or_else(|e| panic!("docs/{page}: {file}: {e}"));
                assert!(
                    source.contains(&block),
                    "docs/{page}:{}: the block is not quoted verbatim from {file}",
                    i + 1
                );
                i = end;
            }
            i += 1;
        }
    }
}

#[test]
fn readme_documentation_list_links_every_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for page in [
        "getting-started.md",
        "waivers.md",
        "ci.md",
        "kubernetes-cronjob.md",
        "faq.md",
    ] {
        assert!(
            readme.contains(&format!("(docs/{page})")),
            "README does not link docs/{page}"
        );
        assert!(root().join("docs").join(page).is_file());
    }
}
