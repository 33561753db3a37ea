#!/usr/bin/env bash
# Benchmark (run on demand, not a test): shipshape's marker scan, link + anchor check, whole
# example audit, each side by side with a peer tool in the same run (parallel commands:
# benches/parallel_commands.sh).
#
#   benches/docs_perf.sh            # a synthetic tree: 20,000 files, 3,000 Markdown files with
#                                   # links and anchors (some broken)
#   benches/docs_perf.sh PATH       # any folder (markers and links only)
#
# Prints each peer's exact command and version and the median of RUNS runs, shipshape and the
# peer alternating run by run (benches/alternate.py; the example audit alone: hyperfine when
# installed, else a `date +%s%N` loop). Exits 1 when shipshape and a peer disagree on the
# findings, beyond the differences of semantics docs/performance.md documents, which it names
# one by one (symlinks, tracked files .gitignore matches, symlinked folders, protocol-relative
# and root-relative links).
# Peers are installed here only, never as build dependencies: ripgrep (apt, else cargo),
# hyperfine (apt, optional), lychee (`cargo install lychee`, minutes of compiling).
# Environment: NO_LYCHEE (set: skip lychee), RUNS (10), WORK (target/bench-docs), SHIPSHAPE (a built binary; default
# `cargo build --release`), JOBS (shipshape --jobs; default the cores).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-10}"
WORK="${WORK:-$here/target/bench-docs}"
JOBS="${JOBS:-$(nproc)}"
mkdir -p "$WORK"
status=0

need() { command -v "$1" >/dev/null 2>&1; }
need rg || apt-get install -y ripgrep >/dev/null 2>&1 || cargo install ripgrep
need hyperfine || apt-get install -y hyperfine >/dev/null 2>&1 || true
# NO_LYCHEE=1 skips the link comparison (and lychee's long install); the run then exits 1.
[[ -n "${NO_LYCHEE:-}" ]] || need lychee || [[ -x "$HOME/.cargo/bin/lychee" ]] || cargo install lychee --locked
export PATH="$HOME/.cargo/bin:$PATH"

if [[ -z "${SHIPSHAPE:-}" ]]; then
  (cd "$here" && cargo build --release --quiet)
  SHIPSHAPE="$here/target/release/shipshape"
fi

# median_ms NAME CMD… : the median wall time of RUNS runs, in ms.
median_ms() {
  local name="$1"; shift
  if need hyperfine; then
    hyperfine -i -N --style none --warmup 1 --runs "$RUNS" --export-json "$WORK/time-$name.json" "$*" >/dev/null 2>&1 \
      || hyperfine -i --style none --warmup 1 --runs "$RUNS" --export-json "$WORK/time-$name.json" "$*" >/dev/null 2>&1 || true
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(round(r["median"]*1000,1))' "$WORK/time-$name.json"
  else
    local ts=()
    for _ in $(seq "$RUNS"); do
      local a b; a=$(date +%s%N); "$@" >/dev/null 2>&1 || true; b=$(date +%s%N)
      ts+=($(( (b - a) / 1000000 )))
    done
    printf '%s\n' "${ts[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
  fi
}

# alternate 'CMD A' 'CMD B' : both medians of RUNS runs taken alternately (A, B, A, B…), so a
# change in the machine's load hits both sides of the ratio alike.
alternate() { python3 "$here/benches/alternate.py" "$RUNS" "$1" "$2"; }

