import socket
import threading
import unittest

from controller.src.__main__ import run
from tests.controller.fake_kube import FakeKubeApi
from tests.controller.helpers import make_config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessLifecycleTests(unittest.TestCase):
    def test_clean_shutdown_releases_lease(self):
        api = FakeKubeApi()
        stop = threading.Event()
        config = make_config(health_port=free_port(), shutdown_timeout_seconds=3)
        timer = threading.Timer(0.3, stop.set)
        timer.start()
        with self.assertLogs("shipshape", level="INFO") as logs:
            code = run(config, api, stop, health_host="127.0.0.1")
        self.assertEqual(code, 0)
        self.assertIn("create_lease", api.calls)
        self.assertIsNone(api.leases[("shipshape", "shipshape-controller")]["spec"]["holderIdentity"])
        self.assertTrue(any("lease released" in line for line in logs.output))

