//! `shipshape snapshot`: cluster evidence as a file an audit reads later. Recorded from a live
//! cluster (read-only lists of the kinds the policy reads, never Secrets), with a header saying
//! when, from which server and context; or, for examples and demos, simulated from rendered
//! manifests — and then marked `simulated: true`, so no report presents it as recorded.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::collect::cluster::rfc3339;
use crate::collect::{self, Request, cluster};
use crate::policy::model::Policy;

/// One kind to list, and where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wanted {
    /// `apps/v1`, `v1`, or a bare group (`apps`: the version the server prefers).
    pub api_version: String,
    pub kind: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
}

/// The kinds a policy reads from a cluster: its `cluster` evidence, and the kinds of its
/// `manifests = []` evidence (which read the cluster after deploy). `run_ns` are the
/// namespaces of requests that name none (`--namespace`, else `[cluster] namespaces`; empty:
/// all).
pub fn wanted_by(policy: &Policy, run_ns: &[String]) -> Vec<Wanted> {
    let mut out = BTreeSet::new();
    let mut add = |api_version: &str, kind: &str, own: Option<&str>| {
        for namespace in namespaces(own, run_ns) {
            out.insert(Wanted {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                namespace,
            });
        }
    };
    for req in policy.rules.iter().flat_map(|r| r.evidence.values()) {
        match req {
            Request::Cluster(s) => add(&s.api_version, &s.kind, s.namespace.as_deref()),
            Request::Manifests(s) if s.paths.is_empty() => {
                for kind in &s.kinds {
                    let group = s
                        .api_version
                        .as_deref()
                        .or_else(|| cluster::well_known_group(kind));
                    if let Some(api_version) = group {
                        add(api_version, kind, s.namespace.as_deref());
                    }
                }
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// Where a request is listed: its own namespace, else each run namespace, else all (`None`).
fn namespaces(own: Option<&str>, run_ns: &[String]) -> Vec<Option<String>> {
    match own {
        Some("*") => vec![None],
        Some(n) => vec![Some(n.to_string())],
        None if run_ns.is_empty() => vec![None],
        None => run_ns.iter().cloned().map(Some).collect(),
    }
}

/// `--kind` arguments: `Kind` (a well-known kind), `group/Kind` or `group/version/Kind`.
pub fn parse_kind(arg: &str, run_ns: &[String]) -> Result<Vec<Wanted>, Error> {
    let (api_version, kind) = match arg.rsplit_once('/') {
        Some((a, k)) => (a.to_string(), k.to_string()),
        None => match cluster::well_known_group(arg) {
            Some(g) => (g.to_string(), arg.to_string()),
            None => {
                return Err(Error::Usage(format!(
                    "--kind `{arg}`: give its API group too (`group/Kind` or `group/version/Kind`)"
                )));
            }
        },
    };
    if kind.eq_ignore_ascii_case("secret") {
        return Err(Error::Usage(
            "--kind Secret: shipshape never reads Secrets from a cluster".into(),
        ));
    }
    Ok(namespaces(None, run_ns)
        .into_iter()
        .map(|namespace| Wanted {
            api_version: api_version.clone(),
            kind: kind.clone(),
            namespace,
        })
        .collect())
}

/// Record the wanted kinds from a live cluster as snapshot text.
pub fn record(
    live: &cluster::Live,
    wanted: &[Wanted],
    context: &str,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let mut items = Vec::new();
    for w in wanted {
        let spec = cluster::Spec {
            api_version: w.api_version.clone(),
            kind: w.kind.clone(),
            namespace: Some(w.namespace.clone().unwrap_or_else(|| "*".into())),
            selector: None,
            field_selector: None,
            name: None,
            allow_snapshot: true,
            timeout_secs: cluster::DEFAULT_TIMEOUT_SECS * 6,
        };
        let got = live.list(&spec).map_err(|e| {
            Error::Tool(format!(
                "listing {} {}: {e} (server {})",
                w.api_version, w.kind, live.server
            ))
        })?;
        items.extend(got.into_iter().map(|o| o.value));
    }
    let kinds: Vec<String> = wanted
        .iter()
        .map(|w| match &w.namespace {
            Some(ns) => format!("{}/{} in {ns}", w.api_version, w.kind),
            None => format!("{}/{}", w.api_version, w.kind),
        })
        .collect();
    let mut header = vec![
        "Recorded by `shipshape snapshot` from a live cluster: read-only lists of the kinds the policy reads (never Secrets).".to_string(),
        format!("shipshape-captured-at: {}", rfc3339(now)),
        format!("shipshape-server: {}", live.server),
        format!("shipshape-context: {context}"),
    ];
    if let Some(v) = live.server_version() {
        header.push(format!("shipshape-server-version: {v}"));
    }
    header.push(format!("shipshape-kinds: {}", kinds.join(", ")));
    render(&header, items)
}

/// What `--simulate` is told.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Manifests to render (file, folder or kustomize folder), relative to the audited folder.
    pub manifests: String,
    /// The moment the simulated state stands for (its `captured-at`).
    pub at: DateTime<Utc>,
    /// `DEPLOYMENT=LEASE`: a leader Lease held by a pod of that Deployment, renewed at `at`.
    pub leases: Vec<(String, String)>,
}

/// Simulated cluster state: the rendered manifests as a cluster would hold them after a
/// healthy rollout (metadata, status, conditions; Leases on request), marked simulated.
pub fn simulate(root: &Path, sim: &Simulation) -> Result<String, Error> {
    let rendered = render_manifests(root, &sim.manifests)?;
    let digest = hex(&Sha256::digest(
        serde_json::to_vec(&rendered).map_err(|e| Error::Tool(e.to_string()))?,
    ));
    let mut items: Vec<Value> = rendered
        .into_iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) != Some("Secret"))
        .collect();
    for o in &mut items {
        simulate_object(o, sim.at);
    }
    for (deployment, lease) in &sim.leases {
        let owner = items
            .iter()
            .find(|o| {
                o.get("kind").and_then(Value::as_str) == Some("Deployment")
                    && o.pointer("/metadata/name").and_then(Value::as_str) == Some(deployment)
            })
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--leader-lease {deployment}={lease}: no Deployment `{deployment}` in {}",
                    sim.manifests
                ))
            })?;
        items.push(simulated_lease(owner, lease, sim.at));
    }
    let header = vec![
        "SIMULATED cluster state, generated by `shipshape snapshot --simulate`: NOT a recording of any cluster.".to_string(),
        format!(
            "The objects are the rendered manifests of {}; their status, conditions, Leases and metadata",
            sim.manifests
        ),
        "(uid, resourceVersion, timestamps, pod names) are invented. Every report labels it SIMULATED.".into(),
        "shipshape-simulated: true".into(),
        format!(
            "shipshape-generated-from: {} (rendered manifests sha256:{})",
            sim.manifests,
            &digest[..16]
        ),
        format!("shipshape-captured-at: {}", rfc3339(sim.at)),
    ];
    render(&header, items)
}

