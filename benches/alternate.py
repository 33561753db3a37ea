#!/usr/bin/env python3
"""Time two commands alternately (A, B, A, B, …) and print each one's median wall time in ms.

    benches/alternate.py RUNS 'COMMAND A' 'COMMAND B'

Used by the benchmark scripts so that a drift in the machine's load (this is a shared 2-core
machine) hits both sides of a ratio alike, instead of all of one side's runs. One warm-up run of
each first. Commands are split like a shell would split them (shlex) but run without a shell, so
a glob such as 'TREE/**/*.md' reaches the program as written. Output: "MEDIAN_A MEDIAN_B".
"""
import shlex
import statistics
import subprocess
import sys
import time


def run(argv):
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - started) * 1000.0


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    a, b = shlex.split(sys.argv[2]), shlex.split(sys.argv[3])
    run(a)
    run(b)
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(run(a))
        times_b.append(run(b))
    print(f"{statistics.median(times_a):.1f} {statistics.median(times_b):.1f}")


if __name__ == "__main__":
    main()
