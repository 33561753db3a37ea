"""ConfigMap-reload controller: watch labelled ConfigMaps, restart their Deployments.

Flow (see docs/architecture/CONTROLLER_INTERNALS.md):

1. **List** ConfigMaps matching the label selector and reconcile each one. This is the
   start-up drift check: a change made while no controller was leading is applied now.
2. **Watch** from the list's resourceVersion. A watcher thread feeds events into a queue;
   the controller thread alone owns the restart state (pending changes, applied hashes).
3. **Debounce**: changes to one ConfigMap are coalesced until it has been quiet for
   ``debounce_seconds`` (or ``max_debounce_seconds`` passed since the first change).
4. **Reconcile**: hash the ConfigMap data; if the target Deployment's pod-template
   annotation already carries that hash, do nothing; otherwise patch the annotation,
   which makes the Deployment roll its pods.

API errors: 401/403 are fatal (retrying cannot fix RBAC or a revoked token), 410 Gone
means our resourceVersion is too old, so we re-list; 0 (transport), 409, 429 and 5xx are
retried with jittered exponential backoff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping

from .kube import ApiError, KubeApi
from .metrics import ControllerMetrics

log = logging.getLogger("shipshape.controller")

TARGET_ANNOTATION = "shipshape.io/target-deployment"
HASH_ANNOTATION_PREFIX = "config-hash.shipshape.io/"
RESTARTED_AT_ANNOTATION = "shipshape.io/restarted-at"
RETRYABLE_STATUSES = frozenset({0, 409, 429, 500, 502, 503, 504})

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SELECTOR_TERM = re.compile(
    r"^(?:[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?"
    r"(?:(?:=|==|!=)[a-z0-9A-Z]?([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?)?$"
)


class ConfigError(ValueError):
    """The controller's environment does not describe a valid configuration."""


class FatalApiError(Exception):
    """401/403 from the API server: credentials or RBAC are wrong; do not retry."""


class WatchExpired(Exception):
    """410 Gone: the resourceVersion we watch from was compacted; re-list."""


