"""JSON logging with secret redaction for the controller (same format as the app).

Every log line is one JSON object so the cluster log pipeline can index fields without
parsing. Redaction runs on the final rendered line, so secrets are removed no matter
whether they arrive in the message, in ``extra`` fields or in an exception traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

REDACTED = "[REDACTED]"

# Each pattern keeps group 1 (the key and separator) and replaces the secret value. Values stop
# at a backslash so a JSON escape sequence is never cut in half.
REDACTION_PATTERNS = [
    re.compile(r"(?i)((?:password|passwd|secret|token|api[_-]?key|access[_-]?key)\"?\s*[:=]\s*\"?)[^\s\",;&\\]+"),
    re.compile(r"(?i)(authorization\"?\s*[:=]\s*\"?(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
]

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Replace secret values in ``text`` with ``[REDACTED]``."""
    for pattern in REDACTION_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Render a record as a single JSON line, then redact secrets from it."""

    def __init__(self, component: str = "controller") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "component": self.component,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str, sort_keys=False))


def configure_logging(level: str = "INFO", component: str = "controller", stream=None) -> logging.Logger:
    """Install the redacting JSON formatter on the root logger (idempotent)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(RedactingFormatter(component))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return root
