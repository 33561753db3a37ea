//! `shipshape init`: look at a repository and write a starting `shipshape.toml` whose every rule
//! the sources of this build can already evaluate. The aim is a first audit in one minute that
//! says something true about *this* repository — its tests, its operations artifacts, its
//! manifests — which the team then tightens; every rule carries a comment saying why it is there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::collect::artifact::{PlaceholderSet, date_in_name, parse_markdown};
use crate::collect::fs::Listing;

/// What `init` found, in the order it explains it.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub name: String,
    pub readme: Option<String>,
    pub changelog: Option<String>,
    /// Markdown under `docs/` (outside the operations artifacts).
    pub docs: Vec<String>,
    /// glob → (example file, status seen, placeholders seen, dated)
    pub artifacts: BTreeMap<String, ArtifactSeen>,
    pub manifest_globs: Vec<String>,
    pub manifest_count: usize,
    /// Workload objects (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod) among them.
    pub workloads: usize,
    pub kustomizations: Vec<String>,
    /// What `[cluster] manifests` renders for builtin:k8s-hardening: `DIR/{env}` when overlays
    /// per environment exist, else the kustomizations nothing else includes, else the folders
    /// holding manifests.
    pub cluster_manifests: Vec<String>,
    /// The environments the overlays name (empty: the default list).
    pub environments: Vec<String>,
    /// The packs the policy includes: builtin:k8s-hardening where there are manifests;
    /// builtin:service (which brings it) where there are also operations artifacts.
    pub packs: Vec<&'static str>,
    pub languages: Vec<Language>,
    pub ci: Vec<String>,
    pub coverage: Option<(String, &'static str)>,
    pub junit: Option<String>,
    /// (manifest file, regex capturing its version)
    pub version: Option<(String, &'static str)>,
}

#[derive(Debug, Clone)]
pub struct ArtifactSeen {
    pub example: String,
    pub status: String,
    pub placeholders: usize,
    pub dated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    pub name: &'static str,
    /// Why we think so (the file that says it).
    pub evidence: String,
    pub test_command: String,
    /// A capture that proves tests ran, as (name, regex, the CEL check on it).
    pub ran: Option<(&'static str, &'static str, &'static str)>,
    pub timeout: u64,
    pub extensions: &'static [&'static str],
}

const CI_FILES: &[&str] = &[
    ".gitlab-ci.yml",
    "Jenkinsfile",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".travis.yml",
];

/// Folders whose content is somebody else's code or generated output.
const FOREIGN: &[&str] = &[
    "node_modules/",
    "vendor/",
    "target/",
    "dist/",
    "build/",
    ".venv/",
    "venv/",
    "third_party/",
];

fn foreign(rel: &str) -> bool {
    FOREIGN
        .iter()
        .any(|f| rel.starts_with(f) || rel.contains(&format!("/{f}")))
}

/// Inspect `root` (read-only) and say what a policy could check there.
pub fn inspect(root: &Path) -> Findings {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let boundary = crate::repo::work_tree_root(&root)
        .filter(|wt| root.starts_with(wt))
        .unwrap_or_else(|| root.clone());
    let listing = Listing::walk(&root, &boundary);
    let files: Vec<&str> = listing
        .files
        .iter()
        .map(String::as_str)
        .filter(|f| !foreign(f))
        .collect();
    let t = Tree { root: &root, files };

    let mut f = Findings {
        name: root
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "repository".into()),
        ..Default::default()
    };

    let root_file = |names: &[&str]| -> Option<String> {
        t.files
            .iter()
            .find(|p| !p.contains('/') && names.iter().any(|n| n.eq_ignore_ascii_case(p)))
            .map(|p| p.to_string())
    };
    f.readme = root_file(&["README.md"]);
    f.changelog = root_file(&[
        "CHANGELOG.md",
        "CHANGES.md",
        "HISTORY.md",
        "NEWS.md",
        "CHANGELOG.rst",
        "CHANGES.rst",
        "HISTORY.rst",
        "NEWS.rst",
        "CHANGELOG",
        "CHANGES",
        "NEWS",
    ]);

    artifacts(&t, &mut f);
    f.docs = t
        .files
        .iter()
        .filter(|p| {
            p.starts_with("docs/")
                && p.ends_with(".md")
                && !p.starts_with("docs/operations-artifacts/")
        })
        .map(|p| p.to_string())
        .collect();

    manifests(&t, &mut f);
    languages(&t, &mut f);
    f.ci = t
        .files
        .iter()
        .filter(|p| {
            (p.starts_with(".github/workflows/") && (p.ends_with(".yml") || p.ends_with(".yaml")))
                || CI_FILES.contains(p)
        })
        .map(|p| p.to_string())
        .collect();

    reports(&t, &mut f);
    f.version = version(&t);
    // The hardening pack checks workloads: manifests of CRDs or RBAC alone give it nothing.
    let kubernetes = f.workloads > 0;
    f.packs = match (kubernetes, f.artifacts.is_empty()) {
        (true, false) => vec!["builtin:service"],
        (true, true) => vec!["builtin:k8s-hardening"],
        (false, _) => Vec::new(),
    };
    f
}

/// builtin:service's own artifact rules, by the glob set they read: an artifact `init` finds
/// whose name starts so (`dr-drill-2026…`, `capacity_baselines`) is pointed at by the set, and
/// `init` writes no second rule for it.
const SERVICE_ARTIFACTS: &[(&str, &str)] = &[
    ("dr-drill", "dr-drill"),
    ("capacity-baseline", "capacity-baseline"),
    ("security-controls", "security-controls"),
];

