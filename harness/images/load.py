"""Load built images into containerd (k8s.io namespace), Docker, or a registry.

containerd gets the OCI archive through `ctr images import`, so the image keeps the manifest
digest we built. Docker 20.10 only reads docker-archive, sent to `POST /images/load` with the
Docker SDK (the API, not a CLI whose version and output differ per machine). A registry gets
the OCI manifest and blobs over the distribution API with `requests`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from harness.errors import MissingToolError, StepFailed, UnreachableError
from harness.images.image import BuiltImage
from harness.images.layout import MT_MANIFEST

PINNED_LABEL = "io.cri-containerd.pinned=pinned"


def _socket_path(address: str) -> Path:
    return Path(address.removeprefix("unix://"))


def _require_socket(address: str, what: str) -> None:
    if not _socket_path(address).is_socket():
        raise UnreachableError(
            f"{what} is not running: no socket at {address}",
            hint=f"start {what} or pass its --address",
        )


def _ctr(address: str, namespace: str, *args: str, timeout: float = 300) -> str:
    ctr = shutil.which("ctr")
    if not ctr:
        raise MissingToolError("ctr not found", hint="run scripts/setup.sh (package containerd)")
    proc = subprocess.run(
        [ctr, "--address", str(_socket_path(address)), "--namespace", namespace, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        message = proc.stderr.strip().replace("\n", " | ")
        if "connection refused" in message or "no such file" in message:
            raise UnreachableError(f"containerd at {address} does not answer", hint=message)
        raise StepFailed(f"ctr {' '.join(args[:2])} failed", hint=message)
    return proc.stdout


def into_containerd(
    address: str, image: BuiltImage, namespace: str = "k8s.io", pinned: bool = False
) -> None:
    """`ctr images import` of the OCI archive (unpacked for the default snapshotter); pinned
    images get `io.cri-containerd.pinned=pinned` so the kubelet's image GC keeps them."""
    _require_socket(address, "containerd")
    _ctr(address, namespace, "images", "import", str(image.oci_archive))
    if pinned:
        for ref in image.refs:
            _ctr(address, namespace, "images", "label", ref, PINNED_LABEL)


def into_docker(docker_host: str, image: BuiltImage) -> None:
    """`docker load` of the docker-archive through the Engine API."""
    import docker
    import requests

    if docker_host.startswith("unix://"):
        _require_socket(docker_host, "dockerd")
    try:
        client = docker.DockerClient(base_url=docker_host, version="auto", timeout=300)
    except docker.errors.DockerException as err:
        raise UnreachableError(f"dockerd at {docker_host} does not answer", hint=str(err)) from err
    try:
        with open(image.docker_archive, "rb") as archive:
            for line in client.api.load_image(archive):
                if "error" in line:
                    raise StepFailed(f"docker load of {image.ref} failed", hint=line["error"])
    except requests.exceptions.ConnectionError as err:
        raise UnreachableError(f"dockerd at {docker_host} does not answer", hint=str(err)) from err
    finally:
        client.close()


def registry_refs(registry_url: str, image: BuiltImage) -> list[str]:
    """Where `image` lands in the registry: its repository path under the registry's host."""
    host = urlsplit(registry_url).netloc
    return [f"{host}/{ref.split('/', 1)[1]}" for ref in image.refs]


def into_registry(
    registry_url: str,
    image: BuiltImage,
    auth: tuple[str, str] | None = None,
    ca: Path | str | None = None,
    names: list[str] | None = None,
) -> list[str]:
    """Push blobs (skipping those present) and the manifest by each tag; return the refs.
    `names` ("path/repo:tag" in the registry) replace the image's own refs, for clients
    that ask for images by names of their own (critest)."""
    import requests

    session = requests.Session()
    # Only what the caller passed: no CA bundle, proxy or netrc from the environment.
    session.trust_env = False
    session.auth = auth
    session.verify = str(ca) if ca else True
    base = registry_url.rstrip("/") + "/"
    blobs = image.oci_layout / "blobs" / "sha256"
    manifest = (blobs / image.digest.split(":")[1]).read_bytes()
    descriptors = json.loads(manifest)
    if names:
        refs = [f"{urlsplit(registry_url).netloc}/{name}" for name in names]
    else:
        refs = registry_refs(registry_url, image)
    try:
        for ref in refs:
            repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
            for desc in [descriptors["config"], *descriptors["layers"]]:
                _push_blob(
                    session, base, repo, desc["digest"], blobs / desc["digest"].split(":")[1]
                )
            put = session.put(
                urljoin(base, f"v2/{repo}/manifests/{tag}"),
                data=manifest,
                headers={"Content-Type": MT_MANIFEST},
                timeout=60,
            )
            _check(put, f"manifest PUT {repo}:{tag}")
            if put.headers.get("Docker-Content-Digest", image.digest) != image.digest:
                raise StepFailed(
                    f"registry stored {repo}:{tag} under another digest",
                    hint=f"{put.headers['Docker-Content-Digest']} != {image.digest}",
                )
    except requests.exceptions.SSLError as err:
        raise StepFailed(f"TLS to {registry_url} failed", hint=f"pass its CA: {err}") from err
    except requests.exceptions.ConnectionError as err:
        raise UnreachableError(
            f"registry at {registry_url} does not answer", hint="start it or check the URL"
        ) from err
    return refs


def _push_blob(session, base: str, repo: str, digest: str, path: Path) -> None:
    head = session.head(urljoin(base, f"v2/{repo}/blobs/{digest}"), timeout=30)
    if head.status_code == 200:
        return
    start = session.post(urljoin(base, f"v2/{repo}/blobs/uploads/"), timeout=30)
    _check(start, f"blob upload start {repo}")
    location = urljoin(base, start.headers["Location"])
    sep = "&" if "?" in location else "?"
    with open(path, "rb") as body:  # monolithic upload: one PUT with the whole blob
        put = session.put(
            f"{location}{sep}digest={digest}",
            data=body,
            timeout=600,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(path.stat().st_size),
            },
        )
    _check(put, f"blob PUT {repo}@{digest}")


def _check(response, what: str) -> None:
    if response.status_code == 401:
        raise StepFailed(f"{what}: 401 unauthorized", hint="pass the registry's user and password")
    if response.status_code >= 400:
        raise StepFailed(f"{what}: HTTP {response.status_code}", hint=response.text[:300])
