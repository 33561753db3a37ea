"""Shared builders for controller tests."""

import random

from controller.src.controller import Controller, ControllerConfig
from controller.src.metrics import ControllerMetrics


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_config(**overrides) -> ControllerConfig:
    values = dict(namespace="shipshape", environment="test", identity="pod-a",
                  debounce_seconds=2.0, max_debounce_seconds=10.0, max_retries=3,
                  backoff_base_seconds=0.5, backoff_max_seconds=4.0)
    values.update(overrides)
    return ControllerConfig(**values)


def make_controller(api, clock=None, sleeps=None, **overrides):
    metrics = ControllerMetrics("0.2.2")
    sleeps = [] if sleeps is None else sleeps
    controller = Controller(api, make_config(**overrides), metrics, clock=clock or FakeClock(),
                            wall_clock=lambda: 1770000000.0, sleep=sleeps.append,
                            rng=random.Random(7), poll_seconds=0.01)
    return controller, metrics