# peak_mb CMD… : the peak resident memory of CMD (and of any child it waited for), in MB.
peak_mb() {
  /usr/bin/time -f '%M' -o "$WORK/peak.txt" "$@" >/dev/null 2>&1 || true
  awk '{v=int($1/1024)} END {print v}' "$WORK/peak.txt"
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

# ---------------------------------------------------------------------------------------------
# The tree.
if [[ $# -ge 1 ]]; then
  tree="$(cd "$1" && pwd)"
  synthetic=0
else
  synthetic=1
  tree="$WORK/synthetic"
  if [[ ! -f "$WORK/.synthetic-complete" ]]; then
    rm -rf "$tree"
    python3 - "$tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
MD, OTHER = 3000, 17000
mds = [f"docs/s{i % 40}/page{i}.md" for i in range(MD)]
for i, p in enumerate(mds):
    lines = [f"# Page {i}", "", "Intro text.", ""]
    for h in range(5):
        lines += [f"## Section {h} of page {i}", "", f"Body {h}."]
        if rnd.random() < 0.02:
            lines.append("TODO: expand this section")
        for _ in range(2):
            j = rnd.randrange(MD)
            rel = os.path.relpath(mds[j], os.path.dirname(p))
            r = rnd.random()
            if r < 0.01:
                rel = rel.replace("page", "missing")           # broken file
            frag = f"#section-{rnd.randrange(5)}-of-page-{j}"
            if r > 0.99:
                frag = "#no-such-heading"                      # broken anchor
            lines.append(f"See [page {j}]({rel}{frag}).")
        lines.append("")
    os.makedirs(os.path.join(root, os.path.dirname(p)), exist_ok=True)
    open(os.path.join(root, p), "w").write("\n".join(lines) + "\n")
for i in range(OTHER):
    p = os.path.join(root, f"src/m{i % 200}/f{i}.py")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    body = [f"def f{i}(x):", "    return x + 1"] * 20
    if rnd.random() < 0.05:
        body.insert(3, "    # FIXME: handle None")
    if rnd.random() < 0.01:
        body.insert(5, "    # HACK XXX")
    open(p, "w").write("\n".join(body) + "\n")
PY
    touch "$WORK/.synthetic-complete"
  fi
fi
nfiles=$(find "$tree" -type f -not -path '*/.git/*' | wc -l)
echo "tree: $tree ($nfiles files)"

# Policies outside the tree so they are not findings themselves.
cat > "$WORK/markers.toml" <<'TOML'
[audit]
name = "bench"
[[area]]
id = "a"
[[rule]]
id = "markers"
area = "a"
evidence.m = { scan = 'TODO|FIXME|HACK|XXX', max_matches = 1000000 }
expect = ['m.count == 0']
TOML
cat > "$WORK/links.toml" <<'TOML'
[audit]
name = "bench"
[[area]]
id = "a"
[[rule]]
id = "links"
area = "a"
evidence.l = { links = ["**/*.md"] }
expect = ['size(l.broken) == 0']
TOML
audit() { "$SHIPSHAPE" audit "$tree" --policy "$1" --now 2026-01-01T00:00:00Z -q --format json --out "$2" -j "$JOBS" --skip-commands >/dev/null 2>&1 || true; }

rows=()

# ---------------------------------------------------------------------------------------------
# 1. Marker scan vs ripgrep.
rg_cmd=(rg -c --hidden -g '!.git' 'TODO|FIXME|HACK|XXX' "$tree")
echo "peer: ${rg_cmd[*]}  ($(rg --version | head -1))"
audit "$WORK/markers.toml" "$WORK/out-markers"
"${rg_cmd[@]}" > "$WORK/rg.txt" || true
python3 - "$WORK/out-markers/report.json" "$WORK/rg.txt" "$tree" <<'PY' || status=1
import json, os, subprocess, sys
b = json.load(open(sys.argv[1])); tree = sys.argv[3]; root = tree.rstrip("/") + "/"
v = next(i["value"] for i in b["evidence"].values() if i["request"]["source"] == "scan")
ours = {}
for m in v["matches"]:
    ours[m["path"]] = ours.get(m["path"], 0) + 1
theirs = {}
for line in open(sys.argv[2]):
    p, n = line.rstrip("\n").rsplit(":", 1)
    theirs[p[len(root):] if p.startswith(root) else p] = int(n)
print(f"markers: shipshape {v['count']} lines in {len(ours)} files; ripgrep {sum(theirs.values())} lines in {len(theirs)} files")
# Differences of semantics, documented in docs/performance.md, are named and not failures:
# a symlink inside the repository (shipshape reads it, ripgrep does not follow it) and a tracked
# file that matches .gitignore (shipshape reads it — it ships —, ripgrep skips ignored paths).
def explained(path):
    full = os.path.join(tree, path)
    if os.path.islink(full):
        return "a symlink ripgrep does not follow"
    r = subprocess.run(["git", "-C", tree, "check-ignore", "-q", "--no-index", path])
    if r.returncode == 0:
        return "tracked but matched by .gitignore: ripgrep skips it"
    return None
diff = sorted(set(ours.items()) ^ set(theirs.items()))
unexplained = []
for path, _ in diff:
    why = explained(path)
    if why:
        print(f"  known difference: {path}: shipshape {ours.get(path, 0)}, ripgrep {theirs.get(path, 0)} ({why})")
    else:
        unexplained.append((path, ours.get(path, 0), theirs.get(path, 0)))
if unexplained:
    print("DISAGREE:", unexplained[:10]); sys.exit(1)
PY
ss_cmd=("$SHIPSHAPE" audit "$tree" --policy "$WORK/markers.toml" --now 2026-01-01T00:00:00Z -q --format json --out "$WORK/out-markers" -j "$JOBS" --skip-commands)
read -r t_ss t_rg < <(alternate "${ss_cmd[*]@Q}" "${rg_cmd[*]@Q}")
m_ss=$(peak_mb "$SHIPSHAPE" audit "$tree" --policy "$WORK/markers.toml" --now 2026-01-01T00:00:00Z -q --format json --out "$WORK/out-markers" -j "$JOBS" --skip-commands)
m_rg=$(peak_mb "${rg_cmd[@]}")
rows+=("| marker scan | $t_ss ms, $m_ss MB | ripgrep \`${rg_cmd[*]/$tree/TREE}\` | $t_rg ms, $m_rg MB | $(ratio "$t_ss" "$t_rg")× | ≤ 1.2× |")

# ---------------------------------------------------------------------------------------------
# 2. Links and anchors vs lychee.
if [[ -z "${NO_LYCHEE:-}" ]] && need lychee; then
  ly_cmd=(lychee --offline --include-fragments --no-progress --format json --output "$WORK/lychee.json" "$tree/**/*.md")
  echo "peer: ${ly_cmd[*]}  ($(lychee --version))"
  audit "$WORK/links.toml" "$WORK/out-links"
  "${ly_cmd[@]}" >/dev/null 2>&1 || true
  python3 - "$WORK/out-links/report.json" "$WORK/lychee.json" "$tree" <<'PY' || status=1
import json, os, posixpath, sys, urllib.parse
b = json.load(open(sys.argv[1])); tree = sys.argv[3].rstrip("/"); root = tree + "/"
v = next(i["value"] for i in b["evidence"].values() if i["request"]["source"] == "links")
# Both sides as (linking file, the repository path it points at [#fragment]).
def norm(path, frag):
    path = posixpath.normpath(path).rstrip("/")
    return path + ("#" + frag if frag else "")
ours = set()
for x in v["broken"]:
    target, _, frag = x["target"].partition("#")
    if target.startswith("/"):
        full = target.lstrip("/")
    elif target:
        full = posixpath.join(posixpath.dirname(x["path"]), urllib.parse.unquote(target))
    else:
        full = x["path"]
    ours.add((x["path"], norm(full, frag)))
theirs = set()
for src, fails in (json.load(open(sys.argv[2])).get("error_map") or {}).items():
    s = os.path.relpath(src, tree)
    for f in fails:
        if f["url"].startswith("file://"):
            path, _, frag = urllib.parse.unquote(f["url"][7:]).partition("#")
            theirs.add((s, norm(os.path.relpath(path, tree), frag)))
print(f"links: shipshape {len(ours)} broken of {v['checked']} checked; lychee {len(theirs)} broken")
# Known differences of semantics (docs/performance.md), named and not failures: lychee checks
# files again through symlinked folders (shipshape once, at their real place); lychee reads a
# protocol-relative URL (`//host/x`) as a local path (it is external); lychee skips root-relative
# links (`/x`), which GitHub resolves from the repository root.
def via_symlink(path):
    parts = path.split("/")
    return any(os.path.islink(os.path.join(tree, *parts[:i])) for i in range(1, len(parts)))
raw = {(x["path"], x["target"]) for x in v["broken"]}
def explained(item, side):
    path, target = item
    if side == "lychee" and via_symlink(path):
        return "a file reached through a symlinked folder"
    if side == "lychee" and target.startswith("..") and "github.com/" in target:
        return "a protocol-relative URL read as a local path"
    if side == "shipshape" and any(p == path and t.startswith("/") for p, t in raw):
        return "a root-relative link"
    return None
unexplained = []
for side, items in (("shipshape", ours - theirs), ("lychee", theirs - ours)):
    for item in sorted(items):
        why = explained(item, side)
        if why:
            print(f"  known difference, only {side}: {item[0]} → {item[1]} ({why})")
        else:
            unexplained.append((side, item))
if unexplained:
    print("DISAGREE (first 10):", unexplained[:10]); sys.exit(1)
PY
  ss_cmd=("$SHIPSHAPE" audit "$tree" --policy "$WORK/links.toml" --now 2026-01-01T00:00:00Z -q --format json --out "$WORK/out-links" -j "$JOBS" --skip-commands)
  read -r t_ss t_ly < <(alternate "${ss_cmd[*]@Q}" "${ly_cmd[*]@Q}")
  m_ss=$(peak_mb "$SHIPSHAPE" audit "$tree" --policy "$WORK/links.toml" --now 2026-01-01T00:00:00Z -q --format json --out "$WORK/out-links" -j "$JOBS" --skip-commands)
  m_ly=$(peak_mb "${ly_cmd[@]}")
  rows+=("| links + anchors | $t_ss ms, $m_ss MB | lychee \`lychee --offline --include-fragments 'TREE/**/*.md'\` | $t_ly ms, $m_ly MB | $(ratio "$t_ss" "$t_ly")× | ≤ 0.4×, memory ≤ lychee |")
else
  echo "lychee is not installed (cargo install lychee failed): links not compared" >&2
  status=1
fi

# ---------------------------------------------------------------------------------------------
# 3. The whole example audit, commands skipped.
ex="$here/examples/shipshape"
# Warm: the run cache in the output folder holds the kustomize render (as on a developer's second
# run); cold: --no-cache renders with kubectl every time. Memory: shipshape's own peak (its -vv
# phase log) and the process tree's (GNU time, which counts kubectl, the largest child).
t_ex=$(median_ms example "$SHIPSHAPE" audit "$ex" --skip-commands -q --format md,json --out "$WORK/out-example" --now 2026-11-26T12:00:00Z)
t_cold=$(median_ms example-cold "$SHIPSHAPE" audit "$ex" --skip-commands -q --format md,json --out "$WORK/out-example-cold" --now 2026-11-26T12:00:00Z --no-cache)
own() { { "$SHIPSHAPE" audit "$ex" --skip-commands --format md,json --now 2026-11-26T12:00:00Z -vv "$@" 2>&1 >/dev/null || true; } \
  | sed -n 's/.*peak_mb=\([0-9]*\).*/\1/p' | sort -n | tail -1; }
own_warm=$(own --out "$WORK/out-example"); own_cold=$(own --out "$WORK/out-example-cold" --no-cache)
tree_warm=$(peak_mb "$SHIPSHAPE" audit "$ex" --skip-commands -q --format md,json --out "$WORK/out-example" --now 2026-11-26T12:00:00Z)
tree_cold=$(peak_mb "$SHIPSHAPE" audit "$ex" --skip-commands -q --format md,json --out "$WORK/out-example-cold" --now 2026-11-26T12:00:00Z --no-cache)
rows+=("| example audit \`--skip-commands\`, warm | $t_ex ms, ${own_warm:-?} MB (tree ${tree_warm} MB) | — | — | — | < 150 ms, < 50 MB |")
rows+=("| example audit \`--skip-commands --no-cache\` | $t_cold ms, ${own_cold:-?} MB (tree ${tree_cold} MB, kubectl included) | — | — | — | < 150 ms, < 50 MB |")

# ---------------------------------------------------------------------------------------------
# 4. Two commands that each sleep 2 s.
mkdir -p "$WORK/sleepy"
cat > "$WORK/sleepy/shipshape.toml" <<'TOML'
[audit]
name = "bench"
[[area]]
id = "a"
[[rule]]
id = "one"
area = "a"
evidence.s = { run = "sleep 2" }
expect = ['s.exit_code == 0']
[[rule]]
id = "two"
area = "a"
evidence.s = { run = "sleep 2 && true" }
expect = ['s.exit_code == 0']
TOML
# The sequential side is measured in the same run (`-j 1`), not assumed to be 4,000 ms.
sleepy() { # JOBS → wall ms
  local a b
  a=$(date +%s%N)
  "$SHIPSHAPE" audit "$WORK/sleepy" -q --format json --out "$WORK/out-sleepy-$1" --no-cache -j "$1" >/dev/null 2>&1 || true
  b=$(date +%s%N)
  echo $(( (b - a) / 1000000 ))
}
t_par=$(sleepy 2); t_seq=$(sleepy 1)
rows+=("| two \`sleep 2\` commands, \`-j 2\` | $t_par ms | the same audit with \`-j 1\` | $t_seq ms | $(ratio "$t_par" "$t_seq")× | ≈ 0.5× |")

echo
echo "| benchmark | shipshape (median of $RUNS), peak memory | peer | peer time, peak memory | ratio | goal |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$status"
