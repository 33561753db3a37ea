#!/usr/bin/env bash
# Back up the ConfigMaps the shipshape controller manages, ready to re-apply to any cluster.
#
#   scripts/backup-configmaps.sh NAMESPACE [OUTPUT_DIR] [SELECTOR]
#
# Writes OUTPUT_DIR/configmaps-NAMESPACE-YYYYmmddTHHMMSSZ.yaml with server-managed metadata
# (uid, resourceVersion, creationTimestamp, managedFields, ownerReferences) removed, and a
# .sha256 file beside it. Exits non-zero if kubectl fails or nothing matched the selector.
set -euo pipefail

namespace="${1:?usage: backup-configmaps.sh NAMESPACE [OUTPUT_DIR] [SELECTOR]}"
out_dir="${2:-backups}"
selector="${3:-shipshape.io/reload=true}"

command -v kubectl >/dev/null || { echo "kubectl not found on PATH" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found on PATH" >&2; exit 2; }

mkdir -p "$out_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$out_dir/configmaps-$namespace-$stamp.yaml"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT

kubectl get configmaps --namespace "$namespace" --selector "$selector" --output json > "$tmp"

python3 - "$tmp" "$target" <<'PY'
import json
import sys

source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as fh:
    items = json.load(fh).get("items", [])
if not items:
    sys.exit("no ConfigMaps matched the selector; nothing backed up")
volatile = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences", "generation")
docs = []
for item in items:
    meta = item.get("metadata", {})
    for key in volatile:
        meta.pop(key, None)
    meta.get("annotations", {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
    docs.append(json.dumps(item, indent=2, sort_keys=True))  # JSON is valid YAML
with open(target, "w", encoding="utf-8") as fh:
    fh.write("\n---\n".join(docs) + "\n")
print(f"backed up {len(items)} ConfigMap(s) to {target}")
PY

sha256sum "$target" > "$target.sha256"
