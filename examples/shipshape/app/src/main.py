"""HTTP entry point for the shipshape app (standard library only).

Routes: ``/`` (the configured message), ``/healthz`` (liveness), ``/readyz`` (readiness)
and ``/metrics`` (Prometheus text format). Unknown paths get a 404 JSON body and are
recorded under the path label ``other`` so scanners cannot explode metric cardinality.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from .config import AppConfig, ConfigError, load_config
from .logging_setup import configure_logging
from .tracing import Tracer
from .version import VERSION

log = logging.getLogger("shipshape.app")

# Response = (status, content type, body bytes)
Response = tuple[int, str, bytes]
JSON = "application/json"
PROM = "text/plain; version=0.0.4; charset=utf-8"

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
INTERNAL_ERROR_BODY = {"error": "internal_error", "message": "An internal error occurred."}


def json_response(status: int, payload: dict) -> Response:
    return status, JSON, (json.dumps(payload) + "\n").encode()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Thread-safe request metrics rendered in Prometheus text exposition format."""

    def __init__(self, known_paths: Callable[[], set[str]]) -> None:
        self._known_paths = known_paths
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._in_flight = 0

    def normalize_path(self, path: str) -> str:
        path = path.split("?", 1)[0]
        return path if path in self._known_paths() else "other"

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def end(self, method: str, path: str, status: int, duration: float) -> None:
        label = self.normalize_path(path)
        method = method if method in ("GET", "HEAD", "POST", "PUT", "DELETE") else "OTHER"
        with self._lock:
            self._in_flight -= 1
            key = (method, label, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            hkey = (method, label)
            buckets = self._buckets.setdefault(hkey, [0] * len(DURATION_BUCKETS))
            for i, bound in enumerate(DURATION_BUCKETS):
                if duration <= bound:
                    buckets[i] += 1
            self._sums[hkey] = self._sums.get(hkey, 0.0) + duration
            self._counts[hkey] = self._counts.get(hkey, 0) + 1

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def render(self, config: AppConfig) -> str:
        lines = [
            "# HELP shipshape_http_requests_total Total HTTP requests by method, path and status.",
            "# TYPE shipshape_http_requests_total counter",
        ]
        with self._lock:
            for (method, path, status), count in sorted(self._requests.items()):
                lines.append(
                    f'shipshape_http_requests_total{{method="{method}",path="{path}",status="{status}"}} {count}'
                )
            lines += [
                "# HELP shipshape_http_request_duration_seconds HTTP request latency.",
                "# TYPE shipshape_http_request_duration_seconds histogram",
            ]
            for (method, path), buckets in sorted(self._buckets.items()):
                labels = f'method="{method}",path="{path}"'
                for bound, count in zip(DURATION_BUCKETS, buckets):
                    lines.append(f'shipshape_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
                total = self._counts[(method, path)]
                lines.append(f'shipshape_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}')
                lines.append(f"shipshape_http_request_duration_seconds_sum{{{labels}}} {self._sums[(method, path)]:.6f}")
                lines.append(f"shipshape_http_request_duration_seconds_count{{{labels}}} {total}")
            in_flight = self._in_flight
        lines += [
            "# HELP shipshape_http_requests_in_flight HTTP requests currently being served.",
            "# TYPE shipshape_http_requests_in_flight gauge",
            f"shipshape_http_requests_in_flight {in_flight}",
            "# HELP shipshape_app_config_info Active configuration (value is always 1).",
            "# TYPE shipshape_app_config_info gauge",
            f'shipshape_app_config_info{{message_source="{config.message_source}",'
            f'log_level="{config.log_level}",tracing_enabled="{str(config.tracing_enabled).lower()}"}} 1',
            "# HELP shipshape_app_build_info Build information (value is always 1).",
            "# TYPE shipshape_app_build_info gauge",
            f'shipshape_app_build_info{{version="{_escape(VERSION)}"}} 1',
        ]
        return "\n".join(lines) + "\n"


class App:
    """Routing, readiness state and the global error handler, independent of the socket layer."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.ready = threading.Event()
        self.tracer = Tracer(config.tracing_enabled)
        self.routes: dict[str, Callable[[], Response]] = {
            "/": self.index,
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics_endpoint,
        }
        self.metrics = Metrics(lambda: set(self.routes))

    def index(self) -> Response:
        return json_response(200, {"message": self.config.message, "version": VERSION})

    def healthz(self) -> Response:
        return json_response(200, {"status": "ok"})

    def readyz(self) -> Response:
        if self.ready.is_set():
            return json_response(200, {"status": "ready"})
        return json_response(503, {"status": "not_ready"})

    def metrics_endpoint(self) -> Response:
        return 200, PROM, self.metrics.render(self.config).encode()

    def handle(self, method: str, raw_path: str, headers: dict | None = None) -> tuple[Response, dict]:
        """Dispatch one request; never raises. Returns the response and extra headers."""
        headers = headers or {}
        request_id = headers.get("X-Request-Id") or uuid.uuid4().hex
        path = raw_path.split("?", 1)[0]
        span = self.tracer.start_span(f"{method} {self.metrics.normalize_path(path)}", headers.get("traceparent"))
        started = time.perf_counter()
        self.metrics.begin()
        try:
            if method not in ("GET", "HEAD"):
                response = json_response(405, {"detail": "Method Not Allowed"})
            else:
                route = self.routes.get(path)
                response = route() if route else json_response(404, {"detail": "Not Found"})
        except Exception:  # global error handler: one consistent 500 body, details only in logs
            log.exception("unhandled error", extra={"path": path, "request_id": request_id})
            response = json_response(500, {**INTERNAL_ERROR_BODY, "request_id": request_id})
        duration = time.perf_counter() - started
        status = response[0]
        self.metrics.end(method, path, status, duration)
        extra = {"X-Request-Id": request_id}
        if span is not None:
            self.tracer.end_span(span, http_status=status)
            extra["traceparent"] = span.traceparent
        return response, extra


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"shipshape/{VERSION}"
        sys_version = ""

        def _serve(self) -> None:
            (status, ctype, body), extra = app.handle(self.command, self.path, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, fmt: str, *args) -> None:  # route access logs through JSON logging
            log.debug("access", extra={"client": self.client_address[0], "request": fmt % args})

    return Handler


def create_server(app: App, host: str = "0.0.0.0", port: int | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, app.config.port if port is None else port), make_handler(app))
    server.daemon_threads = True
    return server


def install_signal_handlers(app: App, server: ThreadingHTTPServer) -> None:
    """On SIGTERM/SIGINT: fail readiness first, then stop accepting and drain in-flight requests."""

    def _stop(signum, _frame) -> None:
        log.info("shutdown requested", extra={"signal": signal.Signals(signum).name})
        app.ready.clear()
        threading.Thread(target=server.shutdown, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def main(argv: list[str] | None = None) -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        configure_logging("INFO")
        log.error("invalid configuration", extra={"error": str(exc)})
        return 2
    configure_logging(config.log_level)
    app = App(config)
    server = create_server(app)
    install_signal_handlers(app, server)
    app.ready.set()
    log.info("listening", extra={"port": config.port, "version": VERSION, "tracing": config.tracing_enabled})
    server.serve_forever()
    server.server_close()
    deadline = time.monotonic() + 10
    while app.metrics.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