@dataclass(frozen=True)
class ControllerConfig:
    namespace: str
    environment: str
    label_selector: str = "shipshape.io/reload=true"
    default_target: str = "shipshape-app"
    debounce_seconds: float = 2.0
    max_debounce_seconds: float = 10.0
    max_retries: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    watch_timeout_seconds: int = 300
    health_port: int = 8081
    lease_name: str = "shipshape-controller"
    lease_duration_seconds: int = 15
    lease_renew_seconds: int = 5
    identity: str = field(default_factory=socket.gethostname)
    log_level: str = "INFO"
    shutdown_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        validate_config(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ControllerConfig":
        env = os.environ if environ is None else environ

        def num(name: str, default, kind=int):
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                return kind(raw)
            except ValueError as exc:
                raise ConfigError(f"{name} must be a{'n integer' if kind is int else ' number'}, got {raw!r}") from exc

        return cls(
            namespace=env.get("WATCH_NAMESPACE", "").strip(),
            environment=env.get("CONTROLLER_ENV", "").strip(),
            label_selector=env.get("CONFIGMAP_SELECTOR", cls.label_selector).strip(),
            default_target=env.get("TARGET_DEPLOYMENT", cls.default_target).strip(),
            debounce_seconds=num("DEBOUNCE_SECONDS", cls.debounce_seconds, float),
            max_debounce_seconds=num("MAX_DEBOUNCE_SECONDS", cls.max_debounce_seconds, float),
            max_retries=num("MAX_RETRIES", cls.max_retries),
            backoff_base_seconds=num("BACKOFF_BASE_SECONDS", cls.backoff_base_seconds, float),
            backoff_max_seconds=num("BACKOFF_MAX_SECONDS", cls.backoff_max_seconds, float),
            watch_timeout_seconds=num("WATCH_TIMEOUT_SECONDS", cls.watch_timeout_seconds),
            health_port=num("HEALTH_PORT", cls.health_port),
            lease_name=env.get("LEASE_NAME", cls.lease_name).strip(),
            lease_duration_seconds=num("LEASE_DURATION_SECONDS", cls.lease_duration_seconds),
            lease_renew_seconds=num("LEASE_RENEW_SECONDS", cls.lease_renew_seconds),
            identity=(env.get("POD_NAME") or socket.gethostname()).strip(),
            log_level=(env.get("LOG_LEVEL") or "INFO").strip().upper(),
            shutdown_timeout_seconds=num("SHUTDOWN_TIMEOUT_SECONDS", cls.shutdown_timeout_seconds, float),
        )


def validate_config(cfg: ControllerConfig) -> None:
    """Reject every invalid setting at start-up, naming the variable to fix."""
    problems = []
    if not _DNS_LABEL.match(cfg.namespace):
        problems.append(f"WATCH_NAMESPACE must be a DNS-1123 label, got {cfg.namespace!r}")
    if not cfg.environment:
        problems.append("CONTROLLER_ENV must be set (for example test or prod)")
    terms = [t.strip() for t in cfg.label_selector.split(",")]
    if not cfg.label_selector or not all(t and _SELECTOR_TERM.match(t) for t in terms):
        problems.append(f"CONFIGMAP_SELECTOR is not a valid equality-based label selector: {cfg.label_selector!r}")
    if not _DNS_LABEL.match(cfg.default_target):
        problems.append(f"TARGET_DEPLOYMENT must be a DNS-1123 label, got {cfg.default_target!r}")
    if cfg.debounce_seconds < 0 or cfg.max_debounce_seconds < cfg.debounce_seconds:
        problems.append("DEBOUNCE_SECONDS must be >= 0 and <= MAX_DEBOUNCE_SECONDS")
    if cfg.max_retries < 0:
        problems.append("MAX_RETRIES must be >= 0")
    if cfg.backoff_base_seconds <= 0 or cfg.backoff_max_seconds < cfg.backoff_base_seconds:
        problems.append("BACKOFF_BASE_SECONDS must be > 0 and <= BACKOFF_MAX_SECONDS")
    if not 1 <= cfg.watch_timeout_seconds <= 3600:
        problems.append("WATCH_TIMEOUT_SECONDS must be between 1 and 3600")
    if not 1 <= cfg.health_port <= 65535:
        problems.append("HEALTH_PORT must be between 1 and 65535")
    if not 1 <= cfg.lease_renew_seconds < cfg.lease_duration_seconds:
        problems.append("LEASE_RENEW_SECONDS must be >= 1 and < LEASE_DURATION_SECONDS")
    if not cfg.identity:
        problems.append("POD_NAME (or the hostname) must not be empty")
    if cfg.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {cfg.log_level!r}")
    if problems:
        raise ConfigError("; ".join(problems))


def config_hash(configmap: dict) -> str:
    """Stable sha256 over ``data`` and ``binaryData`` (key order and metadata do not matter)."""
    payload = {"data": configmap.get("data") or {}, "binaryData": configmap.get("binaryData") or {}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def hash_annotation_key(configmap_name: str) -> str:
    """Pod-template annotation key recording one ConfigMap's hash (name part <= 63 chars)."""
    name = configmap_name
    if len(name) > 63:
        name = f"{name[:54]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return HASH_ANNOTATION_PREFIX + name


@dataclass
class PendingChange:
    configmap: dict
    first_seen: float
    last_seen: float


class Controller:
    def __init__(self, api: KubeApi, config: ControllerConfig, metrics: ControllerMetrics, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], object] | None = None,
                 rng: random.Random | None = None,
                 poll_seconds: float = 0.2) -> None:
        self.api = api
        self.config = config
        self.metrics = metrics
        self.clock = clock
        self.wall_clock = wall_clock
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait  # interruptible by stop()
        self._rng = rng or random.Random()
        self._poll = poll_seconds
        self._pending: dict[str, PendingChange] = {}
        self._applied: dict[tuple[str, str, str], str] = {}
        self.resource_version = ""
        self.synced = threading.Event()
        self.fatal: Exception | None = None
        self.last_heartbeat = clock()
        self._watcher_lock = threading.Lock()
        self._watch_stop: threading.Event | None = None

    # ----------------------------------------------------------------- retry
    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff: uniform(0, min(max, base * 2**attempt))."""
        cap = min(self.config.backoff_max_seconds, self.config.backoff_base_seconds * (2 ** attempt))
        return self._rng.uniform(0, cap)

    def call_with_retry(self, operation: str, fn: Callable[[], object]):
        attempt = 0
        while True:
            try:
                return fn()
            except ApiError as exc:
                self.metrics.api_errors.inc(operation=operation, code=str(exc.status))
                if exc.status in (401, 403):
                    raise FatalApiError(f"{operation}: {exc}") from exc
                if exc.status == 410:
                    raise WatchExpired(str(exc)) from exc
                if exc.status not in RETRYABLE_STATUSES or attempt >= self.config.max_retries or self._stop.is_set():
                    raise
                delay = self.backoff_delay(attempt)
                attempt += 1
                self.metrics.api_retries.inc(operation=operation)
                log.warning("retrying API call", extra={"operation": operation, "status": exc.status,
                                                        "attempt": attempt, "delay_seconds": round(delay, 3)})
                self._sleep(delay)

    # ----------------------------------------------------------------- events
    @staticmethod
    def _key(obj: dict) -> str:
        meta = obj.get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    def handle_event(self, event: dict, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        etype = event.get("type") or "UNKNOWN"
        obj = event.get("object") or {}
        self.metrics.watch_events.inc(type=etype)
        log.debug("watch event", extra={"type": etype, "configmap": self._key(obj)})
        if etype == "ERROR":
            code = int(obj.get("code") or 0)
            if code == 410:
                raise WatchExpired(obj.get("message", "resourceVersion too old"))
            raise ApiError(code, obj.get("reason", ""), obj.get("message", ""))
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.resource_version = rv
        if etype in ("ADDED", "MODIFIED"):
            key = self._key(obj)
            pending = self._pending.get(key)
            if pending:
                pending.configmap, pending.last_seen = obj, now  # coalesce into the newest state
            else:
                self._pending[key] = PendingChange(obj, now, now)
        elif etype == "DELETED":
            # Deliberately no restart: running pods keep the data they started with, and a
            # restart would only crash them on a missing ConfigMap. Drop any queued change.
            self._pending.pop(self._key(obj), None)
            log.info("configmap deleted; not restarting", extra={"configmap": self._key(obj)})
        self.metrics.queue_depth.set(len(self._pending))

    def flush_due(self, now: float | None = None, force: bool = False) -> list[str]:
        """Reconcile every pending change whose debounce window has closed; return results."""
        now = self.clock() if now is None else now
        results = []
        for key, change in list(self._pending.items()):
            quiet = now - change.last_seen >= self.config.debounce_seconds
            overdue = now - change.first_seen >= self.config.max_debounce_seconds
            if force or quiet or overdue:
                del self._pending[key]
                results.append(self.reconcile(change.configmap))
        self.metrics.queue_depth.set(len(self._pending))
        return results

    @property
    def pending(self) -> int:
        return len(self._pending)

    # ----------------------------------------------------------------- reconcile
    def reconcile(self, configmap: dict) -> str:
        """Make the target Deployment's pod template carry this ConfigMap's hash.

        Returns one of: restarted, unchanged, skipped_no_env, skipped_other_env,
        missing_deployment, error. Raises FatalApiError on 401/403.
        """
        meta = configmap.get("metadata") or {}
        name, namespace = meta.get("name", ""), meta.get("namespace") or self.config.namespace
        env = (meta.get("labels") or {}).get("env")
        if not env:
            log.warning("configmap has no env label; skipping", extra={"configmap": name})
            return self._result("skipped_no_env")
        if env != self.config.environment:
            return self._result("skipped_other_env")
        target = (meta.get("annotations") or {}).get(TARGET_ANNOTATION) or self.config.default_target
        digest = config_hash(configmap)
        cache_key = (namespace, target, name)
        if self._applied.get(cache_key) == digest:
            return self._result("unchanged")
        annotation = hash_annotation_key(name)
        try:
            deployment = self.call_with_retry("get_deployment", lambda: self.api.get_deployment(namespace, target))
            current = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
                "annotations") or {}
            if current.get(annotation) == digest:
                self._applied[cache_key] = digest
                return self._result("unchanged")
            patch = {"spec": {"template": {"metadata": {"annotations": {
                annotation: digest,
                RESTARTED_AT_ANNOTATION: datetime.fromtimestamp(self.wall_clock(), timezone.utc).isoformat(),
            }}}}}
            self.call_with_retry("patch_deployment", lambda: self.api.patch_deployment(namespace, target, patch))
        except ApiError as exc:
            if exc.status == 404:
                log.warning("target deployment not found", extra={"deployment": target, "configmap": name})
                return self._result("missing_deployment")
            log.error("reconcile failed", extra={"deployment": target, "configmap": name, "error": str(exc)})
            return self._result("error")
        self._applied[cache_key] = digest
        self.metrics.last_reload.set(self.wall_clock())
        log.info("deployment restarted", extra={"deployment": target, "configmap": name, "hash": digest[:12]})
        return self._result("restarted")

    def _result(self, result: str) -> str:
        self.metrics.reloads.inc(result=result)
        return result

    # ----------------------------------------------------------------- list/watch loop
    def list_and_reconcile(self) -> list[str]:
        items, rv = self.call_with_retry(
            "list_configmaps", lambda: self.api.list_configmaps(self.config.namespace, self.config.label_selector))
        self.resource_version = rv
        results = [self.reconcile(cm) for cm in items]
        self.synced.set()
        return results

    def _watcher(self, rv: str, out: "queue.Queue", stop: threading.Event) -> None:
        try:
            for event in self.api.watch_configmaps(self.config.namespace, self.config.label_selector, rv,
                                                   self.config.watch_timeout_seconds):
                if stop.is_set():
                    return
                out.put(("event", event))
            out.put(("end", None))
        except Exception as exc:  # handed to the controller thread, which decides what it means
            out.put(("error", exc))

    def watch_once(self, is_leader: Callable[[], bool]) -> str:
        """Run one watch stream to its end. Returns why it ended: timeout, stopped or lost_leadership."""
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        with self._watcher_lock:
            self._watch_stop = stop
        thread = threading.Thread(target=self._watcher, args=(self.resource_version, events, stop),
                                  name="configmap-watch", daemon=True)
        thread.start()
        try:
            while True:
                self.last_heartbeat = self.clock()
                if self._stop.is_set():
                    return "stopped"
                if not is_leader():
                    return "lost_leadership"
                try:
                    kind, value = events.get(timeout=self._poll)
                except queue.Empty:
                    kind, value = "idle", None
                if kind == "event":
                    self.handle_event(value)
                elif kind == "error":
                    if isinstance(value, ApiError) and value.status in (401, 403):
                        raise FatalApiError(str(value)) from value
                    if isinstance(value, ApiError) and value.status == 410:
                        raise WatchExpired(str(value)) from value
                    raise value
                self.flush_due()
                if kind == "end":
                    return "timeout"
        finally:
            stop.set()
            with self._watcher_lock:
                self._watch_stop = None

    def run(self, is_leader: Callable[[], bool] = lambda: True) -> None:
        """Main loop; returns after stop(). Raises FatalApiError on 401/403."""
        failures = 0
        was_leader = False
        while not self._stop.is_set():
            self.last_heartbeat = self.clock()
            if not is_leader():
                if was_leader:
                    log.info("leadership lost; dropping pending changes", extra={"pending": len(self._pending)})
                    self._pending.clear()
                    self.metrics.queue_depth.set(0)
                was_leader = False
                self.synced.clear()
                self.resource_version = ""  # a new leader always starts with a fresh list
                self._stop.wait(self._poll)
                continue
            was_leader = True
            try:
                if not self.resource_version:
                    self.list_and_reconcile()
                reason = self.watch_once(is_leader)
                failures = 0
                if reason == "timeout":
                    self.metrics.watch_restarts.inc(reason="timeout")
            except WatchExpired:
                log.info("watch expired (410 Gone); re-listing")
                self.metrics.watch_restarts.inc(reason="gone")
                self.resource_version = ""
            except FatalApiError as exc:
                log.critical("fatal API error; stopping", extra={"error": str(exc)})
                self.fatal = exc
                self._stop.set()
                raise
            except ApiError as exc:
                self.metrics.watch_restarts.inc(reason="error")
                delay = self.backoff_delay(failures)
                failures += 1
                log.warning("watch failed; backing off", extra={"error": str(exc), "delay_seconds": round(delay, 3)})
                self._sleep(delay)
        if is_leader() and self._pending:
            log.info("flushing pending changes before exit", extra={"pending": len(self._pending)})
            self.flush_due(force=True)

    def stop(self) -> None:
        self._stop.set()
        with self._watcher_lock:
            if self._watch_stop is not None:
                self._watch_stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
