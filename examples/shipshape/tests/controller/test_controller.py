import threading
import time
import unittest

from controller.src.controller import (
    FatalApiError, WatchExpired, config_hash, hash_annotation_key,
)
from controller.src.kube import ApiError
from tests.controller.fake_kube import FakeKubeApi, configmap, deployment
from tests.controller.helpers import FakeClock, make_controller

ANNOTATION = hash_annotation_key("shipshape-config")


def with_app() -> FakeKubeApi:
    api = FakeKubeApi()
    api.deployments[("shipshape", "shipshape-app")] = deployment()
    return api


class HashTests(unittest.TestCase):
    def test_hash_ignores_key_order_and_metadata(self):
        a = configmap(data={"A": "1", "B": "2"}, rv="1")
        b = configmap(data={"B": "2", "A": "1"}, rv="99")
        self.assertEqual(config_hash(a), config_hash(b))

    def test_hash_changes_with_data_and_binary_data(self):
        base = configmap(data={"A": "1"})
        changed = configmap(data={"A": "2"})
        binary = dict(base, binaryData={"blob": "AAEC"})
        self.assertEqual(len({config_hash(base), config_hash(changed), config_hash(binary)}), 3)

    def test_annotation_key_fits_kubernetes_limits(self):
        self.assertEqual(hash_annotation_key("cfg"), "config-hash.shipshape.io/cfg")
        long_key = hash_annotation_key("x" * 200)
        self.assertLessEqual(len(long_key.split("/", 1)[1]), 63)
        self.assertNotEqual(long_key, hash_annotation_key("x" * 199))


