//! builtin:k8s-hardening over live objects: the shipped CronJob's own policy and arguments
//! (deploy/kubernetes), run against a loopback API server holding a compliant namespace and a
//! non-compliant one, approves the first and blocks on the second, naming the workload; and
//! `shipshape snapshot` records what that policy reads, so an audit of the recording agrees with
//! the live one.

#[path = "support/apiserver.rs"]
mod apiserver;

use std::path::{Path, PathBuf};

use apiserver::{Server, kubeconfig, recorded_cluster};
use serde_json::{Value, json};

const NOW: &str = "2026-11-26T12:00:00Z";

fn hardened_pod_spec(name: &str) -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": name,
            "image": "registry.example/app:1.2.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}
        }]
    })
}

/// A compliant namespace `apps` (Deployment with its ReplicaSet's Pod, PDB, HPA, default-deny
/// NetworkPolicy, a CronJob with its Job), a non-compliant `legacy` one, and a Secret.
fn cluster() -> Vec<Value> {
    let owned_pod = {
        // A pod of the Deployment: checked through its owner, not twice (its spec here is
        // deliberately bare to show it is not what the finding is about).
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-7d9f8b6c5d-x2x4k", "namespace": "apps", "labels": {"app": "web", "tier": "web"},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d", "uid": "1", "controller": true}]},
               "spec": {"containers": [{"name": "web", "image": "registry.example/app:1.2.3"}]}})
    };
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "apps", "uid": "d1", "resourceVersion": "7"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web", "tier": "web"}}, "spec": hardened_pod_spec("web")}},
               "status": {"availableReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]}}),
        owned_pod,
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "report", "namespace": "apps"},
               "spec": {"schedule": "0 6 * * *", "jobTemplate": {"spec": {"template": {"spec": hardened_pod_spec("report")}}}}}),
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "report-29000000", "namespace": "apps",
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": "2", "controller": true}]},
               "spec": {"template": {"spec": {"containers": [{"name": "report", "image": "registry.example/app:latest"}]}}}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"name": "web", "namespace": "apps"},
               "spec": {"minAvailable": 1, "selector": {"matchLabels": {"tier": "web"}}}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "web", "namespace": "apps"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "default-deny", "namespace": "apps"},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": "apps"}, "data": {"t": "c2VjcmV0"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "old", "namespace": "legacy"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "old"}},
                        "template": {"metadata": {"labels": {"app": "old"}},
                                     "spec": {"containers": [{"name": "old", "image": "nginx:latest"}]}}}}),
    ]
}

/// The CronJob's policy (from the shipped ConfigMap) in a folder, as it is mounted in the pod.
fn cronjob_policy(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let cm: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("configmap.yaml")).unwrap())
            .unwrap();
    let text = cm["data"]["shipshape.toml"].as_str().unwrap();
    // The documentation quotes this policy from docs/examples/cronjob.toml: the same text.
    let documented = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/cronjob.toml"),
    )
    .unwrap();
    assert_eq!(
        text, documented,
        "docs/examples/cronjob.toml must be the ConfigMap's policy"
    );
    let etc = dir.join("etc-shipshape");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("shipshape.toml"),
        cm["data"]["shipshape.toml"].as_str().unwrap(),
    )
    .unwrap();
    etc
}

/// The CronJob's container arguments, with `--in-cluster` (a pod's service account, which a
/// test cannot be) replaced by a kubeconfig context pointing at the loopback server.
fn cronjob_args(etc: &Path, out: &Path, kc: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let cj: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("cronjob.yaml")).unwrap()).unwrap();
    let args = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .unwrap();
    let mut out_args = Vec::new();
    for a in args {
        match a.as_str().unwrap() {
            "/etc/shipshape" => out_args.push(etc.display().to_string()),
            "/tmp/shipshape-out" => out_args.push(out.display().to_string()),
            "--in-cluster" => out_args.extend([
                "--kubeconfig".to_string(),
                kc.display().to_string(),
                "--context".into(),
                "test".into(),
            ]),
            other => out_args.push(other.to_string()),
        }
    }
    assert!(out_args.iter().any(|a| a == "--context"), "{out_args:?}");
    out_args
}

