//! Fleet mode from the command line: fleet-file errors with file:line:column, the index → target
//! mapping of the Indexed Job, the exit codes its per-index retries act on, a local run of a
//! 20-target fleet that writes the same bytes as the pods would, the dashboard, and the Job
//! manifest (kubectl, the Kubernetes API types, and shipshape's own hardening pack).

#[path = "support/apiserver.rs"]
mod apiserver;
mod support;

use support::{git, write};

use std::path::Path;

use assert_cmd::Command;

const NOW: &str = "2026-12-01T12:00:00Z";

fn shipshape(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(dir)
        .env_remove("JOB_COMPLETION_INDEX")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small repository, committed before NOW: `approved` passes builtin:default, the others
/// leave a TODO in the code (a warning) or lose the license (blocking).
fn repository(root: &Path, shape: usize) {
    write(root, "README.md", "# svc\n\n## Usage\n\nRun it.\n");
    write(root, "CHANGELOG.md", "# Changelog\n\n## 1.0.0\n\n- first\n");
    write(
        root,
        "SECURITY.md",
        "# Security\n\nMail security@example.com.\n",
    );
    write(
        root,
        "CONTRIBUTING.md",
        "# Contributing\n\nPull requests.\n",
    );
    write(root, "CODEOWNERS", "* @team\n");
    write(root, ".gitignore", "out/\n");
    if shape % 3 != 2 {
        write(root, "LICENSE", "MIT\n");
    }
    let code = if shape % 3 == 1 {
        "def f():\n    # TODO: handle errors\n    return 1\n"
    } else {
        "def f():\n    return 1\n"
    };
    write(root, "src/app.py", code);
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "init"]);
}

/// `n` repositories under `root/repos/` and a fleet file listing them (every third by path,
/// the rest by file:// URL), with builtin:default.
fn fleet(root: &Path, n: usize) -> String {
    let mut toml = String::from("[fleet]\nname = \"test-fleet\"\nstale_after_hours = 36\n");
    for i in 0..n {
        let repo = root.join(format!("repos/svc-{i:02}"));
        repository(&repo, i);
        if i % 3 == 0 {
            toml.push_str(&format!(
                "\n[[target]]\nid = \"svc-{i:02}\"\npath = \"repos/svc-{i:02}\"\npolicy = \"builtin:default\"\n"
            ));
        } else {
            toml.push_str(&format!(
                "\n[[target]]\nrepo = \"file://{}\"\nref = \"main\"\npolicy = \"builtin:default\"\n",
                repo.display()
            ));
        }
    }
    write(root, "fleet.toml", &toml);
    toml
}

#[test]
fn fleet_file_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "central.toml", "include = [\"builtin:default\"]\n");
    write(
        r,
        "fleet.toml",
        "[fleet]\nname = \"x\"\n\n[[target]]\nid = \"Bad_Id\"\nrepo = \"https://git.example.com/a.git\"\npath = \"a\"\n\n[[target]]\nid = \"b\"\npath = \"b\"\npolicy = \"builtin:nope\"\n\n[[target]]\nid = \"c\"\npath = \"c\"\npolicy = \"central.toml\"\n\n[[target]]\nid = \"d\"\npath = \"d\"\npolicy = \"central.toml\"\npolicy_sha256 = \"0000\"\n\n[[target]]\nid = \"b\"\npath = \"b2\"\n\n[[target]]\nid = \"e\"\ncluster = { context = \"prod\", in_cluster = true }\npolicy = \"builtin:k8s-hardening\"\n",
    );
    let (code, _, err) = shipshape(r, &["fleet", "validate", "--fleet", "fleet.toml"]);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "fleet.toml:4:1: a target has exactly one of `repo` (git URL), `path` (folder) or `cluster`",
        "fleet.toml:12:10: no built-in policy `nope`",
        "fleet.toml:17:10: policy `central.toml` is a file: pin it with policy_sha256 (its sha256 now: ",
        "fleet.toml:23:17: policy `central.toml` has sha256 ",
        "fleet.toml:26:6: duplicate target id `b`",
        "fleet.toml:31:11: a cluster target names a `context` or sets `in_cluster = true`",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // A syntax error and an unknown key: at their place too.
    write(
        r,
        "bad.toml",
        "[[target]]\nid = \"a\"\npath = \"a\"\nbranch = \"main\"\n",
    );
    let (code, _, err) = shipshape(r, &["fleet", "validate", "--fleet", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml:4:1: unknown field `branch`"),
        "{err}"
    );
}

