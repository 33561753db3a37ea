"""Opt-in request tracing hook (``TRACING_ENABLED=true``).

This is deliberately small: it accepts or starts a W3C ``traceparent`` context, times the
request as one span and emits it as a structured log line (``event=span``) that a log-based
trace pipeline can pick up. When tracing is disabled every call is a cheap no-op.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass, field

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
log = logging.getLogger("shipshape.tracing")


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start: float = field(default_factory=time.perf_counter)
    attributes: dict = field(default_factory=dict)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


class Tracer:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def start_span(self, name: str, traceparent: str | None = None) -> Span | None:
        if not self.enabled:
            return None
        trace_id, parent_id = secrets.token_hex(16), None
        match = _TRACEPARENT.match((traceparent or "").strip().lower())
        if match and match.group(1) != "0" * 32:
            trace_id, parent_id = match.group(1), match.group(2)
        return Span(name=name, trace_id=trace_id, span_id=secrets.token_hex(8), parent_id=parent_id)

    def end_span(self, span: Span | None, **attributes) -> None:
        if span is None:
            return
        span.attributes.update(attributes)
        duration_ms = round((time.perf_counter() - span.start) * 1000, 3)
        log.info(
            "span finished",
            extra={
                "event": "span",
                "span_name": span.name,
                "trace_id": span.trace_id,
                "span_id": span.span_id,
                "parent_span_id": span.parent_id,
                "duration_ms": duration_ms,
                **span.attributes,
            },
        )
