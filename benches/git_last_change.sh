#!/usr/bin/env bash
# Benchmark: the git collector's last change of 50 paths (ONE history walk) against fifty
# `git log -1 --format=%cI -- PATH` calls, in the same run, on the same repository.
#
#   benches/git_last_change.sh            # synthetic repo: 50,000 commits over 3,000 files
#   benches/git_last_change.sh REPO       # any repository (50 tracked paths drawn with a fixed seed)
#
# Environment: COMMITS (50000), FILES (3000), PATHS (50), SEED (42), RUNS (3: timed runs of each
# side after the checked first pass, alternating), WORK (target/bench-git),
# SHIPSHAPE (path to a built binary; default: `cargo build --release`, then target/release),
# COMMIT_GRAPH (set: run on a copy of the repository with `git commit-graph write --reachable
# --changed-paths`, so git uses its generation numbers and Bloom filters — and shipshape its own
# reader of them; the goal is then <= 1x git).
# Needs git, python3 and GNU time (/usr/bin/time). Exits 1 when any answer differs from git's.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
COMMITS="${COMMITS:-50000}"
FILES="${FILES:-3000}"
PATHS="${PATHS:-50}"
RUNS="${RUNS:-3}"
SEED="${SEED:-42}"
WORK="${WORK:-$here/target/bench-git}"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

if [[ -z "${SHIPSHAPE:-}" ]]; then
  (cd "$here" && cargo build --release --quiet)
  SHIPSHAPE="$here/target/release/shipshape"
fi

