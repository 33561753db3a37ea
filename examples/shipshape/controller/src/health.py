"""Health, leadership and metrics endpoints for the controller.

* ``/healthz`` - 200 while the controller loop is alive (heartbeat fresher than the stall
  threshold and no fatal API error). Used by both liveness and readiness probes, so a
  standby replica is Ready and rollouts of an active/standby pair can proceed.
* ``/readyz``  - 200 only on the leader after its initial list has synced: a diagnostic
  for "is someone actually reconciling", not wired to the readiness probe.
* ``/leadz``   - leadership diagnostics as JSON; 200 on the leader, 503 on a standby.
* ``/metrics`` - Prometheus text format.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from .controller import Controller
from .leader import LeaderElector
from .metrics import ControllerMetrics
from .version import VERSION

log = logging.getLogger("shipshape.health")


class HealthEndpoints:
    """Pure request handling, separated from the socket layer for testing."""

    def __init__(self, controller: Controller, elector: LeaderElector, metrics: ControllerMetrics, *,
                 stall_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.controller = controller
        self.elector = elector
        self.metrics = metrics
        self.stall_seconds = stall_seconds
        self.clock = clock

    def handle(self, path: str) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path == "/healthz":
            age = self.clock() - self.controller.last_heartbeat
            if self.controller.fatal is not None:
                return self._json(503, {"status": "fatal", "error": str(self.controller.fatal)})
            if age > self.stall_seconds:
                return self._json(503, {"status": "stalled", "heartbeat_age_seconds": round(age, 1)})
            return self._json(200, {"status": "ok"})
        if path == "/readyz":
            if not self.elector.is_leader:
                return self._json(503, {"status": "standby"})
            if not self.controller.synced.is_set():
                return self._json(503, {"status": "syncing"})
            return self._json(200, {"status": "ready", "pending": self.controller.pending})
        if path == "/leadz":
            leader = self.elector.is_leader
            return self._json(200 if leader else 503, {
                "leader": leader, "identity": self.elector.identity, "holder": self.elector.holder,
                "lease": f"{self.elector.namespace}/{self.elector.name}", "version": VERSION})
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics.render().encode()
        return self._json(404, {"detail": "Not Found"})

    @staticmethod
    def _json(status: int, payload: dict) -> tuple[int, str, bytes]:
        return status, "application/json", (json.dumps(payload) + "\n").encode()


class HealthServer:
    def __init__(self, endpoints: HealthEndpoints, host: str = "0.0.0.0", port: int = 8081) -> None:
        handle = endpoints.handle

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, ctype, body = handle(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("access", extra={"request": fmt % args})

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
