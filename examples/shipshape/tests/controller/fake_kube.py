"""In-memory KubeApi for tests: no cluster, no network."""

from __future__ import annotations

import copy
import threading
import time

from controller.src.kube import ApiError, KubeApi


def configmap(name="shipshape-config", namespace="shipshape", env="test", data=None, target=None, rv="1"):
    meta = {"name": name, "namespace": namespace, "resourceVersion": rv,
            "labels": {"shipshape.io/reload": "true"}}
    if env is not None:
        meta["labels"]["env"] = env
    if target:
        meta["annotations"] = {"shipshape.io/target-deployment": target}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {"MESSAGE": "hello"} if data is None else data}


def deployment(name="shipshape-app", namespace="shipshape", annotations=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {"annotations": dict(annotations or {})}}}}


class FakeKubeApi(KubeApi):
    def __init__(self) -> None:
        self.configmaps: list[dict] = []
        self.list_rv = "100"
        self.deployments: dict[tuple[str, str], dict] = {}
        self.leases: dict[tuple[str, str], dict] = {}
        self.watch_scripts: list[list] = []  # each watch call consumes one script
        self.errors: dict[str, list[ApiError]] = {}  # operation -> errors raised before succeeding
        self.calls: list[str] = []
        self.patches: list[tuple[str, str, dict]] = []
        self._rv = 1000
        self._lock = threading.Lock()

    def _maybe_fail(self, op: str) -> None:
        with self._lock:
            self.calls.append(op)
            queued = self.errors.get(op)
            if queued:
                raise queued.pop(0)

    def list_configmaps(self, namespace, label_selector):
        self._maybe_fail("list_configmaps")
        return copy.deepcopy(self.configmaps), self.list_rv

    def watch_configmaps(self, namespace, label_selector, resource_version, timeout_seconds):
        self._maybe_fail("watch_configmaps")
        with self._lock:
            script = self.watch_scripts.pop(0) if self.watch_scripts else None
        if script is None:
            time.sleep(0.02)  # an idle stream that ends (like a server-side timeout)
            return
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield copy.deepcopy(item)

    def get_deployment(self, namespace, name):
        self._maybe_fail("get_deployment")
        try:
            return copy.deepcopy(self.deployments[(namespace, name)])
        except KeyError:
            raise ApiError(404, "NotFound", f'deployments.apps "{name}" not found') from None

    def patch_deployment(self, namespace, name, patch):
        self._maybe_fail("patch_deployment")
        dep = self.deployments.get((namespace, name))
        if dep is None:
            raise ApiError(404, "NotFound", name)
        annotations = patch["spec"]["template"]["metadata"]["annotations"]
        dep["spec"]["template"]["metadata"].setdefault("annotations", {}).update(annotations)
        self.patches.append((namespace, name, copy.deepcopy(patch)))
        return copy.deepcopy(dep)

    def get_lease(self, namespace, name):
        self._maybe_fail("get_lease")
        try:
            return copy.deepcopy(self.leases[(namespace, name)])
        except KeyError:
            raise ApiError(404, "NotFound", name) from None

    def create_lease(self, namespace, lease):
        self._maybe_fail("create_lease")
        key = (namespace, lease["metadata"]["name"])
        with self._lock:
            if key in self.leases:
                raise ApiError(409, "AlreadyExists", key[1])
            self._rv += 1
            stored = copy.deepcopy(lease)
            stored["metadata"]["resourceVersion"] = str(self._rv)
            self.leases[key] = stored
        return copy.deepcopy(stored)

    def update_lease(self, namespace, lease):
        self._maybe_fail("update_lease")
        key = (namespace, lease["metadata"]["name"])
        with self._lock:
            current = self.leases.get(key)
            if current is None:
                raise ApiError(404, "NotFound", key[1])
            if lease["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "the object has been modified")
            self._rv += 1
            stored = copy.deepcopy(lease)
            stored["metadata"]["resourceVersion"] = str(self._rv)
            self.leases[key] = stored
        return copy.deepcopy(stored)
