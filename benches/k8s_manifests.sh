#!/usr/bin/env bash
# Benchmark (not a test): builtin:k8s-hardening over a real folder of Kubernetes manifests,
# against checkov's Kubernetes framework on the same folder, in the same run.
#
#   cargo build --release && benches/k8s_manifests.sh PATH    # e.g. kubernetes' cluster/addons
#
# Prints both tools' median wall time (RUNS alternating runs, default 3; benches/alternate.py),
# peak memory (GNU time), the ratio, and compares which workload objects each tool checked:
# every Deployment, StatefulSet, DaemonSet, Job, CronJob and Pod checkov checks must be audited
# by shipshape too — or named by it, file by file, as not read (templated, not YAML), as a patch,
# or left out as test/example material (`@non-production`); anything else fails the run (exit 1).
# checkov runs its own ~100 checks and shipshape the pack's rules: the time is a ratio of two
# tools doing the same job on the same input, and the findings comparison is of coverage.
#
# Environment: RUNS (3), WORK (a temp folder), SHIPSHAPE (a built binary), CHECKOV (an installed
# checkov; default: pip-installed into target/bench-peers/checkov-venv here, never a dependency).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[[ $# -eq 1 && -d "$1" ]] || { echo "usage: $0 MANIFESTS_FOLDER" >&2; exit 2; }
tree="$(cd "$1" && pwd)"
RUNS="${RUNS:-3}"
BIN="${SHIPSHAPE:-$here/target/release/shipshape}"
WORK="${WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
CHECKOV="${CHECKOV:-}"
if [[ -z "$CHECKOV" ]]; then
  venv="$here/target/bench-peers/checkov-venv"
  [[ -x "$venv/bin/checkov" ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q checkov; }
  CHECKOV="$venv/bin/checkov"
fi

cat > "$WORK/policy.toml" <<'TOML'
include = ["builtin:k8s-hardening"]
[audit]
name = "bench"
environments = ["prod"]
[cluster]
manifests = ["."]
TOML

ss_cmd=("$BIN" audit "$tree" --policy "$WORK/policy.toml" --env prod --now 2026-01-01T00:00:00Z
  --skip-commands -q --format json --out "$WORK/out")
ck_cmd=("$CHECKOV" -d "$tree" --framework kubernetes --quiet --compact -o json --skip-download)
echo "tree: $tree ($(find "$tree" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l) YAML/JSON files)"
echo "peer: ${ck_cmd[*]/$tree/TREE}  (checkov $("$CHECKOV" --version))"

/usr/bin/time -f '%M' -o "$WORK/ss.mem" "${ss_cmd[@]}" >/dev/null 2>&1 || true
/usr/bin/time -f '%M' -o "$WORK/ck.mem" "${ck_cmd[@]}" > "$WORK/checkov.json" 2>/dev/null || true
read -r t_ss t_ck < <(python3 "$here/benches/alternate.py" "$RUNS" "${ss_cmd[*]@Q}" "${ck_cmd[*]@Q}")
m_ss=$(( $(tail -1 "$WORK/ss.mem") / 1024 ))
m_ck=$(( $(tail -1 "$WORK/ck.mem") / 1024 ))

python3 - "$WORK/out/report.json" "$WORK/checkov.json" "$tree" "$t_ss" "$t_ck" "$m_ss" "$m_ck" "$RUNS" "$here" <<'PY'
import json, os, sys
bundle, ck_file, tree = sys.argv[1], sys.argv[2], sys.argv[3]
t_ss, t_ck, m_ss, m_ck, runs = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
# The pack excludes `@non-production`: its globs, read from shipshape's source.
import re
src = open(os.path.join(sys.argv[9], "src/collect/fs.rs")).read()
block = src[src.index("pub const NON_PRODUCTION_GLOBS"):]
block = block[: block.index("];")]
def to_regex(g):
    out, i = "", 0
    while i < len(g):
        if g.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif g.startswith("/**", i) and i + 3 == len(g):
            out, i = out + "/.*", i + 3
        elif g[i] == "*":
            out, i = out + "[^/]*", i + 1
        else:
            out, i = out + re.escape(g[i]), i + 1
    return re.compile(out)
NON_PRODUCTION = [to_regex(g) for g in re.findall(r'"([^"]+)"', block)]
b = json.load(open(bundle))
ours, named = set(), {}
for item in b["evidence"].values():
    r, v = item["request"], item.get("value")
    if r.get("source") != "manifests" or not isinstance(v, dict):
        continue
    for o in v.get("objects", []):
        if o.get("kind") in WORKLOADS:
            ours.add((o["kind"], o["metadata"].get("name", ""), o.get("_path", "")))
    for u in v.get("unread", []):
        named[u["path"]] = "not read: " + u["reason"]
    for p in v.get("patches", []):
        named[p["path"]] = "a patch: " + p["reason"]
    for e in v.get("errors", []):
        named[e["path"]] = "not parsed: " + e["message"]
theirs = set()
results = json.load(open(ck_file))
for report in results if isinstance(results, list) else [results]:
    res = report.get("results", {})
    for check in res.get("passed_checks", []) + res.get("failed_checks", []):
        kind, _, rest = check["resource"].partition(".")
        if kind in WORKLOADS:
            # `Kind.namespace.name`: a namespace has no dots, a name may (fluentd-es-v3.1.1).
            name = rest.partition(".")[2]
            path = os.path.relpath(os.path.join(tree, check["file_path"].lstrip("/")), tree)
            theirs.add((kind, name, path))
# checkov also reports each controller's pod template as a `Pod`: only a Pod in a file without a
# controller is an object of its own.
controller_files = {p for k, _, p in theirs if k != "Pod"}
theirs = {(k, n, p) for k, n, p in theirs if k != "Pod" or p not in controller_files}
pending = [o for o in b["outcomes"] if o["status"] == "pending"]
print(f"shipshape: {t_ss:.0f} ms (median of {runs}), {m_ss} MB; {len(ours)} workload objects audited, "
      f"{len(named)} files named as not audited, {len(pending)} rules pending")
print(f"checkov:   {t_ck:.0f} ms (median of {runs}), {m_ck} MB; {len(theirs)} workload objects checked")
print(f"ratio:     {t_ss / t_ck:.3f}x checkov's time (goal <= 0.02)")
ours_keys = {(k, n, p) for k, n, p in ours}
ours_names = {(k, n) for k, n, _ in ours}
missing = []
for kind, name, path in sorted(theirs):
    if (kind, name, path) in ours_keys or (kind, name) in ours_names:
        continue
    why = named.get(path)
    if why is None and any(g.fullmatch(path) for g in NON_PRODUCTION):
        why = "leaves it out as not shipping (@non-production)"
    if why:
        print(f"  known difference: {kind} {name} ({path}): shipshape {why}")
    else:
        missing.append((kind, name, path))
only_ours = sorted((k, n) for k, n, _ in ours if (k, n) not in {(a, c) for a, c, _ in theirs})
if only_ours:
    print(f"  audited by shipshape only: {len(only_ours)} (first: {only_ours[:3]})")
if missing:
    print("DISAGREE: workloads checkov checked that shipshape neither audited nor named:", missing[:10])
    sys.exit(1)
PY