mkdir -p "$WORK"
synthetic=0
if [[ $# -ge 1 ]]; then
  repo="$(cd "$1" && git rev-parse --show-toplevel)"
else
  synthetic=1
  repo="$WORK/synthetic-$COMMITS-$FILES"
  if [[ ! -f "$repo/.bench-complete" ]]; then
    rm -rf "$repo"
    git init -q -b main "$repo"
    echo "building $repo ($COMMITS commits over $FILES files, git fast-import)…" >&2
    # Files are created one per commit, then 90% of changes hit the "hot" third of the files and
    # 10% hit a "cold" file, only during the first half of history: cold files were last changed
    # tens of thousands of commits ago (the deep case), hot ones a few commits ago.
    python3 - "$COMMITS" "$FILES" <<'PY' | git -C "$repo" fast-import --quiet
import random, sys
n, f = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(7)
cold = f * 2 // 3
names = [f"d{i % 60:02d}/cold-{i:05d}.md" for i in range(cold)]
names += [f"d{j % 60:02d}/sub/hot-{j:05d}.md" for j in range(f - cold)]
out = sys.stdout.buffer
t0 = 1546300800  # 2019-01-01T00:00:00Z; one commit an hour
for c in range(n):
    t = t0 + c * 3600
    if c < f:
        changed = [names[c]]
    else:
        changed = set()
        for _ in range(rng.randint(1, 3)):
            if c < n // 2 and rng.random() < 0.10:
                changed.add(names[rng.randrange(cold)])
            else:
                changed.add(names[cold + rng.randrange(f - cold)])
        changed = sorted(changed)
    msg = f"commit {c}\n".encode()
    w = out.write
    w(b"commit refs/heads/main\n")
    w(f"mark :{c + 1}\n".encode())
    w(f"committer Bench <bench@example.com> {t} +0000\n".encode())
    w(f"data {len(msg)}\n".encode() + msg)
    if c > 0:
        w(f"from :{c}\n".encode())
    for p in changed:
        body = f"{p} revision {c}\n".encode()
        w(f"M 100644 inline {p}\n".encode())
        w(f"data {len(body)}\n".encode() + body)
    w(b"\n")
PY
    git -C "$repo" checkout -q -f main
    touch "$repo/.bench-complete"
  fi
fi

if [[ -n "${COMMIT_GRAPH:-}" ]]; then
  copy="$WORK/$(basename "$repo")-commit-graph"
  if [[ ! -f "$copy/.graph-complete" ]]; then
    rm -rf "$copy"
    git clone -q --no-local "$repo" "$copy"
    git -C "$copy" commit-graph write --reachable --changed-paths
    touch "$copy/.graph-complete"
  fi
  repo="$copy"
fi

# 50 paths with a fixed seed: half cold, half hot in the synthetic repo; any tracked files else.
mapfile -t paths < <(git -C "$repo" ls-tree -r --name-only HEAD | python3 -c '
import random, sys
files = [l.rstrip("\n") for l in sys.stdin if l.strip()]
k, seed, synthetic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
rng = random.Random(seed)
if synthetic:
    cold = [f for f in files if "/cold-" in f]
    hot = [f for f in files if "/hot-" in f]
    pick = rng.sample(cold, min(k // 2, len(cold))) + rng.sample(hot, min(k - k // 2, len(hot)))
else:
    pick = rng.sample(files, min(k, len(files)))
print("\n".join(pick))
' "$PATHS" "$SEED" "$synthetic")

now() { date +%s.%N; }
echo "$(git --version)"
echo "repository: $repo ($(git -C "$repo" rev-list --count HEAD) commits, $(git -C "$repo" ls-tree -r --name-only HEAD | wc -l) files), ${#paths[@]} paths, seed $SEED"

# git CLI: one `git log -1` per path.
git_out="$WORK/git.out"
: > "$git_out"
git_peak=0
t0=$(now)
for p in "${paths[@]}"; do
  /usr/bin/time -f '%M' -o "$WORK/git.mem" git -C "$repo" log -1 --format='%cI %H' -- "$p" >> "$git_out"
  m=$(tail -1 "$WORK/git.mem"); (( m > git_peak )) && git_peak=$m
done
t1=$(now)

# shipshape: one walk for all paths.
ship_out="$WORK/shipshape.out"
/usr/bin/time -v -o "$WORK/shipshape.time" "$SHIPSHAPE" git-last-change --repo "$repo" "${paths[@]}" > "$ship_out"
t2=$(now)
ship_peak=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/shipshape.time")

# Compare every answer.
mismatch=0
i=0
while IFS=$'\t' read -r path when sha; do
  expected=$(sed -n "$((i + 1))p" "$git_out")
  if [[ "$path" != "${paths[$i]}" || "$when $sha" != "$expected" ]]; then
    echo "MISMATCH ${paths[$i]}: git $expected, shipshape $when" >&2
    mismatch=1
  fi
  i=$((i + 1))
done < "$ship_out"
if [[ $i -ne ${#paths[@]} ]]; then
  echo "MISMATCH: shipshape answered $i of ${#paths[@]} paths" >&2
  mismatch=1
fi

# Times: the first pass above checked the answers and took the peak memory; then RUNS more runs
# of each, alternating (git's fifty calls, shipshape's walk), medians.
printf '%s\n' "${paths[@]}" > "$WORK/paths.txt"
git_loop="while IFS= read -r p; do git -C $(printf %q "$repo") log -1 --format=%cI -- \"\$p\" >/dev/null; done < $(printf %q "$WORK/paths.txt")"
read -r med_git med_ship < <(python3 "$here/benches/alternate.py" "$RUNS" \
  "bash -c ${git_loop@Q}" \
  "xargs -a ${WORK@Q}/paths.txt -d '\n' ${SHIPSHAPE@Q} git-last-change --repo ${repo@Q}")

python3 - "$t0" "$t1" "$t2" "$ship_peak" "$git_peak" "${#paths[@]}" "${COMMIT_GRAPH:-}" "$med_git" "$med_ship" "$RUNS" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
ship_kb, git_kb, n = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
git, ship = float(sys.argv[8]) / 1000, float(sys.argv[9]) / 1000
ratio = ship / git if git else float("inf")
print(f"first pass: git {t1 - t0:.3f} s, shipshape {t2 - t1:.3f} s; medians of {sys.argv[10]} alternating runs:")
print(f"git CLI:   {git:8.3f} s for {n} x `git log -1 --format=%cI -- PATH` (peak {git_kb / 1024:.1f} MB per call)")
print(f"shipshape: {ship:8.3f} s for one walk over {n} paths (peak {ship_kb / 1024:.1f} MB)")
goal = 1.0 if sys.argv[7] else 0.2
print(f"ratio:     {ratio:8.3f} x the git CLI total (goal <= {goal}), peak memory goal < 200 MB: "
      + ("met" if ratio <= goal and ship_kb < 200 * 1024 else "NOT met"))
PY
if [[ $mismatch -ne 0 ]]; then
  echo "FAIL: shipshape and git disagree" >&2
  exit 1
fi
echo "all ${#paths[@]} answers match git"
