"""A minimal thread-safe Prometheus registry for the controller (standard library only)."""

from __future__ import annotations

import threading


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values)) + "}"


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        if not labelnames:
            self._values[()] = 0.0

    def _key(self, labels: dict) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} expects labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def value(self, **labels) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            for key, val in sorted(self._values.items()):
                number = int(val) if float(val).is_integer() else val
                lines.append(f"{self.name}{_labels(self.labelnames, key)} {number}")
        return lines


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1.0, **labels) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        with self._lock:
            key = self._key(labels)
            self._values[key] = self._values.get(key, 0.0) + amount


class Gauge(_Metric):
    kind = "gauge"

    def set(self, value: float, **labels) -> None:
        with self._lock:
            self._values[self._key(labels)] = float(value)


class ControllerMetrics:
    """Every metric the controller exports; one instance per process (or per test)."""

    def __init__(self, version: str) -> None:
        self.watch_events = Counter("shipshape_controller_watch_events_total",
                                    "ConfigMap watch events received, by event type.", ("type",))
        self.watch_restarts = Counter("shipshape_controller_watch_restarts_total",
                                      "Times the watch was re-established, by reason.", ("reason",))
        self.api_retries = Counter("shipshape_controller_api_retries_total",
                                   "Retried Kubernetes API calls, by operation.", ("operation",))
        self.api_errors = Counter("shipshape_controller_api_errors_total",
                                  "Failed Kubernetes API calls, by operation and status code.", ("operation", "code"))
        self.reloads = Counter("shipshape_controller_reloads_total",
                               "Deployment restart decisions, by result.", ("result",))
        self.queue_depth = Gauge("shipshape_controller_queue_depth",
                                 "ConfigMap changes waiting for the debounce window to close.")
        self.last_reload = Gauge("shipshape_controller_last_reload_timestamp_seconds",
                                 "Unix time of the last successful Deployment restart.")
        self.is_leader = Gauge("shipshape_controller_leader", "1 when this replica holds the leader Lease.")
        self.leader_transitions = Counter("shipshape_controller_leader_transitions_total",
                                          "Leadership changes observed by this replica.")
        self.build_info = Gauge("shipshape_controller_build_info", "Build information (value is always 1).",
                                ("version",))
        self.build_info.set(1, version=version)

    def render(self) -> str:
        lines: list[str] = []
        for metric in vars(self).values():
            if isinstance(metric, _Metric):
                lines.extend(metric.render())
        return "\n".join(lines) + "\n"
