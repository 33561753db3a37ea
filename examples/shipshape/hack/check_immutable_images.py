#!/usr/bin/env python3
"""Fail when a production image is not pinned by digest.

With kubectl on PATH the prod overlay is rendered (`kubectl kustomize`) and every
`image:` in the output must be `NAME@sha256:` followed by 64 hex digits. Without kubectl, the overlay's
kustomization `images:` entries must each carry a `digest:` and every base image must be
covered by one. Exit 0 when pinned, 1 otherwise, 2 when rendering fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^[\w.\-/:]+@sha256:[0-9a-f]{64}$")
IMAGE_LINE = re.compile(r"^\s*-?\s*image:\s*[\"']?([^\"'\s]+)")


def rendered_images(overlay: Path) -> list[str]:
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    return [m.group(1) for line in out.splitlines() if (m := IMAGE_LINE.match(line))]


def static_check(overlay: Path) -> list[str]:
    text = (overlay / "kustomization.yaml").read_text()
    block = re.search(r"^images:\n((?:[ \t-].*\n?)+)", text, re.M)
    entries = re.split(r"\n\s*- ", "\n" + block.group(1)) if block else []
    pinned = {}
    for entry in filter(str.strip, entries):
        name = re.search(r"name:\s*(\S+)", entry)
        digest = re.search(r"digest:\s*(sha256:[0-9a-f]{64})", entry)
        if name:
            pinned[name.group(1)] = bool(digest)
    base_images = {m.group(1).split("@")[0].rsplit(":", 1)[0]
                   for path in (ROOT / "k8s" / "base").rglob("*.yaml")
                   for line in path.read_text().splitlines() if (m := IMAGE_LINE.match(line))}
    return [f"{image} is not pinned by digest in {overlay}/kustomization.yaml"
            for image in sorted(base_images) if not pinned.get(image)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlay", default=str(ROOT / "k8s" / "overlays" / "prod"))
    parser.add_argument("--static", action="store_true", help="do not render with kubectl")
    args = parser.parse_args(argv)
    overlay = Path(args.overlay)
    if not args.static and shutil.which("kubectl"):
        try:
            images = rendered_images(overlay)
        except subprocess.CalledProcessError as exc:
            print(f"ERROR kubectl kustomize {overlay} failed:\n{exc.stderr}")
            return 2
        errors = [f"{image} is not pinned by digest" for image in images if not PINNED.match(image)]
        if not images:
            errors.append(f"no images found in rendered {overlay}")
    else:
        errors = static_check(overlay)
    for error in errors:
        print(f"ERROR {error}")
    if errors:
        return 1
    print(f"OK all production images in {overlay.relative_to(ROOT) if overlay.is_relative_to(ROOT) else overlay} "
          "are pinned by digest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