#[test]
fn index_maps_to_target_and_exit_codes_drive_per_index_retries() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fleet(r, 3);
    // Two more targets: one whose repository does not exist (a tool failure: retry), one whose
    // own policy is broken (a configuration error: retrying cannot help).
    let broken = r.join("repos/broken");
    repository(&broken, 0);
    write(&broken, "shipshape.toml", "[[rule]]\nid = \"x\"\n");
    git(&broken, &["add", "-A"]);
    git(&broken, &["commit", "-q", "-m", "policy"]);
    let mut toml = std::fs::read_to_string(r.join("fleet.toml")).unwrap();
    toml.push_str(&format!(
        "\n[[target]]\nid = \"gone\"\nrepo = \"file://{}/repos/nope\"\n\n[[target]]\nid = \"broken\"\npath = \"repos/broken\"\n",
        r.display()
    ));
    write(r, "fleet.toml", &toml);
    let work = r.join("work");
    let run_index = |index: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::cargo_bin("shipshape").unwrap();
        cmd.current_dir(r).env_remove("JOB_COMPLETION_INDEX").args([
            "fleet",
            "run-index",
            "--fleet",
            "fleet.toml",
            "--out",
            "out",
            "--now",
            NOW,
            "--work",
        ]);
        cmd.arg(&work);
        if let Some(i) = index {
            cmd.args(["--index", i]);
        }
        if let Some(e) = env {
            cmd.env("JOB_COMPLETION_INDEX", e);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The index a pod gets from the Job is the target's position in the file.
    let (code, err) = run_index(None, Some("1"));
    assert_eq!(code, 0, "{err}");
    assert!(r.join("out/svc-01/report.json").is_file());
    assert!(!r.join("out/svc-00").exists(), "only index 1 ran");
    assert!(!work.join("svc-01").exists(), "the clone is removed");
    let (code, err) = run_index(Some("0"), None);
    assert_eq!(code, 0, "{err}");
    assert!(r.join("out/svc-00/report.json").is_file());
    // NOT APPROVED is a verdict (exit 0, nothing to retry).
    let (code, _) = run_index(Some("2"), None);
    assert_eq!(code, 0);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("out/svc-02/target.json")).unwrap())
            .unwrap();
    assert_eq!(record["verdict"], "NOT_APPROVED");
    // A clone that fails is a tool failure: exit 3, retried by backoffLimitPerIndex.
    let (code, err) = run_index(Some("3"), None);
    assert_eq!(code, 3, "{err}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("out/gone/target.json")).unwrap())
            .unwrap();
    assert_eq!(record["exit_code"], 3);
    assert!(record["error"].as_str().unwrap().contains("cannot clone"));
    // A broken policy is a configuration error: exit 2, which the Job's podFailurePolicy
    // turns into FailIndex (no retry).
    let (code, err) = run_index(Some("4"), None);
    assert_eq!(code, 2, "{err}");
    let (_, job, _) = shipshape(
        r,
        &[
            "fleet",
            "job",
            "--fleet",
            "fleet.toml",
            "--image",
            "img@sha256:0",
        ],
    );
    assert!(job.contains("completions: 5\n"), "{job}");
    let fail_index = job.find("- action: FailIndex").expect("a FailIndex rule");
    assert!(
        job[fail_index..]
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            == "- action: FailIndex onExitCodes: containerName: shipshape operator: In values: [2]",
        "{job}"
    );
    // Out of range: a usage error naming the count.
    let (code, err) = run_index(Some("5"), None);
    assert_eq!(code, 2);
    assert!(err.contains("index 5 is out of range"), "{err}");
    assert!(err.contains("5 target(s), indexes 0 to 4"), "{err}");
    // A retried index starts clean: a successful retry leaves no error behind.
    let (code, _) = run_index(Some("0"), None);
    assert_eq!(code, 0);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("out/svc-00/target.json")).unwrap())
            .unwrap();
    assert!(record["error"].is_null());
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn a_local_run_of_twenty_targets_writes_the_bytes_the_pods_would() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fleet(r, 20);
    let work = r.join("work");
    let work = work.to_str().unwrap();
    let (code, stdout, err) = shipshape(
        r,
        &[
            "fleet",
            "run",
            "--fleet",
            "fleet.toml",
            "-j",
            "2",
            "--out",
            "local",
            "--now",
            NOW,
            "--work",
            work,
        ],
    );
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        stdout.contains("20 target(s) audited into local; 0 could not be audited"),
        "{stdout}"
    );
    // The pods: one run-index per index, as the Job runs them.
    for i in 0..20 {
        let out = Command::cargo_bin("shipshape")
            .unwrap()
            .current_dir(r)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .args([
                "fleet",
                "run-index",
                "--fleet",
                "fleet.toml",
                "--out",
                "pods",
                "--now",
                NOW,
                "--work",
                work,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (local, pods) = (tree(&r.join("local")), tree(&r.join("pods")));
    assert_eq!(local.len(), 20 * 3 + 1, "{:?}", local.keys());
    assert_eq!(
        local.keys().collect::<Vec<_>>(),
        pods.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &local {
        assert!(
            pods[name] == *bytes,
            "{name} differs between fleet run and run-index"
        );
    }
    // Shapes: a third approved; a third without a license (blocking); a third with a TODO
    // (a warning that costs the score its 8).
    let verdicts: Vec<String> = (0..20)
        .map(|i| {
            let v: serde_json::Value =
                serde_json::from_slice(&local[&format!("svc-{i:02}/target.json")]).unwrap();
            v["verdict"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        verdicts.iter().filter(|v| *v == "APPROVED").count(),
        7,
        "{verdicts:?}"
    );
}

#[test]
fn the_dashboard_shows_every_target_with_missing_failed_stale_and_trend() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fleet(r, 4);
    let mut toml = std::fs::read_to_string(r.join("fleet.toml")).unwrap();
    toml.push_str(
        "\n[[target]]\nid = \"never-ran\"\npath = \"repos/svc-00\"\npolicy = \"builtin:default\"\n",
    );
    toml.push_str(&format!(
        "\n[[target]]\nid = \"gone\"\nrepo = \"file://{}/repos/nope\"\n",
        r.display()
    ));
    write(r, "fleet.toml", &toml);
    let work = r.join("work").display().to_string();
    let run = |i: &str| {
        shipshape(
            r,
            &[
                "fleet",
                "run-index",
                "--fleet",
                "fleet.toml",
                "--out",
                "out",
                "--now",
                NOW,
                "--work",
                &work,
                "--index",
                i,
            ],
        )
    };
    for i in ["0", "1", "2", "3", "5"] {
        run(i);
    }
    // Bundles older than stale_after_hours (36) are stale on the second report.
    let report = |now: &str| {
        shipshape(
            r,
            &[
                "fleet",
                "report",
                "out",
                "--now",
                now,
                "--format",
                "md,html,json",
            ],
        )
    };
    let (code, stdout, err) = report("2026-12-01T13:00:00Z");
    assert_eq!(code, 0, "{stdout}{err}");
    // Fix svc-02 (it had no license) and audit it again a day later.
    write(&r.join("repos/svc-02"), "LICENSE", "MIT\n");
    git(&r.join("repos/svc-02"), &["add", "-A"]);
    git(&r.join("repos/svc-02"), &["commit", "-q", "-m", "license"]);
    shipshape(
        r,
        &[
            "fleet",
            "run-index",
            "--fleet",
            "fleet.toml",
            "--out",
            "out",
            "--now",
            "2026-12-03T09:00:00Z",
            "--work",
            &work,
            "--index",
            "2",
        ],
    );
    let (code, stdout, err) = report("2026-12-03T10:00:00Z");
    assert_eq!(code, 0, "{stdout}{err}");
    let md = std::fs::read_to_string(r.join("out/fleet.md")).unwrap();
    let md = md.replace(&r.display().to_string(), "[tmp]");
    // Commit ids depend on the temp path of nothing; the policy digest is builtin:default's.
    let md = regex::Regex::new(r"`[0-9a-f]{12}`")
        .unwrap()
        .replace_all(&md, "`[hex]`")
        .into_owned();
    insta::assert_snapshot!("fleet_dashboard_md", md);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.join("out/fleet.json")).unwrap()).unwrap();
    let state = |id: &str| {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == id)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state("svc-02"), "approved");
    assert_eq!(state("svc-01"), "stale");
    assert_eq!(state("svc-00"), "stale");
    assert_eq!(state("never-ran"), "missing");
    assert_eq!(state("gone"), "failed");
    assert_eq!(json["history"].as_array().unwrap().len(), 2);
    let html = std::fs::read_to_string(r.join("out/fleet.html")).unwrap();
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        html.contains("<svg") && html.contains("<polyline"),
        "the approval-rate chart"
    );
}