/// The manifests' objects, rendered as an audit renders them (kustomize folders included).
fn render_manifests(root: &Path, entry: &str) -> Result<Vec<Value>, Error> {
    let root = std::fs::canonicalize(root)
        .map_err(|e| Error::Usage(format!("cannot open `{}`: {e}", root.display())))?;
    let boundary = crate::repo::work_tree_root(&root)
        .filter(|wt| root.starts_with(wt))
        .unwrap_or_else(|| root.clone());
    let placeholders = collect::artifact::PlaceholderSet::default();
    let ctx = collect::Ctx::new(
        root,
        boundary,
        collect::Options {
            now: Utc::now(),
            skip_commands: true,
            jobs: 1,
            max_file_bytes: crate::DEFAULT_MAX_FILE_BYTES,
            cache_dir: None,
            cache_max_age: chrono::Duration::zero(),
        },
        &placeholders,
        String::new(),
    );
    let spec = collect::manifests::Spec {
        paths: vec![entry.to_string()],
        ..Default::default()
    };
    let mut v = collect::manifests::collect(&ctx, &spec)
        .map_err(|e| Error::Usage(format!("--simulate {entry}: {}", e.reason)))?;
    if let Some(u) = v["unread"].as_array().filter(|u| !u.is_empty()) {
        return Err(Error::Usage(format!(
            "--simulate {entry}: not everything could be read: {}",
            u.iter()
                .map(|x| format!("{} ({})", x["path"], x["reason"]))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let Value::Array(objects) = v["objects"].take() else {
        return Ok(Vec::new());
    };
    Ok(objects
        .into_iter()
        .map(|mut o| {
            if let Value::Object(m) = &mut o {
                m.retain(|k, _| !k.starts_with('_'));
            }
            o
        })
        .collect())
}

/// Metadata and status a cluster would add after a healthy rollout, derived from the object's
/// identity so regenerating gives the same file.
fn simulate_object(o: &mut Value, at: DateTime<Utc>) {
    let id = identity(o);
    let created = at - chrono::Duration::days(14);
    let rolled = at - chrono::Duration::hours(6);
    if let Some(Value::Object(meta)) = o.get_mut("metadata") {
        meta.insert("uid".into(), json!(uid(&id)));
        meta.insert("resourceVersion".into(), json!(resource_version(&id)));
        meta.insert("creationTimestamp".into(), json!(rfc3339(created)));
        meta.insert("generation".into(), json!(1));
        if let Value::Object(ann) = meta.entry("annotations").or_insert_with(|| json!({})) {
            ann.insert("shipshape.dev/simulated".into(), json!("true"));
        }
    }
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    let replicas = o
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let status = match kind {
        "Deployment" => json!({
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": rfc3339(rolled), "lastTransitionTime": rfc3339(rolled)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{}\" has successfully progressed.", replica_set(o)),
                 "lastUpdateTime": rfc3339(rolled), "lastTransitionTime": rfc3339(created)},
            ],
        }),
        "StatefulSet" => json!({
            "observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
            "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
        }),
        "HorizontalPodAutoscaler" => {
            let min = o
                .pointer("/spec/minReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            json!({"currentReplicas": min, "desiredReplicas": min, "lastScaleTime": rfc3339(rolled)})
        }
        _ => return,
    };
    if let Value::Object(m) = o {
        m.insert("status".into(), status);
    }
}

/// A Lease held by the first pod of `owner`, renewed at `at`.
fn simulated_lease(owner: &Value, name: &str, at: DateTime<Utc>) -> Value {
    let ns = owner
        .pointer("/metadata/namespace")
        .cloned()
        .unwrap_or(json!("default"));
    let holder = format!(
        "{}-{}",
        replica_set(owner),
        safe_chars(&format!("pod/{}", identity(owner)), 5)
    );
    let mut lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": micro(at - chrono::Duration::hours(6)),
            "renewTime": micro(at - chrono::Duration::seconds(3)),
            "leaseTransitions": 0,
        },
    });
    simulate_object(&mut lease, at);
    lease
}

