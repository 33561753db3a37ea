"""HttpKubeApi against a loopback HTTP server that plays the API server."""

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from controller.src.kube import ApiError, HttpKubeApi


class FakeApiServer:
    def __init__(self):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status, payload, lines=None):
                body = "".join(json.dumps(x) + "\n" for x in lines) if lines else json.dumps(payload)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, dict(self.headers.items()), body))

            def do_GET(self):
                self._record()
                if "watch=1" in self.path:
                    self._reply(200, None, lines=[{"type": "ADDED", "object": {"metadata": {"name": "a"}}},
                                                  {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}])
                elif self.path.startswith("/api/v1/namespaces/ns/configmaps"):
                    self._reply(200, {"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "7"}})
                elif "leases/missing" in self.path:
                    self._reply(404, {"kind": "Status", "reason": "NotFound", "message": "leases missing not found"})
                else:
                    self._reply(403, {"kind": "Status", "reason": "Forbidden", "message": "no"})

            def do_PATCH(self):
                self._record()
                self._reply(200, {"kind": "Deployment"})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"


class HttpKubeApiTests(unittest.TestCase):
    def test_list_sends_selector_and_token(self):
        with FakeApiServer() as srv:
            items, rv = HttpKubeApi(srv.url, token="t0ken").list_configmaps("ns", "shipshape.io/reload=true")
        self.assertEqual((items[0]["metadata"]["name"], rv), ("a", "7"))
        method, path, headers, _ = srv.requests[0]
        self.assertIn("labelSelector=shipshape.io%2Freload%3Dtrue", path)
        self.assertEqual(headers["Authorization"], "Bearer t0ken")

    def test_watch_streams_events(self):
        with FakeApiServer() as srv:
            events = list(HttpKubeApi(srv.url).watch_configmaps("ns", "a=b", "7", 5))
        self.assertEqual([e["type"] for e in events], ["ADDED", "BOOKMARK"])
        self.assertIn("resourceVersion=7", srv.requests[0][1])
        self.assertIn("allowWatchBookmarks=true", srv.requests[0][1])

    def test_http_errors_carry_status_and_reason(self):
        with FakeApiServer() as srv:
            api = HttpKubeApi(srv.url)
            with self.assertRaises(ApiError) as missing:
                api.get_lease("ns", "missing")
            with self.assertRaises(ApiError) as forbidden:
                api.get_deployment("ns", "app")
        self.assertEqual((missing.exception.status, missing.exception.reason), (404, "NotFound"))
        self.assertEqual(forbidden.exception.status, 403)

