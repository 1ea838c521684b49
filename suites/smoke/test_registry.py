"""Pulling from a private registry on each node: the suite pushes a fixture image under a
per-run repository of --registry, and a pod with imagePullPolicy Always and an
imagePullSecrets entry runs it; the same pod without the Secret must fail to pull (the
registry really asks for the credentials)."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from harness import images
from harness.images import load

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(150)]

SECRET = "registry-auth"
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")
# busybox plus a 4096-byte file (fixtures/images/large.yaml): an image no other suite uses, so
# the tags its pulls leave on the nodes never join another suite's image (the CRI suite counts
# the names of its own images).
PUSHED_RECIPE, PUSHED_PARAMS, PUSHED_SIZE = "large", {"size": 4096}, 4096


@pytest.fixture(scope="session")
def registry(pytestconfig):
    host = pytestconfig.getoption("registry")
    if not host:
        pytest.skip("no registry given (--registry)")
    user, password = (pytestconfig.getoption("registry_user"),
                      pytestconfig.getoption("registry_password"))
    return host, (user, password) if user else None


@pytest.fixture(scope="session")
def pushed(registry, k):
    """The image ref in the registry, pushed once. Returns a callable so that a refused push
    (wrong credentials) fails the test that needs it instead of erroring its setup."""
    host, auth = registry
    # Not busybox itself: each run's tag would join the names of the nodes' busybox image,
    # and node.status.images lists only five names per image (the image check reads it).
    fixture = images.build(PUSHED_RECIPE, **PUSHED_PARAMS)
    repo_ref = f"harness.local/{k.ns}/{PUSHED_RECIPE}:1"  # per-run repository
    image = dataclasses.replace(fixture, ref=repo_ref, refs=(repo_ref,))
    outcome: list = []

    def push() -> str:
        if not outcome:
            try:
                outcome.append(load.into_registry(f"http://{host}", image, auth=auth)[0])
            except Exception as err:
                outcome.append(err)
        if isinstance(outcome[0], Exception):
            pytest.fail(f"push of the fixture image to {host} failed: {outcome[0]}")
        return outcome[0]
    return push


@pytest.fixture(scope="session")
def pull_secret(registry, k):
    """A kubernetes.io/dockerconfigjson Secret with the registry's credentials."""
    host, auth = registry
    user, password = auth or ("", "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {host: {"username": user, "password": password, "auth": token}}}
    k.core.create_namespaced_secret(k.ns, {
        "metadata": {"name": SECRET}, "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json.dumps(config)}})
    return SECRET


def pull_pod(k, node: str, ref: str, kind: str, secret: str | None) -> str:
    spec = {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [{
        "name": "pulled", "image": ref, "imagePullPolicy": "Always",
        "command": ["sleep", "3600"]}]}
    if secret:
        spec["imagePullSecrets"] = [{"name": secret}]
    return k.create_pod({"metadata": {"name": f"{kind}-{node}"}, "spec": spec})


def test_image_pulls_from_a_private_registry_with_a_pull_secret(k, pushed, pull_secret, node):
    """spec.imagePullSecrets: the kubelet hands the dockerconfigjson credentials to the
    runtime, which pulls the image (imagePullPolicy Always) and runs it."""
    name = pull_pod(k, node, pushed(), "pull-with-secret", pull_secret)
    k.running(name)
    assert k.exec_ok(name, ["wc", "-c", "/data/blob"]).split() == [str(PUSHED_SIZE),
                                                                   "/data/blob"]


def test_image_pull_without_the_pull_secret_is_refused(k, pushed, registry, node):
    """Without imagePullSecrets the registry refuses the pull: the container waits in
    ErrImagePull or ImagePullBackOff and never runs."""
    if not registry[1]:
        pytest.skip("the registry has no credentials (--registry-user)")
    name = pull_pod(k, node, pushed(), "pull-without-secret", None)
    pod = k.wait_pod(name, "to fail its pull", lambda p: any(
        s.state.waiting and s.state.waiting.reason in PULL_FAILURES
        for s in p.status.container_statuses or []) or p.status.phase == "Running")
    assert pod.status.phase != "Running", k.describe(name)
