#!/usr/bin/env python3
"""Run the unittest suite and write a JUnit XML report (standard library only).

unittest has no JUnit writer, and CI and the shipshape audit both ingest JUnit XML, so this
runner records each test's outcome and duration and writes one testsuite element per test module.

    python3 hack/run_tests_junit.py --output evidence/junit.xml
    coverage run --rcfile=.coveragerc hack/run_tests_junit.py --output evidence/junit.xml

Exit status: 0 when every test passed (skips allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
import traceback
import unittest
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RecordingResult(unittest.TextTestResult):
    """TextTestResult that also keeps (test id, outcome, seconds, detail) per test."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[tuple[str, str, float, str]] = []
        self._started: dict[str, float] = {}

    def startTest(self, test) -> None:
        self._started[test.id()] = time.perf_counter()
        super().startTest(test)

    def _record(self, test, outcome: str, detail: str = "") -> None:
        elapsed = time.perf_counter() - self._started.get(test.id(), time.perf_counter())
        self.records.append((test.id(), outcome, elapsed, detail))

    def addSuccess(self, test) -> None:
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err) -> None:
        super().addFailure(test, err)
        self._record(test, "failure", "".join(traceback.format_exception(*err)))

    def addError(self, test, err) -> None:
        super().addError(test, err)
        self._record(test, "error", "".join(traceback.format_exception(*err)))

    def addSkip(self, test, reason) -> None:
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "passed")

    def addUnexpectedSuccess(self, test) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")

    def addSubTest(self, test, subtest, err) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:  # a failing subtest fails its parent test
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._record(test, kind, f"{subtest._subDescription()}\n" + "".join(traceback.format_exception(*err)))


def to_junit(records, started_at: datetime, total_seconds: float) -> ET.ElementTree:
    suites: dict[str, list] = {}
    for test_id, outcome, seconds, detail in records:
        module, _, name = test_id.rpartition(".")
        classname = module
        suite_name = module.rsplit(".", 1)[0]
        suites.setdefault(suite_name, []).append((classname, name, outcome, seconds, detail))

    def counts(rows):
        return {k: sum(1 for r in rows if r[2] == v)
                for k, v in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped"))}

    all_rows = [row for rows in suites.values() for row in rows]
    root = ET.Element("testsuites", name="shipshape", tests=str(len(all_rows)),
                      time=f"{total_seconds:.3f}", timestamp=started_at.isoformat(timespec="seconds"),
                      **{k: str(v) for k, v in counts(all_rows).items()})
    for suite_name, rows in sorted(suites.items()):
        suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(rows)),
                              time=f"{sum(r[3] for r in rows):.3f}",
                              timestamp=started_at.isoformat(timespec="seconds"),
                              hostname=socket.gethostname(),
                              **{k: str(v) for k, v in counts(rows).items()})
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="python", value=platform.python_version())
        for classname, name, outcome, seconds, detail in rows:
            case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}")
            if outcome in ("failure", "error"):
                first = detail.strip().splitlines()[-1] if detail.strip() else outcome
                ET.SubElement(case, outcome, message=first[:200]).text = detail
            elif outcome == "skipped":
                ET.SubElement(case, "skipped", message=detail)
    ET.indent(root)
    return ET.ElementTree(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="evidence/junit.xml")
    parser.add_argument("--start", default="tests")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    suite = unittest.defaultTestLoader.discover(args.start, top_level_dir=".")
    started_at = datetime.now(timezone.utc)
    runner = unittest.TextTestRunner(resultclass=RecordingResult, verbosity=2 if args.verbose else 1)
    t0 = time.perf_counter()
    result = runner.run(suite)
    total = time.perf_counter() - t0

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    to_junit(result.records, started_at, total).write(output, encoding="utf-8", xml_declaration=True)
    print(f"wrote {output} ({result.testsRun} tests)")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