/// `name-<pod-template-hash>`, as a Deployment names its ReplicaSet.
fn replica_set(o: &Value) -> String {
    let name = o
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("{name}-{}", safe_chars(&format!("rs/{}", identity(o)), 10))
}

fn identity(o: &Value) -> String {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("");
    format!(
        "{}/{}/{}/{}",
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name")
    )
}

fn hashed(s: &str) -> [u8; 32] {
    Sha256::digest(format!("shipshape-simulated:{s}").as_bytes()).into()
}

fn uid(id: &str) -> String {
    let h = hex(&hashed(id));
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn resource_version(id: &str) -> String {
    let h = hashed(id);
    (1_000_000 + u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % 9_000_000).to_string()
}

/// Characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
fn safe_chars(seed: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hashed(seed)
        .iter()
        .take(n)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn micro(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Header comment lines, then the objects as one `kind: List`, sorted so the file is stable.
fn render(header: &[String], mut items: Vec<Value>) -> Result<String, Error> {
    for o in &mut items {
        if let Some(Value::Object(meta)) = o.get_mut("metadata") {
            meta.remove("managedFields");
        }
    }
    items.sort_by_key(identity);
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    let body = serde_yaml::to_string(&list).map_err(|e| Error::Tool(e.to_string()))?;
    let mut out: String = header.iter().map(|l| format!("# {l}\n")).collect();
    out.push_str(&body);
    Ok(out)
}

/// Where the text goes: a file (written atomically) or standard output (`-`).
pub fn write(out: &Path, text: &str) -> Result<(), Error> {
    if out == Path::new("-") {
        use std::io::Write;
        return std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Error::Tool(e.to_string()));
    }
    crate::write_atomic(out, text.as_bytes())
        .map_err(|e| Error::Tool(format!("cannot write `{}`: {e}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_identities_are_stable_and_look_generated() {
        let u = uid("apps/v1/Deployment/ns/app");
        assert_eq!(u, uid("apps/v1/Deployment/ns/app"));
        assert_eq!(u.len(), 36);
        assert_ne!(u, uid("apps/v1/Deployment/ns/other"));
        let s = safe_chars("x", 10);
        assert!(s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }

    #[test]
    fn kinds_need_a_group_unless_well_known() {
        assert_eq!(
            parse_kind("Deployment", &[]).unwrap()[0].api_version,
            "apps"
        );
        assert!(parse_kind("Widget", &[]).is_err());
        assert_eq!(
            parse_kind("example.com/v1/Widget", &["a".into(), "b".into()]).unwrap(),
            ["a", "b"]
                .map(|ns| Wanted {
                    api_version: "example.com/v1".into(),
                    kind: "Widget".into(),
                    namespace: Some(ns.into())
                })
                .to_vec()
        );
        assert!(parse_kind("v1/Secret", &[]).is_err());
    }
}