#[test]
fn the_rendered_job_passes_kubectl_and_the_hardening_pack() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fleet(r, 3);
    let digest = "a".repeat(64);
    let image = format!("ghcr.io/shipshape-dev/shipshape@sha256:{digest}");
    for schedule in [None, Some("17 5 * * *")] {
        let mut args = vec!["fleet", "job", "--fleet", "fleet.toml", "--image", &image];
        if let Some(s) = schedule {
            args.extend(["--schedule", s]);
        }
        let (code, yaml, err) = shipshape(r, &args);
        assert_eq!(code, 0, "{err}");
        write(r, "k8s/job.yaml", &yaml);
        write(
            r,
            "k8s/np.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shipshape\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
        );
        // shipshape's own hardening pack on the rendered Job: every workload rule passes.
        let run = support::audit_at(
            r,
            NOW,
            &[
                "--policy",
                "builtin:k8s-hardening",
                "--manifests",
                r.join("k8s").to_str().unwrap(),
            ],
        );
        // (The probes rule reads Deployments, StatefulSets and DaemonSets: with a Job only, it
        // has nothing to check, which is pending by contract, never a pass.)
        let failing: Vec<String> = run.bundle["outcomes"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", run.stderr))
            .iter()
            .filter(|o| o["status"] != "pass")
            .filter(|o| !(o["rule"] == "k8s-probes" && o["status"] == "pending"))
            .map(|o| format!("{}: {} {}", o["rule"], o["status"], o["sentence"]))
            .collect();
        assert!(failing.is_empty(), "{failing:#?}\n{yaml}");
        if support::have_kubectl() {
            kubectl_accepts(r, &yaml);
        }
    }
}