class ReconcileTests(unittest.TestCase):
    def test_change_patches_pod_template_annotation(self):
        api = with_app()
        controller, metrics = make_controller(api)
        cm = configmap()
        self.assertEqual(controller.reconcile(cm), "restarted")
        annotations = api.deployments[("shipshape", "shipshape-app")]["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations[ANNOTATION], config_hash(cm))
        self.assertIn("shipshape.io/restarted-at", annotations)
        self.assertEqual(metrics.reloads.value(result="restarted"), 1)
        self.assertEqual(metrics.last_reload.value(), 1770000000.0)

    def test_reconcile_is_idempotent(self):
        api = with_app()
        controller, metrics = make_controller(api)
        controller.reconcile(configmap())
        self.assertEqual(controller.reconcile(configmap()), "unchanged")
        self.assertEqual(len(api.patches), 1)
        self.assertEqual(api.calls.count("get_deployment"), 1)  # second call answered from the hash cache

    def test_startup_drift_check_skips_when_annotation_already_matches(self):
        api = FakeKubeApi()
        cm = configmap()
        api.deployments[("shipshape", "shipshape-app")] = deployment(annotations={ANNOTATION: config_hash(cm)})
        controller, _ = make_controller(api)
        self.assertEqual(controller.reconcile(cm), "unchanged")
        self.assertEqual(api.patches, [])

    def test_missing_env_label_is_skipped_with_warning(self):
        api = with_app()
        controller, _ = make_controller(api)
        with self.assertLogs("shipshape.controller", level="WARNING") as logs:
            self.assertEqual(controller.reconcile(configmap(env=None)), "skipped_no_env")
        self.assertIn("no env label", logs.output[0])
        self.assertEqual(api.calls, [])

    def test_other_environment_is_ignored(self):
        api = with_app()
        controller, _ = make_controller(api)
        self.assertEqual(controller.reconcile(configmap(env="prod")), "skipped_other_env")
        self.assertEqual(api.patches, [])

    def test_target_annotation_selects_deployment(self):
        api = FakeKubeApi()
        api.deployments[("shipshape", "worker")] = deployment(name="worker")
        controller, _ = make_controller(api)
        self.assertEqual(controller.reconcile(configmap(target="worker")), "restarted")
        self.assertEqual(api.patches[0][1], "worker")

    def test_missing_deployment_does_not_crash(self):
        controller, metrics = make_controller(FakeKubeApi())
        with self.assertLogs("shipshape.controller", level="WARNING"):
            self.assertEqual(controller.reconcile(configmap()), "missing_deployment")
        self.assertEqual(metrics.reloads.value(result="missing_deployment"), 1)


class RetryTests(unittest.TestCase):
    def test_transient_errors_are_retried_with_jittered_backoff(self):
        api = with_app()
        api.errors["patch_deployment"] = [ApiError(503, "ServiceUnavailable"), ApiError(0, "TransportError")]
        sleeps = []
        controller, metrics = make_controller(api, sleeps=sleeps)
        with self.assertLogs("shipshape.controller", level="WARNING"):
            self.assertEqual(controller.reconcile(configmap()), "restarted")
        self.assertEqual(len(sleeps), 2)
        self.assertTrue(0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0, sleeps)
        self.assertEqual(metrics.api_retries.value(operation="patch_deployment"), 2)
        self.assertEqual(metrics.api_errors.value(operation="patch_deployment", code="503"), 1)

    def test_backoff_is_capped(self):
        controller, _ = make_controller(FakeKubeApi())
        delays = [controller.backoff_delay(attempt) for attempt in range(12) for _ in range(20)]
        self.assertTrue(all(0 <= d <= 4.0 for d in delays))
        self.assertGreater(max(delays), 2.0)  # later attempts do reach beyond the base window

    def test_retries_are_bounded(self):
        api = with_app()
        api.errors["get_deployment"] = [ApiError(500, "InternalError")] * 10
        sleeps = []
        controller, metrics = make_controller(api, sleeps=sleeps)
        with self.assertLogs("shipshape.controller", level="WARNING") as logs:
            self.assertEqual(controller.reconcile(configmap()), "error")
        self.assertEqual(len(sleeps), 3)  # max_retries
        self.assertTrue(any("reconcile failed" in line for line in logs.output))
        self.assertEqual(metrics.reloads.value(result="error"), 1)

    def test_non_retryable_client_errors_fail_immediately(self):
        api = with_app()
        api.errors["patch_deployment"] = [ApiError(422, "Invalid")]
        sleeps = []
        controller, _ = make_controller(api, sleeps=sleeps)
        with self.assertLogs("shipshape.controller", level="ERROR"):
            self.assertEqual(controller.reconcile(configmap()), "error")
        self.assertEqual(sleeps, [])

    def test_unauthorized_and_forbidden_fail_fast(self):
        for status in (401, 403):
            with self.subTest(status=status):
                api = with_app()
                api.errors["get_deployment"] = [ApiError(status, "Forbidden")]
                sleeps = []
                controller, _ = make_controller(api, sleeps=sleeps)
                with self.assertRaises(FatalApiError):
                    controller.reconcile(configmap())
                self.assertEqual(sleeps, [])


class DebounceTests(unittest.TestCase):
    def setUp(self):
        self.api = with_app()
        self.clock = FakeClock()
        self.controller, self.metrics = make_controller(self.api, clock=self.clock)

    def event(self, etype, **kwargs):
        self.controller.handle_event({"type": etype, "object": configmap(**kwargs)})

    def test_burst_is_coalesced_into_one_restart_with_latest_data(self):
        for i in range(5):
            self.event("MODIFIED", data={"MESSAGE": f"v{i}"}, rv=str(200 + i))
            self.clock.advance(0.5)
        self.assertEqual(self.controller.flush_due(), [])  # still inside the quiet window
        self.assertEqual(self.metrics.queue_depth.value(), 1)
        self.clock.advance(2.0)
        self.assertEqual(self.controller.flush_due(), ["restarted"])
        self.assertEqual(len(self.api.patches), 1)
        applied = self.api.patches[0][2]["spec"]["template"]["metadata"]["annotations"][ANNOTATION]
        self.assertEqual(applied, config_hash(configmap(data={"MESSAGE": "v4"})))
        self.assertEqual(self.controller.resource_version, "204")
        self.assertEqual(self.metrics.queue_depth.value(), 0)

    def test_max_debounce_bounds_delay_under_constant_churn(self):
        results = []
        for i in range(30):
            self.event("MODIFIED", data={"MESSAGE": f"v{i}"})
            self.clock.advance(1.0)
            results += self.controller.flush_due()
        self.assertEqual(results.count("restarted"), 3)  # one per 10 s window, not zero

    def test_deleted_configmap_is_ignored_and_drops_pending_change(self):
        self.event("ADDED")
        with self.assertLogs("shipshape.controller", level="INFO"):
            self.event("DELETED")
        self.clock.advance(5)
        self.assertEqual(self.controller.flush_due(), [])
        self.assertEqual(self.api.patches, [])

    def test_bookmark_only_advances_resource_version(self):
        self.controller.handle_event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "555"}}})
        self.assertEqual(self.controller.resource_version, "555")
        self.assertEqual(self.controller.pending, 0)

    def test_error_events_raise(self):
        with self.assertRaises(WatchExpired):
            self.controller.handle_event({"type": "ERROR", "object": {"code": 410, "message": "too old"}})
        with self.assertRaises(ApiError) as ctx:
            self.controller.handle_event({"type": "ERROR", "object": {"code": 500, "reason": "InternalError"}})
        self.assertEqual(ctx.exception.status, 500)