/// The builtin:service glob set an artifact glob stands for, if any.
fn service_set(glob: &str) -> Option<&'static str> {
    let stem = ident(artifact_stem(glob));
    SERVICE_ARTIFACTS
        .iter()
        .find(|(prefix, _)| stem.starts_with(prefix))
        .map(|(_, set)| *set)
}

/// `docs/x/dr-drill-*.md` → `dr-drill`.
fn artifact_stem(glob: &str) -> &str {
    glob.rsplit('/')
        .next()
        .unwrap_or(glob)
        .trim_end_matches(".md")
        .trim_end_matches("-*")
}

/// `id = "…"` at the start of a line: the ids of a policy text (rules and areas).
fn id_line() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(?m)^id = "([^"]+)""#).expect("static regex"))
}

/// `init`'s rules that check what a pack rule already checks, under another id.
const SAME_CHECK: &[(&str, &str)] = &[
    ("ci-configured", "ci-workflow"),
    ("license-present", "standard-files"),
    ("junit-report-green", "recorded-tests-pass"),
    ("changelog-has-current-version", "version-coherent"),
];

/// The rule and area ids the included packs define (and `init`'s ids for the same checks):
/// `init` leaves its own rule or area of such an id out.
fn pack_rule_ids(packs: &[&str]) -> BTreeSet<String> {
    let mut names: Vec<&str> = packs
        .iter()
        .filter_map(|p| p.strip_prefix("builtin:"))
        .collect();
    if names.contains(&"service") {
        names.push("k8s-hardening");
    }
    let id = id_line();
    let mut ids: BTreeSet<String> = names
        .iter()
        .filter_map(|n| crate::policy::builtin_text(n))
        .flat_map(|text| {
            id.captures_iter(text)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for (mine, theirs) in SAME_CHECK {
        if ids.contains(*theirs) {
            ids.insert(mine.to_string());
        }
    }
    ids
}

/// The files of the inspected tree (vendored and generated code left out), and its root.
struct Tree<'a> {
    root: &'a Path,
    files: Vec<&'a str>,
}

impl Tree<'_> {
    fn has(&self, p: &str) -> bool {
        self.files.contains(&p)
    }

    fn read(&self, p: &str) -> String {
        std::fs::read_to_string(self.root.join(p)).unwrap_or_default()
    }
}

/// Operations artifacts, grouped by name with the date taken out, so a dated series
/// (dr-drill-20260209.md, dr-drill-20260512.md) becomes one rule about the newest.
/// Statuses of a readiness record (an operations artifact wherever it lives).
const READINESS_STATUSES: &[&str] = &[
    "PASS",
    "PASSED",
    "APPROVED",
    "COMPLETED",
    "COMPLETE",
    "READY",
    "DONE",
    "PENDING",
    "PENDING_EXECUTION",
    "PENDING_APPROVAL",
    "BLOCKED",
    "IN_PROGRESS",
    "FAILED",
    "FAIL",
    "DRAFT",
];

/// Operations artifacts: every Markdown file of `docs/operations-artifacts/`, and any other
/// document (outside the root, tests and examples) that carries a readiness status.
fn artifacts(t: &Tree<'_>, f: &mut Findings) {
    let placeholders = PlaceholderSet::default().compile();
    let date_suffix = Regex::new(r"[-_]?(\d{8}|\d{4}-\d{2}-\d{2})").expect("static regex");
    let non_production = crate::collect::fs::non_production();
    for p in &t.files {
        let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
        let in_artifacts = dir == "docs/operations-artifacts";
        if !name.ends_with(".md")
            || name.eq_ignore_ascii_case("README.md")
            || name.starts_with("final-production-readiness-audit-")
            || non_production.is_match(p)
            || (!in_artifacts && !p.contains('/'))
        {
            continue;
        }
        let parsed = parse_markdown(&t.read(p), &placeholders);
        // Outside the artifacts folder, a document is an artifact when it carries a readiness
        // status (`Status: APPROVED`, `PENDING`…): an ADR's `Status: Accepted` or a KEP's
        // front matter is not one.
        if !in_artifacts && !READINESS_STATUSES.contains(&parsed.status.as_str()) {
            continue;
        }
        let dated = date_in_name(p).is_some();
        let glob = if dated {
            let pattern = date_suffix.replace(name, "-*");
            if dir.is_empty() {
                pattern.into_owned()
            } else {
                format!("{dir}/{pattern}")
            }
        } else {
            p.to_string()
        };
        f.artifacts.entry(glob).or_insert(ArtifactSeen {
            example: p.to_string(),
            status: parsed.status,
            placeholders: parsed.placeholders.len(),
            dated,
        });
    }
}

