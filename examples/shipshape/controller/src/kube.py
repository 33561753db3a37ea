"""The slice of the Kubernetes API the controller uses, behind one small interface.

``KubeApi`` is what the controller, the leader elector and the tests program against.
``HttpKubeApi`` implements it with the standard library against the in-cluster API server
(service-account token + cluster CA); tests use an in-memory fake instead, so no test ever
needs a cluster or the network.
"""

from __future__ import annotations

import abc
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterator

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ApiError(Exception):
    """An API call failed. ``status`` is the HTTP status, or 0 for a transport error."""

    def __init__(self, status: int, reason: str = "", message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message


class KubeApi(abc.ABC):
    """Minimal Kubernetes API surface: ConfigMaps, Deployments and coordination.k8s.io Leases."""

    @abc.abstractmethod
    def list_configmaps(self, namespace: str, label_selector: str) -> tuple[list[dict], str]:
        """Return (items, list resourceVersion)."""

    @abc.abstractmethod
    def watch_configmaps(
        self, namespace: str, label_selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[dict]:
        """Yield watch events ``{"type": ..., "object": ...}`` until the server closes the stream."""

    @abc.abstractmethod
    def get_deployment(self, namespace: str, name: str) -> dict:
        """Return the Deployment; raise ApiError(404) if it does not exist."""

    @abc.abstractmethod
    def patch_deployment(self, namespace: str, name: str, patch: dict) -> dict:
        """Apply a strategic-merge patch to the Deployment."""

    @abc.abstractmethod
    def get_lease(self, namespace: str, name: str) -> dict:
        """Return the Lease; raise ApiError(404) if it does not exist."""

    @abc.abstractmethod
    def create_lease(self, namespace: str, lease: dict) -> dict:
        """Create the Lease; raise ApiError(409) if someone else created it first."""

    @abc.abstractmethod
    def update_lease(self, namespace: str, lease: dict) -> dict:
        """Replace the Lease (optimistic concurrency on metadata.resourceVersion; 409 on conflict)."""


class HttpKubeApi(KubeApi):
    """KubeApi over HTTPS using urllib. Streams watch responses line by line."""

    def __init__(self, base_url: str, token: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 request_timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._ssl = ssl_context
        self._timeout = request_timeout

    @classmethod
    def in_cluster(cls) -> "HttpKubeApi":
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        with open(os.path.join(SA_DIR, "token"), encoding="utf-8") as fh:
            token = fh.read().strip()
        context = ssl.create_default_context(cafile=os.path.join(SA_DIR, "ca.crt"))
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", token=token, ssl_context=context)

    def _open(self, method: str, path: str, query: dict | None = None, body: dict | None = None,
              content_type: str = "application/json", timeout: float | None = None):
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            return urllib.request.urlopen(req, timeout=timeout or self._timeout, context=self._ssl)
        except urllib.error.HTTPError as exc:
            try:
                status = json.loads(exc.read() or b"{}")
            except ValueError:
                status = {}
            raise ApiError(exc.code, status.get("reason", exc.reason or ""), status.get("message", "")) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, "TransportError", str(exc)) from exc

    def _json(self, method: str, path: str, **kwargs) -> dict:
        with self._open(method, path, **kwargs) as resp:
            return json.loads(resp.read() or b"{}")

    def list_configmaps(self, namespace, label_selector):
        body = self._json("GET", f"/api/v1/namespaces/{namespace}/configmaps",
                          query={"labelSelector": label_selector})
        return body.get("items", []), body.get("metadata", {}).get("resourceVersion", "")

    def watch_configmaps(self, namespace, label_selector, resource_version, timeout_seconds):
        query = {"watch": "1", "labelSelector": label_selector, "resourceVersion": resource_version,
                 "timeoutSeconds": str(timeout_seconds), "allowWatchBookmarks": "true"}
        resp = self._open("GET", f"/api/v1/namespaces/{namespace}/configmaps", query=query,
                          timeout=timeout_seconds + 10)
        with resp:
            for line in resp:
                if line.strip():
                    yield json.loads(line)

    def get_deployment(self, namespace, name):
        return self._json("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")

    def patch_deployment(self, namespace, name, patch):
        return self._json("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", body=patch,
                          content_type="application/strategic-merge-patch+json")

    def get_lease(self, namespace, name):
        return self._json("GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}")

    def create_lease(self, namespace, lease):
        return self._json("POST", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases", body=lease)

    def update_lease(self, namespace, lease):
        name = lease["metadata"]["name"]
        return self._json("PUT", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", body=lease)
