#!/usr/bin/env python3
"""Check that the release version is the same everywhere it is written down.

Sources: pyproject.toml [project] version, app/src/version.py, controller/src/version.py,
the newest released CHANGELOG.md entry, and every app.kubernetes.io/version label under k8s/.
Exit 0 when all agree, 1 otherwise (each disagreement is printed).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def collect(root: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    with open(root / "pyproject.toml", "rb") as fh:
        found["pyproject.toml"] = tomllib.load(fh)["project"]["version"]
    for rel in ("app/src/version.py", "controller/src/version.py"):
        match = re.search(r'^VERSION\s*=\s*"([^"]+)"', (root / rel).read_text(), re.M)
        found[rel] = match.group(1) if match else "(missing)"
    changelog = (root / "CHANGELOG.md").read_text()
    match = re.search(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})", changelog, re.M)
    found["CHANGELOG.md"] = match.group(1) if match else "(missing)"
    for path in sorted((root / "k8s").rglob("*.yaml")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            label = re.search(r'app\.kubernetes\.io/version:\s*"?([^"\s]+)"?', line)
            if label:
                found[f"{path.relative_to(root)}:{lineno}"] = label.group(1)
    return found


def main() -> int:
    found = collect(ROOT)
    expected = found["pyproject.toml"]
    errors = []
    if not SEMVER.match(expected):
        errors.append(f"pyproject.toml version {expected!r} is not semver")
    for source, version in found.items():
        if version != expected:
            errors.append(f"{source}: {version} != {expected} (pyproject.toml)")
    if not any(":" in s for s in found):
        errors.append("no app.kubernetes.io/version label found under k8s/")
    for error in errors:
        print(f"ERROR {error}")
    if errors:
        return 1
    print(f"OK release metadata coherent at {expected} ({len(found)} sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
