#!/usr/bin/env python3
"""Govern .trivyignore: every suppressed CVE needs owner, justification and a future expiry.

Each entry is a block of comment lines directly above the CVE line:

    # owner: platform-team
    # justification: why the finding does not apply here
    # expires: 2027-03-31
    CVE-2024-12345

Usage: validate_trivyignore.py [--today 2026-11-26] [path]. Exit 0 when valid, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CVE = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})$")
FIELD = re.compile(r"^#\s*(owner|justification|expires):\s*(.*\S)\s*$")
MAX_DAYS = 548  # suppressions are re-reviewed at least every 18 months


def validate(text: str, today: date) -> tuple[int, list[str]]:
    errors, fields, entries = [], {}, 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            fields = {}
            continue
        match = FIELD.match(line)
        if match:
            fields[match.group(1)] = match.group(2)
            continue
        if line.startswith("#"):
            continue
        if not CVE.match(line):
            errors.append(f"line {lineno}: {line!r} is not a CVE or GHSA identifier")
            continue
        entries += 1
        for name in ("owner", "justification", "expires"):
            if name not in fields:
                errors.append(f"line {lineno}: {line} has no '# {name}:' comment")
        if "expires" in fields:
            try:
                expires = date.fromisoformat(fields["expires"])
            except ValueError:
                errors.append(f"line {lineno}: {line} expiry {fields['expires']!r} is not an ISO date")
            else:
                if expires < today:
                    errors.append(f"line {lineno}: {line} expired on {expires}")
                elif (expires - today).days > MAX_DAYS:
                    errors.append(f"line {lineno}: {line} expiry {expires} is more than {MAX_DAYS} days away")
        fields = {}
    return entries, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(ROOT / ".trivyignore"))
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    entries, errors = validate(Path(args.path).read_text(), args.today)
    for error in errors:
        print(f"ERROR {error}")
    if errors:
        return 1
    print(f"OK {entries} suppression(s) governed in {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