def run_in_thread(controller, is_leader=lambda: True):
    errors = []

    def target():
        try:
            controller.run(is_leader)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def wait_for(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


class RunLoopTests(unittest.TestCase):
    def make(self, api, **overrides):
        overrides.setdefault("debounce_seconds", 0.05)
        overrides.setdefault("max_debounce_seconds", 1.0)
        controller, metrics = make_controller(api, clock=time.monotonic, **overrides)
        return controller, metrics

    def test_list_then_watch_restarts_once_per_burst(self):
        api = with_app()
        api.configmaps = [configmap()]
        api.watch_scripts = [[{"type": "MODIFIED", "object": configmap(data={"MESSAGE": f"v{i}"}, rv=str(300 + i))}
                              for i in range(3)]]
        controller, metrics = self.make(api)
        thread, errors = run_in_thread(controller)
        self.assertTrue(wait_for(lambda: len(api.patches) == 2))  # start-up drift + one coalesced burst
        controller.stop()
        thread.join(2)
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])
        self.assertTrue(controller.synced.is_set())
        self.assertEqual(metrics.watch_events.value(type="MODIFIED"), 3)
        self.assertGreaterEqual(metrics.watch_restarts.value(reason="timeout"), 1)

    def test_gone_triggers_relist(self):
        api = with_app()
        api.configmaps = [configmap()]
        api.watch_scripts = [[{"type": "ERROR", "object": {"code": 410, "message": "too old resource version"}}]]
        controller, metrics = self.make(api)
        with self.assertLogs("shipshape.controller", level="INFO"):
            thread, _ = run_in_thread(controller)
            self.assertTrue(wait_for(lambda: api.calls.count("list_configmaps") >= 2))
        controller.stop()
        thread.join(2)
        self.assertEqual(metrics.watch_restarts.value(reason="gone"), 1)
        self.assertEqual(len(api.patches), 1)  # the re-list found nothing new to restart

    def test_watch_stream_errors_back_off_and_resume(self):
        api = with_app()
        api.watch_scripts = [[ApiError(503, "ServiceUnavailable")]]
        controller, metrics = self.make(api)
        with self.assertLogs("shipshape.controller", level="WARNING"):
            thread, errors = run_in_thread(controller)
            self.assertTrue(wait_for(lambda: api.calls.count("watch_configmaps") >= 2))
        controller.stop()
        thread.join(2)
        self.assertEqual(errors, [])
        self.assertEqual(metrics.watch_restarts.value(reason="error"), 1)

    def test_forbidden_list_stops_the_controller(self):
        api = with_app()
        api.errors["list_configmaps"] = [ApiError(403, "Forbidden", "configmaps is forbidden")]
        controller, _ = self.make(api)
        with self.assertLogs("shipshape.controller", level="CRITICAL") as logs:
            thread, errors = run_in_thread(controller)
            thread.join(2)
        self.assertIn("fatal API error", logs.output[0])
        self.assertIsInstance(errors[0], FatalApiError)
        self.assertIs(controller.fatal, errors[0])
        self.assertTrue(controller.stopped)

    def test_standby_does_not_touch_the_api(self):
        api = with_app()
        controller, _ = self.make(api)
        thread, _ = run_in_thread(controller, is_leader=lambda: False)
        time.sleep(0.05)
        controller.stop()
        thread.join(2)
        self.assertEqual(api.calls, [])
        self.assertFalse(controller.synced.is_set())

    def test_losing_leadership_drops_pending_and_forces_relist(self):
        api = with_app()
        leader = threading.Event()
        leader.set()
        api.watch_scripts = [[{"type": "MODIFIED", "object": configmap(data={"MESSAGE": "late"})}]]
        controller, _ = self.make(api, debounce_seconds=5.0, max_debounce_seconds=10.0)
        thread, _ = run_in_thread(controller, is_leader=leader.is_set)
        self.assertTrue(wait_for(lambda: controller.pending == 1))
        with self.assertLogs("shipshape.controller", level="INFO") as logs:
            leader.clear()
            self.assertTrue(wait_for(lambda: controller.pending == 0))
        controller.stop()
        thread.join(2)
        self.assertIn("leadership lost", "\n".join(logs.output))
        self.assertEqual(controller.resource_version, "")
        self.assertEqual(api.patches, [])

    def test_stop_flushes_pending_changes_while_leader(self):
        api = with_app()
        api.watch_scripts = [[{"type": "MODIFIED", "object": configmap(data={"MESSAGE": "final"})}]]
        controller, _ = self.make(api, debounce_seconds=5.0, max_debounce_seconds=10.0)
        thread, _ = run_in_thread(controller)
        self.assertTrue(wait_for(lambda: controller.pending == 1))
        controller.stop()
        thread.join(2)
        self.assertEqual(len(api.patches), 1)


if __name__ == "__main__":
    unittest.main()
