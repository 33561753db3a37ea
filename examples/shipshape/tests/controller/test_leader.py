import threading
import unittest

from controller.src.kube import ApiError
from controller.src.leader import LeaderElector, format_microtime, parse_microtime
from controller.src.metrics import ControllerMetrics
from tests.controller.fake_kube import FakeKubeApi
from tests.controller.helpers import FakeClock

KEY = ("shipshape", "shipshape-controller")


def elector(api, identity="pod-a", clock=None, metrics=None):
    return LeaderElector(api, "shipshape", "shipshape-controller", identity, lease_duration_seconds=15,
                         renew_seconds=5, metrics=metrics or ControllerMetrics("0.2.2"),
                         wall_clock=clock or FakeClock(1770000000.0))


class LeaseElectionTests(unittest.TestCase):
    def setUp(self):
        self.api = FakeKubeApi()
        self.clock = FakeClock(1770000000.0)
        self.metrics = ControllerMetrics("0.2.2")

    def test_acquires_absent_lease(self):
        e = elector(self.api, clock=self.clock, metrics=self.metrics)
        with self.assertLogs("shipshape.leader", level="INFO"):
            self.assertTrue(e.try_acquire_or_renew())
        spec = self.api.leases[KEY]["spec"]
        self.assertEqual(spec["holderIdentity"], "pod-a")
        self.assertEqual(spec["leaseDurationSeconds"], 15)
        self.assertEqual(spec["leaseTransitions"], 0)
        self.assertEqual(self.metrics.is_leader.value(), 1)
        self.assertEqual(self.metrics.leader_transitions.value(), 1)

    def test_renewal_keeps_acquire_time_and_transitions(self):
        e = elector(self.api, clock=self.clock, metrics=self.metrics)
        with self.assertLogs("shipshape.leader", level="INFO"):
            e.try_acquire_or_renew()
        first = dict(self.api.leases[KEY]["spec"])
        self.clock.advance(5)
        self.assertTrue(e.try_acquire_or_renew())
        spec = self.api.leases[KEY]["spec"]
        self.assertEqual(spec["acquireTime"], first["acquireTime"])
        self.assertEqual(spec["leaseTransitions"], 0)
        self.assertGreater(parse_microtime(spec["renewTime"]), parse_microtime(first["renewTime"]))
        self.assertEqual(self.metrics.leader_transitions.value(), 1)

    def test_standby_does_not_steal_a_live_lease(self):
        with self.assertLogs("shipshape.leader", level="INFO"):
            elector(self.api, "pod-a", self.clock).try_acquire_or_renew()
        self.clock.advance(10)
        standby = elector(self.api, "pod-b", self.clock)
        self.assertFalse(standby.try_acquire_or_renew())
        self.assertEqual(standby.holder, "pod-a")

    def test_expired_lease_is_taken_over(self):
        with self.assertLogs("shipshape.leader", level="INFO"):
            elector(self.api, "pod-a", self.clock).try_acquire_or_renew()
        self.clock.advance(16)
        standby = elector(self.api, "pod-b", self.clock, self.metrics)
        with self.assertLogs("shipshape.leader", level="INFO"):
            self.assertTrue(standby.try_acquire_or_renew())
        spec = self.api.leases[KEY]["spec"]
        self.assertEqual(spec["holderIdentity"], "pod-b")
        self.assertEqual(spec["leaseTransitions"], 1)

    def test_write_conflict_means_someone_else_won(self):
        with self.assertLogs("shipshape.leader", level="INFO"):
            elector(self.api, "pod-a", self.clock).try_acquire_or_renew()
        self.clock.advance(20)
        self.api.errors["update_lease"] = [ApiError(409, "Conflict")]
        self.assertFalse(elector(self.api, "pod-b", self.clock).try_acquire_or_renew())

    def test_leader_steps_down_after_renew_deadline(self):
        e = elector(self.api, clock=self.clock, metrics=self.metrics)
        with self.assertLogs("shipshape.leader", level="INFO"):
            e.try_acquire_or_renew()
        self.api.errors["get_lease"] = [ApiError(503, "ServiceUnavailable")] * 3
        with self.assertLogs("shipshape.leader", level="WARNING"):
            self.clock.advance(5)
            self.assertTrue(e.try_acquire_or_renew())  # within the 10 s renew deadline
            self.clock.advance(6)
            self.assertFalse(e.try_acquire_or_renew())  # 11 s without a successful renew
        self.assertEqual(self.metrics.is_leader.value(), 0)
        self.assertEqual(self.metrics.leader_transitions.value(), 2)

    def test_release_clears_holder(self):
        e = elector(self.api, clock=self.clock)
        with self.assertLogs("shipshape.leader", level="INFO"):
            e.try_acquire_or_renew()
            e.release()
        spec = self.api.leases[KEY]["spec"]
        self.assertIsNone(spec["holderIdentity"])
        self.assertFalse(e.is_leader)
        self.clock.advance(2)
        with self.assertLogs("shipshape.leader", level="INFO"):
            self.assertTrue(elector(self.api, "pod-b", self.clock).try_acquire_or_renew())

    def test_run_loop_acquires_then_releases_on_stop(self):
        e = elector(self.api, clock=self.clock)
        stop = threading.Event()
        with self.assertLogs("shipshape.leader", level="INFO"):
            thread = threading.Thread(target=e.run, args=(stop,))
            thread.start()
            while not e.is_leader and thread.is_alive():
                stop.wait(0.005)
            stop.set()
            thread.join(2)
        self.assertIsNone(self.api.leases[KEY]["spec"]["holderIdentity"])

    def test_microtime_round_trip(self):
        ts = 1770000000.25
        self.assertEqual(format_microtime(ts), "2026-02-02T02:40:00.250000Z")
        self.assertAlmostEqual(parse_microtime(format_microtime(ts)), ts, places=5)
        self.assertEqual(parse_microtime("2026-02-02T02:40:00Z"), 1770000000.0)
        self.assertIsNone(parse_microtime("yesterday"))
        self.assertIsNone(parse_microtime(None))
