import json
import unittest

from controller.src.health import HealthEndpoints
from controller.src.leader import LeaderElector
from controller.src.metrics import ControllerMetrics
from tests.controller.fake_kube import FakeKubeApi
from tests.controller.helpers import FakeClock, make_controller


class HealthEndpointTests(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        api = FakeKubeApi()
        self.controller, self.metrics = make_controller(api, clock=self.clock)
        self.elector = LeaderElector(api, "shipshape", "shipshape-controller", "pod-a", metrics=self.metrics)
        self.endpoints = HealthEndpoints(self.controller, self.elector, self.metrics,
                                         stall_seconds=60, clock=self.clock)

    def get(self, path):
        status, ctype, body = self.endpoints.handle(path)
        return status, (json.loads(body) if ctype == "application/json" else body.decode())

    def test_healthz_ok_while_heartbeat_is_fresh(self):
        self.assertEqual(self.get("/healthz"), (200, {"status": "ok"}))

    def test_healthz_fails_when_loop_stalls_or_is_fatal(self):
        self.clock.advance(61)
        status, body = self.get("/healthz")
        self.assertEqual((status, body["status"]), (503, "stalled"))
        self.controller.fatal = RuntimeError("403 Forbidden")
        self.assertEqual(self.get("/healthz")[1]["status"], "fatal")

    def test_readyz_reflects_leadership_and_sync(self):
        self.assertEqual(self.get("/readyz"), (503, {"status": "standby"}))
        self.elector._set_leader(True)
        self.assertEqual(self.get("/readyz"), (503, {"status": "syncing"}))
        self.controller.synced.set()
        self.assertEqual(self.get("/readyz"), (200, {"status": "ready", "pending": 0}))

    def test_leadz_reports_identity_and_holder(self):
        status, body = self.get("/leadz")
        self.assertEqual(status, 503)
        self.assertFalse(body["leader"])
        self.elector._set_leader(True)
        self.elector.holder = "pod-a"
        status, body = self.get("/leadz")
        self.assertEqual(status, 200)
        self.assertEqual(body["identity"], "pod-a")
        self.assertEqual(body["lease"], "shipshape/shipshape-controller")

    def test_metrics_and_unknown_paths(self):
        status, text = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('shipshape_controller_build_info{version="0.2.2"} 1', text)
        self.assertEqual(self.get("/nope")[0], 404)


class MetricsRegistryTests(unittest.TestCase):
    def test_counters_reject_wrong_labels_and_negative_increments(self):
        metrics = ControllerMetrics("0.2.2")
        with self.assertRaises(ValueError):
            metrics.reloads.inc(kind="x")
        with self.assertRaises(ValueError):
            metrics.leader_transitions.inc(-1)

    def test_label_values_are_escaped(self):
        metrics = ControllerMetrics('0.2.2"evil')
        self.assertIn('version="0.2.2\\"evil"', metrics.render())