/// Kubernetes manifests (YAML with apiVersion and kind) and kustomizations, outside tests,
/// examples and other non-production folders.
fn manifests(t: &Tree<'_>, f: &mut Findings) {
    let non_production = crate::collect::fs::non_production();
    let workload =
        Regex::new(r"(?m)^kind:\s*(Deployment|StatefulSet|DaemonSet|Job|CronJob|Pod)\s*$")
            .expect("static regex");
    let mut dirs = BTreeSet::new();
    for p in &t.files {
        // An overlay per environment is production config even when the environment is
        // called `test` (k8s/overlays/test/).
        if !(p.ends_with(".yaml") || p.ends_with(".yml"))
            || p.starts_with(".github/")
            || (non_production.is_match(p) && !p.contains("/overlays/"))
            || not_deployed(p)
        {
            continue;
        }
        let name = p.rsplit('/').next().unwrap_or(p);
        if name == "kustomization.yaml" || name == "kustomization.yml" {
            f.kustomizations.push(p.to_string());
        }
        let text = t.read(p);
        let k8s = text.lines().any(|l| l.starts_with("apiVersion:"))
            && text.lines().any(|l| l.starts_with("kind:"));
        if k8s {
            f.manifest_count += 1;
            f.workloads += workload.find_iter(&text).count();
            match p.split_once('/') {
                Some((top, _)) => dirs.insert(format!("{top}/**/*.{{yaml,yml}}")),
                None => dirs.insert(p.to_string()),
            };
        }
    }
    f.manifest_globs = dirs.into_iter().collect();
    cluster_manifests(t, f);
}

/// Manifests that document or test rather than deploy: examples in the docs (`docs/`, `doc/`),
/// developer scripts' data (`hack/`) and fixtures inside source trees (`src/`, `pkg/`,
/// `internal/`, `cmd/`, `lib/`, kubernetes' `staging/`). Deployment configuration lives beside
/// the code (`k8s/`, `deploy/`, `manifests/`, `config/`, `charts/`…), not in it.
fn not_deployed(p: &str) -> bool {
    const SEGMENTS: &[&str] = &[
        "docs",
        "doc",
        "documentation",
        "hack",
        "src",
        "pkg",
        "internal",
        "cmd",
        "lib",
        "staging",
    ];
    p.split('/')
        .rev()
        .skip(1)
        .any(|seg| SEGMENTS.contains(&seg))
}

