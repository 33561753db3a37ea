#!/usr/bin/env bash
# Benchmark (not a test): a recorded cluster snapshot of 10,000 objects (Deployments, Pods,
# Services, PodDisruptionBudgets, HorizontalPodAutoscalers, NetworkPolicies) audited with
# builtin:k8s-hardening — the workload rules read it as manifests, the controller rules as the
# cluster snapshot. Reports wall time and peak memory (GNU time). Goal: < 1 s, < 300 MB.
#
#   cargo build --release && benches/k8s_snapshot.sh [N]
#
# PEER=1 also runs a peer on the same snapshot in the same run: checkov (Kubernetes framework,
# its CKV_K8S_* checks), installed with pip into a venv under target/bench-peers only here,
# never as a dependency. CHECKOV names an installed checkov instead; PEER_TIMEOUT (seconds,
# default 1800) bounds its run. Checkov runs its own ~100 checks, shipshape the pack's 14
# rules: a ratio of tools doing the same job on the same input, not of identical checks.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-10000}"
BIN="${SHIPSHAPE:-$(cd "$(dirname "$0")/.." && pwd)/target/release/shipshape}"
WORK="${WORK:-$(mktemp -d)}"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo/evidence"
python3 - "$N" "$WORK/repo/evidence/cluster-snapshot.json" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
kinds = ["Deployment", "Pod", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"]
def container(i):
    return {"name": "app", "image": f"registry.example/app:1.{i % 50}@sha256:" + "ab" * 32,
            "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
            "ports": [{"containerPort": 8080, "name": "http"}]}
def pod_spec(i):
    return {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container(i)], "serviceAccountName": "app"}
items = []
for i in range(n):
    k = kinds[i % len(kinds)]
    ns = f"ns-{(i // len(kinds)) % 40}"
    app = f"app-{i // len(kinds)}"
    meta = {"name": app, "namespace": ns, "labels": {"app": app, "tier": "web"},
            "uid": f"00000000-0000-0000-0000-{i:012d}", "resourceVersion": str(1000 + i),
            "creationTimestamp": "2026-01-01T00:00:00Z"}
    if k == "Deployment":
        o = {"apiVersion": "apps/v1", "kind": k, "metadata": meta,
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}},
                      "template": {"metadata": {"labels": {"app": app, "tier": "web"}}, "spec": pod_spec(i)}},
             "status": {"availableReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]}}
    elif k == "Pod":
        o = {"apiVersion": "v1", "kind": k, "metadata": meta, "spec": pod_spec(i),
             "status": {"phase": "Running"}}
    elif k == "Service":
        o = {"apiVersion": "v1", "kind": k, "metadata": meta,
             "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": "http"}]}}
    elif k == "PodDisruptionBudget":
        o = {"apiVersion": "policy/v1", "kind": k, "metadata": meta,
             "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}}}
    elif k == "HorizontalPodAutoscaler":
        o = {"apiVersion": "autoscaling/v2", "kind": k, "metadata": meta,
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                      "minReplicas": 2, "maxReplicas": 6}}
    else:
        o = {"apiVersion": "networking.k8s.io/v1", "kind": k, "metadata": dict(meta, name=f"default-deny-{app}"),
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    items.append(o)
items[0]["metadata"]["labels"]["app.kubernetes.io/component"] = "controller"
items.append({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "leader", "namespace": "ns-0", "labels": {"app.kubernetes.io/component": "controller"}},
              "spec": {"holderIdentity": "c-0", "leaseDurationSeconds": 15, "renewTime": "2026-02-10T08:59:55.000000Z"}})
with open(out, "w") as f:
    f.write("# shipshape-captured-at: 2026-02-10T09:00:00Z\n")
    json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}, f, indent=2)
PY
cat > "$WORK/repo/shipshape.toml" <<'TOML'
include = ["builtin:k8s-hardening"]
[audit]
name = "bench"
environments = ["prod"]
[cluster]
manifests = ["evidence/cluster-snapshot.json"]
TOML
SIZE=$(stat -c %s "$WORK/repo/evidence/cluster-snapshot.json")
echo "snapshot: $N objects (+1 Lease), $SIZE bytes"
cd "$WORK/repo"
/usr/bin/time -v "$BIN" audit . --env prod --now 2026-02-10T12:00:00Z \
  --cluster-snapshot evidence/cluster-snapshot.json --max-file-bytes 200000000 \
  --format json,md --out "$WORK/out" -q 2> "$WORK/time.txt" || true
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$WORK/time.txt"
python3 - "$WORK/out/report.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
for o in b["outcomes"]:
    print(f'  {o["status"]:8} {o["rule"]}')
PY
ls -la "$WORK/out/report.json" | awk '{print "bundle bytes:", $5}'

if [[ -n "${PEER:-}" ]]; then
  CHECKOV="${CHECKOV:-}"
  if [[ -z "$CHECKOV" ]]; then
    venv="$here/target/bench-peers/checkov-venv"
    [[ -x "$venv/bin/checkov" ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q checkov; }
    CHECKOV="$venv/bin/checkov"
  fi
  echo "peer: checkov -f evidence/cluster-snapshot.json --framework kubernetes --quiet --compact -o json  ($("$CHECKOV" --version))"
  /usr/bin/time -v timeout "${PEER_TIMEOUT:-1800}" "$CHECKOV" -f evidence/cluster-snapshot.json \
    --framework kubernetes --quiet --compact -o json > "$WORK/checkov.json" 2> "$WORK/checkov-time.txt" || true
  grep -E "Elapsed \(wall clock\)|Maximum resident set size|Exit status" "$WORK/checkov-time.txt"
  python3 - "$WORK/checkov.json" <<'PY' || echo "checkov: no result (timed out or failed)"
import json, sys
d = json.load(open(sys.argv[1]))
d = d[0] if isinstance(d, list) else d
print("checkov summary:", d.get("summary"))
PY
fi