fn shipshape(args: &[String]) -> (i32, String) {
    let o = assert_cmd::Command::cargo_bin("shipshape")
        .unwrap()
        .args(args)
        .args(["--now", NOW])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn bundle(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn the_cronjob_approves_a_compliant_cluster_and_blocks_a_non_compliant_one() {
    let server = Server::start(recorded_cluster(cluster(), "good"));
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), &server.url(), "good");
    let etc = cronjob_policy(dir.path());

    // The shipped policy audits namespace `apps`: compliant.
    let out = dir.path().join("out-apps");
    let (code, log) = shipshape(&cronjob_args(&etc, &out, &kc));
    let b = bundle(&out);
    assert_eq!(
        code,
        0,
        "{log}\n{}",
        std::fs::read_to_string(out.join("report.md")).unwrap()
    );
    assert_eq!(b["report"]["verdict"], "APPROVED");
    for o in b["outcomes"].as_array().unwrap() {
        assert_eq!(o["status"], "pass", "{o}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("Cluster evidence: live cluster, context test"),
        "{md}"
    );
    // The Deployment was checked, once, by its own name; its pod and the CronJob's Job were not
    // checked again.
    let objects = b["evidence"].to_string();
    assert!(objects.contains("Deployment apps/web"));
    assert!(!objects.contains("Pod apps/web-7d9f8b6c5d-x2x4k"));
    assert!(!objects.contains("Job apps/report-29000000"));
    assert!(!objects.contains("c2VjcmV0"));

    // Asked about `legacy` too (the CronJob's --namespace would do the same): NOT APPROVED,
    // naming the workload.
    let out = dir.path().join("out-both");
    let mut args = cronjob_args(&etc, &out, &kc);
    args.extend(["--namespace".into(), "apps,legacy".into()]);
    let (code, log) = shipshape(&args);
    assert_eq!(code, 1, "{log}");
    let b = bundle(&out);
    assert_eq!(b["report"]["verdict"], "NOT_APPROVED");
    let root = b["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == "k8s-run-as-non-root")
        .unwrap();
    assert_eq!(root["status"], "fail", "{root}");
    assert!(
        root["sentence"]
            .as_str()
            .unwrap()
            .contains("Deployment legacy/old"),
        "{root}"
    );
    assert!(
        !root["sentence"].as_str().unwrap().contains("apps/web"),
        "{root}"
    );

    // Read-only, and never a Secret.
    let seen = server.requests();
    assert!(seen.iter().all(|r| r.method == "GET"), "{seen:?}");
    assert!(
        !seen.iter().any(|r| r.target.contains("secrets")),
        "{seen:?}"
    );
}

#[test]
fn a_recorded_snapshot_gives_the_same_verdict_as_the_live_cluster() {
    let server = Server::start(recorded_cluster(cluster(), "good"));
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), &server.url(), "good");
    let etc = cronjob_policy(dir.path());
    let snap = dir.path().join("cluster.yaml");
    let (code, log) = shipshape(&[
        "snapshot".into(),
        etc.display().to_string(),
        "--kubeconfig".into(),
        kc.display().to_string(),
        "--context".into(),
        "test".into(),
        "--out".into(),
        snap.display().to_string(),
    ]);
    assert_eq!(code, 0, "{log}");
    let text = std::fs::read_to_string(&snap).unwrap();
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    for want in [
        "# shipshape-captured-at: 2026-11-26T12:00:00Z".to_string(),
        format!("# shipshape-server: {}", server.url()),
        "# shipshape-context: test".into(),
        "# shipshape-server-version: v1.31.2".into(),
    ] {
        assert!(
            header
                .iter()
                .any(|h| h.trim_end_matches('/') == want.trim_end_matches('/')),
            "{want} not in {header:?}"
        );
    }
    assert!(
        !header.iter().any(|h| h.contains("simulated")),
        "{header:?}"
    );
    assert!(text.contains("name: web"), "{text}");
    assert!(!text.contains("c2VjcmV0") && !text.contains("kind: Secret"));
    // Only the configured namespace was listed, and only GETs were made.
    let seen = server.requests();
    assert!(seen.iter().all(|r| r.method == "GET"));
    assert!(
        !seen
            .iter()
            .any(|r| r.target.contains("/namespaces/legacy/")),
        "{seen:?}"
    );

    let out = dir.path().join("out");
    let (code, log) = shipshape(&[
        "audit".into(),
        etc.display().to_string(),
        "--cluster-snapshot".into(),
        snap.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--format".into(),
        "md,json".into(),
    ]);
    assert_eq!(code, 0, "{log}");
    let b = bundle(&out);
    assert_eq!(b["report"]["verdict"], "APPROVED");
    let c = &b["report"]["provenance"]["cluster"];
    assert_eq!(c["kind"], "snapshot");
    assert_eq!(c["context"], "test");
    assert_eq!(c["server_version"], "v1.31.2");
}