/// Where builtin:k8s-hardening finds the objects: overlays per environment (`k8s/overlays/prod`,
/// `deploy/overlays/staging`…) as `k8s/overlays/{env}`; else each kustomization no other
/// kustomization lists; else the folders with manifests.
fn cluster_manifests(t: &Tree<'_>, f: &mut Findings) {
    let dir_of = |k: &str| {
        k.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    };
    let kdirs: Vec<String> = f.kustomizations.iter().map(|k| dir_of(k)).collect();
    // overlays/<env>/kustomization.yaml: group by the overlays folder.
    let mut overlays: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in &kdirs {
        if let Some((parent, env)) = d.rsplit_once('/')
            && (parent == "overlays" || parent.ends_with("/overlays"))
        {
            overlays
                .entry(parent.to_string())
                .or_default()
                .push(env.to_string());
        }
    }
    if let Some((parent, envs)) = overlays.into_iter().max_by_key(|(_, e)| e.len()) {
        f.cluster_manifests = vec![format!("{parent}/{{env}}")];
        f.environments = envs;
        return;
    }
    // A kustomization another one lists (a base, a component) is rendered through it.
    let listed: BTreeSet<String> = f
        .kustomizations
        .iter()
        .zip(&kdirs)
        .flat_map(|(k, d)| {
            let doc: serde_yaml::Value = serde_yaml::from_str(&t.read(k)).unwrap_or_default();
            ["resources", "bases", "components"]
                .into_iter()
                .flat_map(|k| {
                    doc.get(k)
                        .and_then(|v| v.as_sequence())
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|v| {
                    v.as_str()
                        .map(|r| crate::collect::fs::normalize_rel(&format!("{d}/{r}")))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let roots: Vec<String> = kdirs
        .iter()
        .filter(|d| !listed.contains(*d))
        .map(|d| {
            if d.is_empty() {
                ".".to_string()
            } else {
                d.clone()
            }
        })
        .collect();
    f.cluster_manifests = if roots.is_empty() {
        f.manifest_globs.clone()
    } else {
        roots
    };
}

/// Languages and the command that runs their tests.
fn languages(t: &Tree<'_>, f: &mut Findings) {
    if t.has("Cargo.toml") {
        f.languages.push(Language {
            name: "Rust",
            evidence: "Cargo.toml".into(),
            test_command: "cargo test".into(),
            // One `test result` line per test binary and doc-test run, and the last is often
            // doc-tests with 0 passed: capture the last line that passed something instead.
            ran: Some((
                "passed",
                r"test result: ok\. ([1-9]\d*) passed",
                "has(tests.captures.passed)",
            )),
            timeout: 1800,
            extensions: &["rs"],
        });
    }
    if let Some(python) = python_language(t) {
        f.languages.push(python);
    }
    if t.has("package.json") {
        let pkg: serde_json::Value =
            serde_json::from_str(&t.read("package.json")).unwrap_or_default();
        let test = pkg
            .pointer("/scripts/test")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        // npm's placeholder script fails on purpose; it is not a test suite.
        if !test.is_empty() && !test.contains("no test specified") {
            // The package manager the lockfile says the project uses.
            let manager = [("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn")]
                .into_iter()
                .find(|(lock, _)| t.has(lock))
                .map_or("npm", |(_, m)| m);
            f.languages.push(Language {
                name: "JavaScript/TypeScript",
                evidence: "package.json (scripts.test)".into(),
                test_command: format!("{manager} test"),
                ran: None,
                timeout: 900,
                extensions: &["js", "ts", "jsx", "tsx", "mjs", "cjs"],
            });
        }
    }
    if let Some((evidence, test_command)) = go_tests(t) {
        f.languages.push(Language {
            name: "Go",
            evidence,
            test_command,
            ran: None,
            timeout: 900,
            extensions: &["go"],
        });
    }
    if f.languages.is_empty() && t.has("Makefile") {
        let mk = t.read("Makefile");
        if mk.lines().any(|l| l.starts_with("test:")) {
            f.languages.push(Language {
                name: "make",
                evidence: "Makefile (test target)".into(),
                test_command: "make test".into(),
                ran: None,
                timeout: 900,
                extensions: &[],
            });
        }
    }
}

/// Go's test command: `go test ./...` in a module; every module of a `go.work` workspace;
/// each module in turn when several stand side by side without one.
fn go_tests(t: &Tree<'_>) -> Option<(String, String)> {
    if t.has("go.work") {
        return Some((
            "go.work".into(),
            "go test $(go list -f '{{.Dir}}/...' -m)".into(),
        ));
    }
    if t.has("go.mod") {
        return Some(("go.mod".into(), "go test ./...".into()));
    }
    let non_production = crate::collect::fs::non_production();
    let modules: Vec<&str> = t
        .files
        .iter()
        .filter(|p| !non_production.is_match(p))
        .filter_map(|p| p.strip_suffix("/go.mod"))
        .collect();
    if modules.is_empty() {
        return None;
    }
    let each: Vec<String> = modules
        .iter()
        .map(|m| format!("(cd {m} && go test ./...)"))
        .collect();
    Some((
        modules
            .iter()
            .map(|m| format!("{m}/go.mod"))
            .collect::<Vec<_>>()
            .join(", "),
        each.join(" && "),
    ))
}

/// Python, and whether its tests run with pytest or unittest.
fn python_language(t: &Tree<'_>) -> Option<Language> {
    let py_tests = t
        .files
        .iter()
        .any(|p| p.starts_with("tests/") && p.ends_with(".py"));
    if !(t.has("pyproject.toml") || t.has("setup.py") || t.has("setup.cfg") || py_tests) {
        return None;
    }
    let mentions_pytest = [
        "pyproject.toml",
        "setup.cfg",
        "requirements-dev.txt",
        "tox.ini",
    ]
    .iter()
    .any(|p| t.read(p).contains("pytest"))
        || t.has("pytest.ini")
        || t.has("conftest.py")
        || t.has("tests/conftest.py");
    let evidence = ["pyproject.toml", "setup.py", "setup.cfg"]
        .iter()
        .find(|p| t.has(p))
        .map(|p| p.to_string())
        .unwrap_or_else(|| "tests/*.py".into());
    let (cmd, ran) = if mentions_pytest {
        (
            "python3 -m pytest -q".to_string(),
            ("passed", r"(\d+) passed", "tests.captures.passed > 0"),
        )
    } else if py_tests {
        (
            "python3 -m unittest discover -s tests -t .".to_string(),
            ("tests", r"Ran (\d+) tests?", "tests.captures.tests > 0"),
        )
    } else {
        (
            "python3 -m unittest discover".to_string(),
            ("tests", r"Ran (\d+) tests?", "tests.captures.tests > 0"),
        )
    };
    Some(Language {
        name: "Python",
        evidence,
        test_command: cmd,
        ran: Some(ran),
        timeout: 600,
        extensions: &["py"],
    })
}

/// Reports CI already produced and committed (gitignored ones are not evidence yet).
fn reports(t: &Tree<'_>, f: &mut Findings) {
    for p in &t.files {
        let name = p.rsplit('/').next().unwrap_or(p);
        if f.coverage.is_none() && (name == "coverage.xml" || name == "cobertura.xml") {
            f.coverage = Some((p.to_string(), "cobertura"));
        } else if f.coverage.is_none() && name == "lcov.info" {
            f.coverage = Some((p.to_string(), "lcov"));
        } else if f.junit.is_none()
            && name.ends_with(".xml")
            && name.to_lowercase().contains("junit")
        {
            f.junit = Some(p.to_string());
        }
    }
}

/// A version string the CHANGELOG should mention: the file that declares it, and the regex.
fn version(t: &Tree<'_>) -> Option<(String, &'static str)> {
    let version_sources: &[(&str, &str)] = &[
        ("Cargo.toml", r#"^version\s*=\s*"([^"]+)""#),
        ("pyproject.toml", r#"^version\s*=\s*"([^"]+)""#),
        ("package.json", r#"^\s*"version"\s*:\s*"([^"]+)""#),
    ];
    for (file, re) in version_sources {
        if t.has(file) && Regex::new(re).is_ok_and(|r| t.read(file).lines().any(|l| r.is_match(l)))
        {
            return Some((file.to_string(), re));
        }
    }
    None
}

/// A TOML string literal: single-quoted (no escapes) when possible, so regexes stay readable.
fn lit(s: &str) -> String {
    if !s.contains('\'') && !s.contains('\n') {
        format!("'{s}'")
    } else {
        toml::Value::String(s.to_string()).to_string()
    }
}

fn lits(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
    )
}

fn ident(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The rules `init` writes, grouped by area as they are added.
#[derive(Default)]
struct Rules {
    areas: BTreeSet<&'static str>,
    text: String,
    /// Rule and area ids an included pack already has: `init` leaves its own out.
    taken: BTreeSet<String>,
}

impl Rules {
    /// Add rules (blank-line separated, each with its comment) of `area`, but those whose id
    /// a pack already has.
    fn add(&mut self, area: &'static str, text: String) {
        let id = id_line();
        let kept: Vec<&str> = text
            .split("\n\n")
            .filter(|block| {
                id.captures(block)
                    .is_none_or(|c| !self.taken.contains(&c[1]))
            })
            .collect();
        if kept.iter().any(|b| b.contains("[[rule]]")) {
            self.areas.insert(area);
            self.text.push_str(&kept.join("\n\n"));
            self.text.push('\n');
        }
    }
}

/// The policy text for what `inspect` found.
pub fn render(f: &Findings) -> String {
    let mut rules = Rules {
        taken: pack_rule_ids(&f.packs),
        ..Rules::default()
    };
    documentation_rules(f, &mut rules);
    artifacts_rules(f, &mut rules);
    testing_rules(f, &mut rules);
    code_rules(f, &mut rules);
    repository_rules(f, &mut rules);
    assemble(f, &rules)
}

/// README, CHANGELOG, the version's CHANGELOG entry and placeholders in docs/.
fn documentation_rules(f: &Findings, rules: &mut Rules) {
    let readme = f.readme.clone().unwrap_or_else(|| "README.md".into());
    rules.add(
        "documentation",
        format!(
            r#"# {why}
[[rule]]
id = "readme-complete"
area = "documentation"
title = "README present, with sections and no placeholders"
fail_message = "the README is missing, unfinished or has no sections"
severity = "blocking"
evidence.readme = {{ artifact = {path} }}
expect = ['readme.exists', 'size(readme.placeholders) == 0', 'size(readme.headings) >= 2']
remediation = {{ priority = "high", category = "Documentation", action = "Write a README with a title and a usage section; replace every TBD/TODO/<fill-in>.", effort = "Small" }}
"#,
            why = if f.readme.is_some() {
                "Found README.md: it must stay complete."
            } else {
                "No README.md yet: this rule fails until there is one."
            },
            path = lit(&readme)
        ),
    );
    let changelog = f.changelog.clone().unwrap_or_else(|| "CHANGELOG.md".into());
    rules.add(
        "documentation",
        format!(
            r#"# {why}
[[rule]]
id = "changelog-maintained"
area = "documentation"
title = "CHANGELOG has release entries"
fail_message = "the CHANGELOG is missing or has no release entry"
severity = "warning"
evidence.changelog = {{ artifact = {path} }}
expect = ['changelog.exists', 'changelog.headings.exists(h, h.text.matches("[0-9]+[.][0-9]+"))']
remediation = {{ priority = "medium", category = "Documentation", action = "Keep a CHANGELOG with one `##` section per release.", effort = "Small" }}
"#,
            why = if f.changelog.is_some() {
                "Found a CHANGELOG: one `##` entry per release."
            } else {
                "No CHANGELOG.md yet: a warning until there is one."
            },
            path = lit(&changelog)
        ),
    );
    if let (Some((file, _)), Some(log)) = (&f.version, &f.changelog) {
        rules.add(
            "release",
            format!(
                r#"# {file} declares a version; the changelog should have an entry for it (read with
# each file's own format by the `versions` source: no regex).
[[rule]]
id = "changelog-has-current-version"
area = "release"
title = "Changelog has an entry for the current version"
severity = "warning"
evidence.v = {{ versions = [{file_lit}, {log}] }}
expect = ['v.entries.exists(e, e.source == "CHANGELOG")', 'v.outliers == []']
fail_message = "the changelog has no entry for the version {file} declares"
remediation = {{ priority = "medium", category = "Release", action = "Add an entry to the changelog for the version being released.", effort = "Small" }}
"#,
                file_lit = lit(file),
                log = lit(log)
            ),
        );
    }
    if !f.docs.is_empty() {
        rules.add(
            "documentation",
            format!(
                r#"# Found {n} Markdown file(s) under docs/: no unfinished placeholders there.
[[rule]]
id = "docs-free-of-placeholders"
area = "documentation"
title = "Docs free of placeholders"
fail_message = "placeholder left in docs/"
severity = "warning"
evidence.ph = {{ scan = '\bTBD\b|<fill-me>|\bYYYY-MM-DD\b', within = "comments", include = ["docs/**/*.md"], exclude = ["docs/operations-artifacts/**"] }}
expect = ['ph.count == 0']
remediation = {{ priority = "medium", category = "Documentation", action = "Replace the placeholders left in docs/.", effort = "Small" }}
"#,
                n = f.docs.len()
            ),
        );
    }
}

/// One rule per operations artifact found: present, approved, no placeholders, fresh.
fn artifacts_rules(f: &Findings, rules: &mut Rules) {
    for (glob, seen) in &f.artifacts {
        let stem = artifact_stem(glob);
        if f.packs.contains(&"builtin:service") && service_set(glob).is_some() {
            continue;
        }
        let id = ident(stem);
        let mut expect = vec!["'doc.exists'".to_string()];
        if !seen.status.is_empty() {
            expect.push("'doc.status in approved'".into());
        }
        expect.push("'size(doc.placeholders) == 0'".into());
        if seen.dated {
            expect.push("'doc.age_days <= stale_after_days'".into());
        }
        let state = format!(
            "status {}, {} placeholder(s)",
            if seen.status.is_empty() {
                "none (add a `Status:` line to gate on it)".to_string()
            } else {
                format!("{} today", seen.status)
            },
            seen.placeholders
        );
        rules.add(
            "operations",
            format!(
                r#"# Operations artifact {example}: {state}.
[[rule]]
id = "artifact-{id}"
area = "operations"
title = "{title} is complete"
fail_message = "{example} is not finished"
severity = "blocking"
evidence.doc = {{ artifact = {glob} }}
expect = [{expect}]
remediation = {{ priority = "high", category = "Operations", files = [{glob}], action = "Finish {example}: an approved status, no placeholders.", effort = "Medium" }}
"#,
                example = seen.example,
                title = stem.replace(['-', '_'], " "),
                glob = lit(glob),
                expect = expect.join(", ")
            ),
        );
    }
}

/// Each toolchain's test command, a committed JUnit report, committed coverage.
fn testing_rules(f: &Findings, rules: &mut Rules) {
    for lang in &f.languages {
        let id = format!(
            "{}-tests-pass",
            ident(lang.name.split('/').next().unwrap_or(""))
        );
        let (captures, ran_check) = match lang.ran {
            Some((name, re, check)) => (
                format!(", captures = {{ {name} = {} }}", lit(re)),
                format!(", '{check}'"),
            ),
            None => (String::new(), String::new()),
        };
        rules.add(
            "testing",
            format!(
                r#"# {lang} ({evidence}): the test suite runs on every audit (`--skip-commands` previews without it, and then cannot approve).
[[rule]]
id = "{id}"
area = "testing"
title = "{lang} test suite passes"
severity = "blocking"
weight = 2
evidence.tests = {{ run = {cmd}, timeout = {timeout}{captures} }}
expect = ['tests.exit_code == 0'{ran_check}]
fail_message = "`{cmd_plain}` failed, or ran no test"
remediation = {{ priority = "critical", category = "Testing", action = "Make `{cmd_plain}` pass.", effort = "Medium" }}
"#,
                lang = lang.name,
                evidence = lang.evidence,
                cmd = lit(&lang.test_command),
                cmd_plain = lang.test_command,
                timeout = lang.timeout,
            ),
        );
    }
    if let Some(junit) = &f.junit {
        rules.add(
            "testing",
            format!(
                r#"# A JUnit report is committed at {junit}: no failures or errors in it.
[[rule]]
id = "junit-report-green"
area = "testing"
title = "Recorded test report has no failures"
fail_message = "the recorded test report is missing or has failures"
severity = "blocking"
evidence.junit = {{ data = {path}, format = "junit" }}
expect = ['junit.exists', 'junit.failures == 0', 'junit.errors == 0']
remediation = {{ priority = "high", category = "Testing", action = "Fix the failing tests and commit the new report.", effort = "Medium" }}
"#,
                path = lit(junit)
            ),
        );
    }
    if let Some((cov, format)) = &f.coverage {
        rules.add(
            "testing",
            format!(
                r#"# A coverage report is committed at {cov}.
[[rule]]
id = "coverage-threshold"
area = "testing"
title = "Line coverage at least 80%"
fail_message = "recorded line coverage is missing or below 80%"
severity = "warning"
evidence.cov = {{ data = {path}, format = "{format}" }}
expect = ['cov.exists', 'cov.percent >= 80.0']
remediation = {{ priority = "medium", category = "Testing", action = "Test the uncovered code until line coverage is at least 80%, and commit the new report.", effort = "Medium" }}
"#,
                path = lit(cov)
            ),
        );
    }
}

/// Unfinished-work markers in the languages found.
fn code_rules(f: &Findings, rules: &mut Rules) {
    let exts: BTreeSet<&str> = f
        .languages
        .iter()
        .flat_map(|l| l.extensions.iter().copied())
        .collect();
    let exts: Vec<&str> = if exts.is_empty() {
        vec![
            "rs", "py", "go", "js", "ts", "java", "rb", "c", "h", "cpp", "sh",
        ]
    } else {
        exts.into_iter().collect()
    };
    let include = if exts.len() == 1 {
        format!("**/*.{}", exts[0])
    } else {
        format!("**/*.{{{}}}", exts.join(","))
    };
    rules.add(
        "code",
        format!(
            r#"# Unfinished-work markers in {exts} source (tests and vendored code excluded).
[[rule]]
id = "no-unfinished-markers"
area = "code"
title = "No TODO/FIXME/HACK/XXX markers in source"
fail_message = "unfinished-work marker in source"
severity = "warning"
evidence.markers = {{ scan = '\b(TODO|FIXME|HACK|XXX)\b', within = "comments", include = [{include}], exclude = ["@non-production"] }}
expect = ['markers.count == 0']
remediation = {{ priority = "medium", category = "Code Quality", action = "Resolve or ticket every marker.", effort = "Medium" }}
"#,
            exts = exts.join(", "),
            include = lit(&include)
        ),
    );
}

/// License, security policy and CI configuration.
fn repository_rules(f: &Findings, rules: &mut Rules) {
    rules.add(
        "repository",
        r#"# Standard files, found as GitHub finds them (any case; root, .github/ or docs/).
[[rule]]
id = "license-present"
area = "repository"
title = "License"
fail_message = "no license file"
severity = "blocking"
evidence.files = { files = [["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENSE-*", "LICENCE*", "COPYING*", "UNLICENSE"]] }
expect = ['size(files.missing) == 0']
remediation = { priority = "high", category = "Legal", action = "Add a LICENSE file.", effort = "Small" }

[[rule]]
id = "security-policy"
area = "repository"
title = "Security policy"
fail_message = "no SECURITY.md saying how to report a vulnerability"
severity = "warning"
evidence.files = { files = ["SECURITY.md"] }
expect = ['size(files.missing) == 0']
remediation = { priority = "medium", category = "Security", action = "Add SECURITY.md with a private vulnerability-reporting contact.", effort = "Small" }
"#
        .to_string(),
    );
    let ci_why = if f.ci.is_empty() {
        "No CI configuration found: see docs/ci.md in shipshape for ready-made workflows.".into()
    } else {
        format!(
            "CI found: {}. Add `shipshape audit` to it (docs/ci.md in shipshape).",
            f.ci.join(", ")
        )
    };
    let mut ci_alts: Vec<String> = vec![".github/workflows/*.{yml,yaml}".into()];
    ci_alts.extend(CI_FILES.iter().map(|s| s.to_string()));
    rules.add(
        "release",
        format!(
            r#"# {ci_why}
[[rule]]
id = "ci-configured"
area = "release"
title = "Continuous integration configured"
fail_message = "no CI configuration"
severity = "warning"
evidence.ci = {{ files = [{alts}] }}
expect = ['size(ci.missing) == 0']
remediation = {{ priority = "medium", category = "CI/CD", action = "Add a CI workflow that runs the tests and `shipshape audit` on every change (docs/ci.md in shipshape).", effort = "Small" }}
"#,
            alts = lits(&ci_alts)
        ),
    );
}

/// The header, `[audit]`, the areas used, the rules and the documentation matrix.
fn assemble(f: &Findings, rules: &Rules) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# shipshape policy for {name}, written by `shipshape init` from what it found here.",
        name = f.name
    );
    s.push_str(
        "# Every rule below can be evaluated by this version of shipshape. Tighten it from here:\n\
         #   shipshape policy validate shipshape.toml    check it (every problem, with line:column)\n\
         #   shipshape explain RULE_ID                   what a rule checks and how to fix it\n\
         #   shipshape explain --source artifact         what a source yields, with an example\n\
         #   shipshape audit .                           run the gate (exit 0 APPROVED, 1 NOT APPROVED)\n\
         # Reference: docs/policy.md in shipshape. Accept a gap for a while with a [[waiver]]\n\
         # (rule, reason, owner, expires = YYYY-MM-DD): docs/waivers.md.\n\n",
    );
    s.push_str(&packs_header(f));
    let (environments, default_env) = environments(f);
    let _ = writeln!(
        s,
        "[audit]\nname = {name}\ntitle = \"Release Readiness Audit\"\napprove_min_score = 8.0\nenvironments = {environments}\ndefault_env = {default_env}\n",
        name = toml::Value::String(f.name.clone()),
        environments = lits(&environments).replace('\'', "\""),
        default_env = toml::Value::String(default_env),
    );
    s.push_str(&packs_settings(f));
    let titles: BTreeMap<&str, &str> = [
        ("documentation", "Documentation"),
        ("operations", "Operational Readiness"),
        ("testing", "Testing"),
        ("code", "Code Completeness"),
        ("deployment", "Deployment"),
        ("release", "CI/CD and Release"),
        ("repository", "Standard Repository Files"),
    ]
    .into_iter()
    .collect();
    for a in [
        "documentation",
        "operations",
        "testing",
        "code",
        "deployment",
        "release",
        "repository",
    ] {
        // An area a pack declares is the pack's (ids of packs' areas are in `taken` too).
        if rules.areas.contains(a) && !rules.taken.contains(a) {
            let _ = writeln!(s, "[[area]]\nid = \"{a}\"\ntitle = \"{}\"\n", titles[a]);
        }
    }
    s.push_str(&rules.text);
    // The documentation matrix: the documents a reader of the report should find.
    let mut docs: Vec<String> = f.readme.iter().chain(f.changelog.iter()).cloned().collect();
    docs.extend(
        f.docs
            .iter()
            .filter(|d| d.matches('/').count() == 1)
            .take(10)
            .cloned(),
    );
    if !docs.is_empty() {
        s.push_str("# Documentation matrix: one row per document.\n");
        for d in docs {
            let _ = writeln!(s, "[[document]]\npath = {}\n", lit(&d));
        }
    }
    s.trim_end().to_string() + "\n"
}

/// The environments: those the overlays name (the default is `prod` or `production` when
/// one of them, else the first), else prod, staging and test.
fn environments(f: &Findings) -> (Vec<String>, String) {
    if f.environments.is_empty() {
        let envs = vec!["prod".to_string(), "staging".into(), "test".into()];
        return (envs, "prod".into());
    }
    let default = ["prod", "production"]
        .iter()
        .find(|e| f.environments.iter().any(|x| x == *e))
        .map(|e| e.to_string())
        .unwrap_or_else(|| f.environments[0].clone());
    (f.environments.clone(), default)
}

/// `include = [...]` with why, when the repository has Kubernetes manifests.
fn packs_header(f: &Findings) -> String {
    if f.packs.is_empty() {
        return String::new();
    }
    let why = if f.packs.contains(&"builtin:service") {
        format!(
            "# A service: Kubernetes manifests ({n} file(s)) and operations artifacts ({a}).\n\
             # builtin:service gates on the artifacts being approved and free of placeholders, the DR\n\
             # drill fresh, runbooks, docs links, standard files, markers in runtime code, CVE\n\
             # suppressions, one release version and an annotated release tag, and brings\n\
             # builtin:k8s-hardening for the workloads. Rules below with the same id as a pack's are\n\
             # left out; point the packs' glob sets at your files under [globs] (docs/policy.md).\n",
            n = f.manifest_count,
            a = f.artifacts.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    } else {
        format!(
            "# Kubernetes manifests ({n} file(s)): builtin:k8s-hardening renders [cluster] manifests\n\
             # (kustomize via kubectl) and checks every workload: non-root, read-only root filesystem,\n\
             # dropped capabilities, seccomp, resources, probes, pinned images, PodDisruptionBudget,\n\
             # HPA and a default-deny NetworkPolicy. Tests, examples and test data are left out.\n",
            n = f.manifest_count
        )
    };
    format!(
        "{why}include = [{}]\n\n",
        f.packs
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `[cluster] manifests` for the packs, and builtin:service's report globs when found.
fn packs_settings(f: &Findings) -> String {
    if f.packs.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "# What the hardening pack audits before deploy ({{env}} is the audited environment).\n\
         [cluster]\nmanifests = {}\n\n",
        lits(&f.cluster_manifests).replace('\'', "\"")
    );
    if f.packs.contains(&"builtin:service") {
        let mut globs = String::new();
        for glob in f.artifacts.keys() {
            if let Some(set) = service_set(glob) {
                let _ = writeln!(globs, "{set} = [{}]", lit(glob));
            }
        }
        if let Some(junit) = &f.junit {
            let _ = writeln!(globs, "test-report = [{}]", lit(junit));
        }
        if let Some((cov, _)) = &f.coverage {
            let _ = writeln!(globs, "coverage-report = [{}]", lit(cov));
        }
        if !globs.is_empty() {
            s.push_str(
                "# Where the artifacts and recorded reports builtin:service reads are.\n[globs]\n",
            );
            s.push_str(&globs);
            s.push('\n');
        }
    }
    s
}

/// What `init` did.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    pub findings: Findings,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("`{0}` already exists; pass --force to overwrite it")]
    Exists(PathBuf),
    #[error("`{0}` is not a folder")]
    NotAFolder(PathBuf),
    #[error("the generated policy does not validate (a bug in shipshape init):\n{0}")]
    Invalid(String),
    #[error("cannot write `{0}`: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Inspect `root` and write `root/shipshape.toml` (validated before it replaces anything).
pub fn init(root: &Path, force: bool) -> Result<Written, InitError> {
    if !root.is_dir() {
        return Err(InitError::NotAFolder(root.to_path_buf()));
    }
    let target = root.join("shipshape.toml");
    if target.exists() && !force {
        return Err(InitError::Exists(target));
    }
    let findings = inspect(root);
    let text = render(&findings);
    let tmp = root.join(format!(".shipshape-init-{}.toml", std::process::id()));
    std::fs::write(&tmp, &text).map_err(|e| InitError::Io(tmp.clone(), e))?;
    let checked = crate::policy::load(&crate::policy::Location::File(tmp.clone()));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&tmp);
        return Err(InitError::Invalid(e.to_string()));
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        InitError::Io(target.clone(), e)
    })?;
    Ok(Written {
        path: target,
        findings,
    })
}

/// A short account of what was found, for the terminal.
pub fn summary(f: &Findings) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(s, "  {k:<22} {v}");
    };
    line(
        "README / CHANGELOG",
        format!(
            "{} / {}",
            f.readme.as_deref().unwrap_or("none"),
            f.changelog.as_deref().unwrap_or("none")
        ),
    );
    line("docs/ Markdown files", f.docs.len().to_string());
    line(
        "operations artifacts",
        if f.artifacts.is_empty() {
            "none".into()
        } else {
            f.artifacts.keys().cloned().collect::<Vec<_>>().join(", ")
        },
    );
    line(
        "tests",
        if f.languages.is_empty() {
            "no test command recognised".into()
        } else {
            f.languages
                .iter()
                .map(|l| format!("{} → `{}`", l.name, l.test_command))
                .collect::<Vec<_>>()
                .join("; ")
        },
    );
    line(
        "Kubernetes manifests",
        format!(
            "{} file(s), {} workload(s), {} kustomization(s){}",
            f.manifest_count,
            f.workloads,
            f.kustomizations.len(),
            if f.packs.is_empty() {
                String::new()
            } else {
                format!(" → {}", f.packs.join(", "))
            }
        ),
    );
    line(
        "CI",
        if f.ci.is_empty() {
            "none".into()
        } else {
            f.ci.join(", ")
        },
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_kebab_case() {
        assert_eq!(ident("Capacity_Baselines"), "capacity-baselines");
        assert_eq!(ident("dr-drill"), "dr-drill");
        assert_eq!(ident("JavaScript/TypeScript"), "javascript-typescript");
    }

    #[test]
    fn rust_test_capture_skips_doc_tests_that_ran_nothing() {
        let rust = inspect_langs("Cargo.toml");
        let (_, re, _) = rust.ran.unwrap();
        let out = "test result: ok. 3 passed; 0 failed\n   Doc-tests x\ntest result: ok. 0 passed; 0 failed\n";
        let re = Regex::new(re).unwrap();
        let last = re.captures_iter(out).last().unwrap();
        assert_eq!(&last[1], "3");
        assert!(re.captures("test result: ok. 0 passed").is_none());
    }

    fn inspect_langs(file: &str) -> Language {
        let dir = std::env::temp_dir().join(format!("shipshape-init-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), "[package]\nname = \"x\"\n").unwrap();
        let f = inspect(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        f.languages.into_iter().next().unwrap()
    }

    #[test]
    fn literals_fall_back_to_basic_strings() {
        assert_eq!(lit(r"\bTBD\b"), r"'\bTBD\b'");
        assert_eq!(lit("it's"), "\"it's\"");
    }
}
