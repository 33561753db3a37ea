"""Process entry point: ``python -m controller.src``.

Start order: config -> logging -> API client -> health server -> leader election ->
controller loop. Stop order (SIGTERM): stop the controller (watch stopped, pending
changes flushed while still leader) -> release the Lease -> stop the health server.
Every thread join is bounded; a thread that does not stop in time is logged and the
process exits non-zero rather than hanging past the pod's termination grace period.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from .controller import ConfigError, Controller, ControllerConfig, FatalApiError
from .health import HealthEndpoints, HealthServer
from .kube import HttpKubeApi, KubeApi
from .leader import LeaderElector
from .logging_setup import configure_logging
from .metrics import ControllerMetrics
from .version import VERSION

log = logging.getLogger("shipshape.controller.main")


def build(config: ControllerConfig, api: KubeApi, metrics: ControllerMetrics | None = None):
    metrics = metrics or ControllerMetrics(VERSION)
    controller = Controller(api, config, metrics)
    elector = LeaderElector(api, config.namespace, config.lease_name, config.identity,
                            lease_duration_seconds=config.lease_duration_seconds,
                            renew_seconds=config.lease_renew_seconds, metrics=metrics)
    return controller, elector, metrics


def run(config: ControllerConfig, api: KubeApi, stop: threading.Event, health_host: str = "0.0.0.0") -> int:
    controller, elector, metrics = build(config, api)
    health = HealthServer(HealthEndpoints(controller, elector, metrics), host=health_host, port=config.health_port)
    health.start()
    election_stop = threading.Event()
    election = threading.Thread(target=elector.run, args=(election_stop,), name="leader-election", daemon=True)
    election.start()
    outcome: dict[str, BaseException] = {}

    def _controller_main() -> None:
        try:
            controller.run(lambda: elector.is_leader)
        except BaseException as exc:  # recorded and turned into the exit code below
            outcome["error"] = exc
        finally:
            stop.set()

    worker = threading.Thread(target=_controller_main, name="controller", daemon=True)
    worker.start()
    log.info("controller started", extra={"version": VERSION, "namespace": config.namespace,
                                           "selector": config.label_selector, "identity": config.identity})
    stop.wait()

    log.info("shutting down")
    controller.stop()
    worker.join(config.shutdown_timeout_seconds)
    election_stop.set()
    election.join(config.shutdown_timeout_seconds)
    health.stop()
    stuck = [t.name for t in (worker, election) if t.is_alive()]
    if stuck:
        log.error("threads did not stop in time", extra={"threads": stuck})
        return 1
    error = outcome.get("error")
    if isinstance(error, FatalApiError):
        return 3
    if error is not None:
        log.error("controller crashed", exc_info=error)
        return 1
    return 0


def main() -> int:
    try:
        config = ControllerConfig.from_env()
    except ConfigError as exc:
        configure_logging("INFO", component="controller")
        log.error("invalid configuration", extra={"error": str(exc)})
        return 2
    configure_logging(config.log_level, component="controller")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return run(config, HttpKubeApi.in_cluster(), stop)


if __name__ == "__main__":
    sys.exit(main())