/// `kubectl create --dry-run=client` of the manifest, against the loopback API server (kubectl
/// needs the server's discovery to map the kind).
fn kubectl_accepts(dir: &Path, yaml: &str) {
    // Discovery only: kubectl asks which kinds exist before it prints the object. Its requests
    // to this plain-http server arrived without the kubeconfig's token (401 on discovery), so
    // this server answers discovery without one; nothing is created (client-side dry run).
    let inner = apiserver::recorded_cluster(vec![], "fleet-token");
    let server = apiserver::Server::start(std::sync::Arc::new(move |req: &apiserver::Seen| {
        let mut req = req.clone();
        req.authorization = Some("Bearer fleet-token".into());
        inner(&req)
    }));
    let kubeconfig = apiserver::kubeconfig(dir, &server.url(), "fleet-token");
    write(dir, "dry/job.yaml", yaml);
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "--context",
            "test",
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "yaml",
            "-f",
        ])
        .arg(dir.join("dry/job.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let echoed = String::from_utf8_lossy(&out.stdout);
    assert!(echoed.contains("completionMode: Indexed"), "{echoed}");
    assert!(echoed.contains("backoffLimitPerIndex: 2"), "{echoed}");
}

#[test]
fn the_shipped_fleet_manifests_are_what_fleet_job_renders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/fleet");
    for (file, extra) in [
        ("job.yaml", vec![]),
        ("cronjob.yaml", vec!["--schedule", "17 5 * * *"]),
    ] {
        let mut args = vec![
            "fleet",
            "job",
            "--fleet",
            "fleet.toml",
            "--image",
            "ghcr.io/shipshape-dev/shipshape:0.1.0",
        ];
        args.extend(extra);
        let (code, yaml, err) = shipshape(&root, &args);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            std::fs::read_to_string(root.join(file)).unwrap(),
            yaml,
            "deploy/kubernetes/fleet/{file} is out of date: regenerate it (docs/fleet.md)"
        );
    }
    let (code, out, err) = shipshape(&root, &["fleet", "validate", "--fleet", "fleet.toml"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// A cluster target: the pod (here, run-index with a kubeconfig context) audits the live
/// objects of its namespaces with the target's policy, read-only.
#[test]
fn a_cluster_target_audits_live_objects_read_only() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "old", "namespace": "apps", "uid": "d1"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "old"}},
                        "template": {"metadata": {"labels": {"app": "old"}},
                                     "spec": {"containers": [{"name": "old", "image": "nginx:latest"}]}}},
               "status": {"availableReplicas": 1}}),
    ];
    let server = apiserver::Server::start(apiserver::recorded_cluster(objects, "fleet-token"));
    let kubeconfig = apiserver::kubeconfig(r, &server.url(), "fleet-token");
    write(
        r,
        "fleet.toml",
        "[[target]]\nid = \"prod-apps\"\ncluster = { context = \"test\", namespaces = [\"apps\"] }\npolicy = \"builtin:k8s-hardening\"\n",
    );
    let out = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(r)
        .env("KUBECONFIG", &kubeconfig)
        .env("JOB_COMPLETION_INDEX", "0")
        .args([
            "fleet",
            "run-index",
            "--fleet",
            "fleet.toml",
            "--out",
            "out",
            "--now",
            NOW,
            "--work",
        ])
        .arg(r.join("work"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(r.join("out/prod-apps/target.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["verdict"], "NOT_APPROVED", "{record:#}");
    assert_eq!(record["source"], "cluster context test, namespaces apps");
    let bundle = std::fs::read_to_string(r.join("out/prod-apps/report.json")).unwrap();
    assert!(
        bundle.contains("Deployment apps/old"),
        "the finding names the live object"
    );
    let seen = server.requests();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|s| s.method == "GET"),
        "read-only: {seen:?}"
    );
}
