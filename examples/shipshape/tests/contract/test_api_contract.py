"""Consumer-facing contract: status codes, content types and body shapes over real HTTP.

These run the real servers on loopback (port 0) and also pin the documented contract
(README) and the probe wiring (k8s/base) to what the code serves.
"""

import json
import re
import time
import threading
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from app.src.config import load_config
from app.src.main import App, create_server
from controller.src.health import HealthEndpoints, HealthServer
from controller.src.leader import LeaderElector
from tests.controller.fake_kube import FakeKubeApi
from tests.controller.helpers import make_controller

ROOT = Path(__file__).resolve().parents[2]
APP_ENDPOINTS = ("/", "/healthz", "/readyz", "/metrics")
CONTROLLER_ENDPOINTS = ("/healthz", "/readyz", "/leadz", "/metrics")


def fetch(url, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class AppContractTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = App(load_config({"MESSAGE": "contract"}))
        cls.app.routes["/__raise"] = lambda: 1 / 0
        cls.app.ready.set()
        cls.server = create_server(cls.app, host="127.0.0.1", port=0)
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"
        threading.Thread(target=cls.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_documented_endpoints(self):
        expected = {"/": (200, "application/json", {"message", "version"}),
                    "/healthz": (200, "application/json", {"status"}),
                    "/readyz": (200, "application/json", {"status"}),
                    "/metrics": (200, "text/plain; version=0.0.4; charset=utf-8", None)}
        for path, (status, ctype, keys) in expected.items():
            with self.subTest(path=path):
                got_status, headers, body = fetch(self.base + path)
                self.assertEqual(got_status, status)
                self.assertEqual(headers["Content-Type"], ctype)
                self.assertTrue(headers["X-Request-Id"])
                if keys:
                    self.assertEqual(set(json.loads(body)), keys)

    def test_error_bodies(self):
        status, _, body = fetch(self.base + "/does-not-exist")
        self.assertEqual((status, json.loads(body)), (404, {"detail": "Not Found"}))
        with self.assertLogs("shipshape.app", level="ERROR"):
            status, headers, body = fetch(self.base + "/__raise")
        payload = json.loads(body)
        self.assertEqual(status, 500)
        self.assertEqual(set(payload), {"error", "message", "request_id"})
        self.assertEqual(payload["error"], "internal_error")
        self.assertEqual(payload["request_id"], headers["X-Request-Id"])

    def test_head_has_headers_but_no_body(self):
        status, headers, body = fetch(self.base + "/healthz", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["Content-Length"]), 0)


class ControllerContractTests(unittest.TestCase):
    def test_health_endpoints_over_http(self):
        api = FakeKubeApi()
        controller, metrics = make_controller(api)
        controller.clock = time.monotonic
        controller.last_heartbeat = time.monotonic()
        elector = LeaderElector(api, "shipshape", "shipshape-controller", "pod-a", metrics=metrics)
        server = HealthServer(HealthEndpoints(controller, elector, metrics), host="127.0.0.1", port=0)
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            self.assertEqual(fetch(base + "/healthz")[0], 200)
            self.assertEqual(fetch(base + "/readyz")[0], 503)  # standby
            status, headers, body = fetch(base + "/leadz")
            self.assertEqual(status, 503)
            self.assertEqual(set(json.loads(body)), {"leader", "identity", "holder", "lease", "version"})
            status, headers, body = fetch(base + "/metrics")
            self.assertEqual(status, 200)
            self.assertIn(b"shipshape_controller_leader 0", body)
        finally:
            server.stop()


class DocumentedContractTests(unittest.TestCase):
    def test_readme_lists_every_endpoint(self):
        readme = (ROOT / "README.md").read_text()
        for path in set(APP_ENDPOINTS) | set(CONTROLLER_ENDPOINTS):
            self.assertIn(f"`{path}`", readme)

    def test_probes_point_at_implemented_endpoints(self):
        for component, endpoints in (("app", APP_ENDPOINTS), ("controller", CONTROLLER_ENDPOINTS)):
            manifest = (ROOT / "k8s" / "base" / component / "deployment.yaml").read_text()
            probe_paths = re.findall(r"path:\s*(\S+)", manifest)
            with self.subTest(component=component):
                self.assertGreaterEqual(len(probe_paths), 2)
                self.assertTrue(set(probe_paths) <= set(endpoints), probe_paths)
