#!/usr/bin/env bash
# Benchmark (run on demand, not a test): evidence commands run in parallel over --jobs.
# Replaces the wall-clock assertion tests/collectors.rs used to make (the test now checks that
# two commands overlap, without a clock). Both sides are measured in the same run, alternating:
# the sequential baseline is `audit -j 1`, not a constant.
#
#   benches/parallel_commands.sh            # 4 commands of 0.5 s each
#   N=8 SLEEP=0.25 benches/parallel_commands.sh
#
# Prints the median wall time of RUNS runs of each, their ratio, and exits 1 when the two runs
# disagree on any rule outcome (a fast wrong answer is a failure).
# Environment: RUNS (7), N (4), SLEEP (0.5), JOBS (default the cores), SHIPSHAPE (a built binary;
# default `cargo build --release`).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-7}"; N="${N:-4}"; SLEEP="${SLEEP:-0.5}"; JOBS="${JOBS:-$(nproc)}"
if [[ -z "${SHIPSHAPE:-}" ]]; then
  (cd "$here" && cargo build --release --quiet)
  SHIPSHAPE="$here/target/release/shipshape"
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
repo="$work/repo"; mkdir -p "$repo"
{
  printf '[audit]\nname = "parallel-bench"\napprove_min_score = 1.0\n\n[[area]]\nid = "cmds"\ntitle = "Commands"\n\n'
  for i in $(seq "$N"); do
    printf '[[rule]]\nid = "cmd-%s"\narea = "cmds"\ntitle = "command %s"\nfail_message = "command %s failed"\nevidence.c = { run = "sleep %s; echo %s" }\nexpect = ["c.exit_code == 0"]\n\n' "$i" "$i" "$i" "$SLEEP" "$i"
  done
} > "$repo/shipshape.toml"

run() { # run JOBS OUT → wall ms
  local start end
  start=$(date +%s%N)
  "$SHIPSHAPE" audit "$repo" --no-cache -q -j "$1" --format json --out "$2" --now 2026-12-01T00:00:00Z >/dev/null || true
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
seq_ms=(); par_ms=()
for _ in $(seq "$RUNS"); do
  seq_ms+=("$(run 1 "$work/seq")")
  par_ms+=("$(run "$JOBS" "$work/par")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median "${seq_ms[@]}"); p=$(median "${par_ms[@]}")
outcomes() { python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(json.dumps([(o["rule"],o["status"]) for o in b["outcomes"]]))' "$1/report.json"; }
echo "commands: $N × sleep $SLEEP s; runs: $RUNS (alternating); jobs: $JOBS"
echo "sequential (-j 1) median: ${s} ms"
echo "parallel   (-j $JOBS) median: ${p} ms"
awk -v s="$s" -v p="$p" 'BEGIN { printf "ratio parallel/sequential: %.2f\n", p / s }'
if [[ "$(outcomes "$work/seq")" != "$(outcomes "$work/par")" ]]; then
  echo "FINDINGS DIFFER between -j 1 and -j $JOBS" >&2
  exit 1
fi
echo "outcomes identical"
