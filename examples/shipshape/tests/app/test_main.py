import json
import unittest

from app.src.config import load_config
from app.src.main import App
from app.src.tracing import Tracer
from app.src.version import VERSION


def make_app(**env):
    return App(load_config({"MESSAGE": "hello", **env}))


def body(response):
    return json.loads(response[2])


class RoutingTests(unittest.TestCase):
    def setUp(self):
        self.app = make_app()

    def test_index_returns_message_and_version(self):
        (status, ctype, raw), headers = self.app.handle("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json")
        self.assertEqual(json.loads(raw), {"message": "hello", "version": VERSION})
        self.assertRegex(headers["X-Request-Id"], r"^[0-9a-f]{32}$")

    def test_healthz_is_always_ok(self):
        response, _ = self.app.handle("GET", "/healthz")
        self.assertEqual((response[0], body(response)), (200, {"status": "ok"}))

    def test_readyz_follows_ready_flag(self):
        self.assertEqual(self.app.handle("GET", "/readyz")[0][0], 503)
        self.app.ready.set()
        self.assertEqual(self.app.handle("GET", "/readyz")[0][0], 200)

    def test_unknown_path_is_404_and_counted_as_other(self):
        response, _ = self.app.handle("GET", "/wp-admin/login.php")
        self.assertEqual((response[0], body(response)), (404, {"detail": "Not Found"}))
        metrics = self.app.handle("GET", "/metrics")[0][2].decode()
        self.assertIn('shipshape_http_requests_total{method="GET",path="other",status="404"} 1', metrics)
        self.assertNotIn("wp-admin", metrics)

    def test_query_string_is_ignored_for_routing(self):
        self.assertEqual(self.app.handle("GET", "/healthz?verbose=1")[0][0], 200)

    def test_request_id_header_is_propagated(self):
        _, headers = self.app.handle("GET", "/", {"X-Request-Id": "abc-123"})
        self.assertEqual(headers["X-Request-Id"], "abc-123")


class ErrorHandlerTests(unittest.TestCase):
    def test_unhandled_exception_becomes_standard_500(self):
        app = make_app()

        def broken():
            raise RuntimeError("database password=hunter2 exploded")

        app.routes["/boom"] = broken
        with self.assertLogs("shipshape.app", level="ERROR") as logs:
            (status, ctype, raw), headers = app.handle("GET", "/boom", {"X-Request-Id": "req-1"})
        payload = json.loads(raw)
        self.assertEqual(status, 500)
        self.assertEqual(ctype, "application/json")
        self.assertEqual(payload, {"error": "internal_error", "message": "An internal error occurred.",
                                   "request_id": "req-1"})
        self.assertNotIn("hunter2", raw.decode())
        self.assertIn("unhandled error", logs.output[0])
        self.assertEqual(app.metrics.in_flight, 0)


class MetricsTests(unittest.TestCase):
    def test_metrics_expose_count_duration_in_flight_and_config(self):
        app = make_app(TRACING_ENABLED="true")
        app.handle("GET", "/")
        app.handle("GET", "/")
        text = app.handle("GET", "/metrics")[0][2].decode()
        self.assertIn('shipshape_http_requests_total{method="GET",path="/",status="200"} 2', text)
        self.assertIn('shipshape_http_request_duration_seconds_bucket{method="GET",path="/",le="+Inf"} 2', text)
        self.assertIn('shipshape_http_request_duration_seconds_count{method="GET",path="/"} 2', text)
        self.assertRegex(text, r"shipshape_http_requests_in_flight 1\n")  # the /metrics request itself
        self.assertIn('shipshape_app_config_info{message_source="env",log_level="INFO",tracing_enabled="true"} 1',
                      text)
        self.assertIn(f'shipshape_app_build_info{{version="{VERSION}"}} 1', text)


class TracingTests(unittest.TestCase):
    def test_incoming_traceparent_is_continued(self):
        app = make_app(TRACING_ENABLED="true")
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        with self.assertLogs("shipshape.tracing", level="INFO") as logs:
            _, headers = app.handle("GET", "/", {"traceparent": parent})
        self.assertTrue(headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        self.assertNotIn("00f067aa0ba902b7", headers["traceparent"])
        self.assertIn("span finished", logs.output[0])

    def test_disabled_tracing_adds_nothing(self):
        _, headers = make_app().handle("GET", "/", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
        self.assertNotIn("traceparent", headers)
        self.assertIsNone(Tracer(False).start_span("x"))
        Tracer(False).end_span(None)  # no-op, must not raise


if __name__ == "__main__":
    unittest.main()
