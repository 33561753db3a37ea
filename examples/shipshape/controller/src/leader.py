"""Leader election through a coordination.k8s.io/v1 Lease.

Only the replica holding the Lease reconciles, so two controller replicas never restart
the same Deployment twice. The algorithm mirrors client-go's leaderelection package:

* acquire when the Lease is absent, ours, or expired (``renewTime + leaseDurationSeconds``
  in the past); taking over someone else's Lease increments ``leaseTransitions``;
* renew every ``renew_seconds``; writes use optimistic concurrency (resourceVersion), so a
  409 means another replica won the race;
* step down when renewals have failed for a *renew deadline* (2/3 of the lease duration),
  before the Lease can expire under us: a stale leader must stop before a new one starts;
* release on shutdown by clearing ``holderIdentity`` so a standby takes over at once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from .kube import ApiError, KubeApi
from .metrics import ControllerMetrics

log = logging.getLogger("shipshape.leader")

MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_microtime(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime(MICROTIME)


def parse_microtime(value: str | None) -> float | None:
    if not value:
        return None
    for fmt in (MICROTIME, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    return None


class LeaderElector:
    def __init__(self, api: KubeApi, namespace: str, name: str, identity: str, *,
                 lease_duration_seconds: int = 15, renew_seconds: int = 5,
                 metrics: ControllerMetrics | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration_seconds
        self.renew_seconds = renew_seconds
        self.renew_deadline = lease_duration_seconds * 2 / 3
        self.metrics = metrics
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._leader = False
        self._last_renew: float | None = None
        self.holder: str | None = None

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._leader

    def _set_leader(self, leader: bool) -> None:
        with self._lock:
            changed = leader != self._leader
            self._leader = leader
        if changed:
            log.info("leadership %s", "acquired" if leader else "lost", extra={"identity": self.identity})
            if self.metrics:
                self.metrics.leader_transitions.inc()
        if self.metrics:
            self.metrics.is_leader.set(1 if leader else 0)

    def _spec(self, now: float, transitions: int, acquire_time: str | None) -> dict:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.lease_duration,
            "acquireTime": acquire_time or format_microtime(now),
            "renewTime": format_microtime(now),
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """One election round. Returns whether this replica is leader afterwards."""
        now = self.wall_clock()
        try:
            lease = self.api.get_lease(self.namespace, self.name)
        except ApiError as exc:
            if exc.status != 404:
                return self._renew_failed(now, exc)
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": self.name, "namespace": self.namespace},
                     "spec": self._spec(now, 0, None)}
            try:
                self.api.create_lease(self.namespace, lease)
            except ApiError as create_exc:
                return self._renew_failed(now, create_exc)
            return self._acquired(now, self.identity)

        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or None
        self.holder = holder
        renewed = parse_microtime(spec.get("renewTime"))
        duration = spec.get("leaseDurationSeconds") or self.lease_duration
        expired = renewed is None or renewed + duration < now
        if holder and holder != self.identity and not expired:
            self._set_leader(False)
            return False

        transitions = int(spec.get("leaseTransitions") or 0)
        acquire_time = spec.get("acquireTime")
        if holder != self.identity:
            transitions += 1
            acquire_time = None
        lease["spec"] = self._spec(now, transitions, acquire_time)
        try:
            self.api.update_lease(self.namespace, lease)
        except ApiError as exc:
            return self._renew_failed(now, exc)
        return self._acquired(now, self.identity)

    def _acquired(self, now: float, holder: str) -> bool:
        self._last_renew = now
        self.holder = holder
        self._set_leader(True)
        return True

    def _renew_failed(self, now: float, exc: ApiError) -> bool:
        if exc.status == 409:  # another replica wrote first
            self._set_leader(False)
            return False
        log.warning("lease update failed", extra={"status": exc.status, "error": str(exc)})
        if self.is_leader and self._last_renew is not None and now - self._last_renew < self.renew_deadline:
            return True  # keep leading until the renew deadline passes
        self._set_leader(False)
        return False

    def release(self) -> None:
        """Give the Lease up so a standby can take over without waiting for expiry."""
        if not self.is_leader:
            return
        try:
            lease = self.api.get_lease(self.namespace, self.name)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") == self.identity:
                spec.update({"holderIdentity": None, "leaseDurationSeconds": 1,
                             "renewTime": format_microtime(self.wall_clock())})
                lease["spec"] = spec
                self.api.update_lease(self.namespace, lease)
                log.info("lease released", extra={"identity": self.identity})
        except ApiError as exc:  # the Lease will expire on its own; shutting down must not block
            log.warning("lease release failed", extra={"error": str(exc)})
        finally:
            self._set_leader(False)

    def run(self, stop: threading.Event) -> None:
        """Election loop until ``stop`` is set; releases the Lease on the way out."""
        while not stop.is_set():
            self.try_acquire_or_renew()
            stop.wait(self.renew_seconds if self.is_leader else max(1.0, self.renew_seconds / 2))
        self.release()
