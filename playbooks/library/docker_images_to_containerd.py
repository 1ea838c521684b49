#!/usr/bin/python
"""Ansible module (node side): copy Docker's images into containerd (k8s.io by default), so that
the kubelet finds every image its pods use once it talks to containerd instead of Docker.

One `docker save` stream (Engine API) is piped into one `ctr images import`, so layers shared by
several images travel once and nothing is staged in a tar file by this module. Every copied ref
is then checked in containerd: its config digest must be Docker's image ID."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import subprocess
import tempfile
import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.harness_node import image_space
from ansible.module_utils.harness_node.docker import DockerAPI, DockerUnavailable

DOCUMENTATION = r"""
module: docker_images_to_containerd
short_description: Copy Docker's images into a containerd namespace, keeping their image IDs
description:
  - Lists Docker's images through the Engine API (C(GET /images/json)); exports those that
    containerd lacks (or holds under another image ID) in one C(GET /images/get) stream, piped
    into C(ctr images import) in chunks of 1 MiB; nothing is held in memory or written to disk.
  - Keeps every tag. Creates C(repo@sha256:...) names for Docker's RepoDigests, so pods that
    name an image by digest still find it; an image pulled by digest only gets just those.
  - Skips dangling images (no tag, no digest) and reports their IDs.
  - If the single stream fails, retries one image at a time and reports the images that fail.
  - An import that takes nothing for 60 s while containerd does not answer is killed, and the
    task fails at once saying so (ctr itself would wait for good).
  - Checks every copied ref afterwards (containerd's config digest = Docker's image ID), labels
    the I(pin) refs C(io.cri-containerd.pinned=pinned), and records what containerd holds.
  - Refs are reported and recorded as containerd names them (C(busybox:1) is
    C(docker.io/library/busybox:1)).
  - Refuses before it copies anything when a filesystem it writes to (Docker's export staging,
    containerd's content store and snapshots) would keep less than I(keep_free) afterwards,
    naming the filesystem and the figures.
  - With I(added), remembers the refs it put into containerd; a later run removes those that
    Docker no longer holds under the same image ID (removed or re-tagged meanwhile), so a copy
    made while the node still runs its pods (staging) is brought up to date by a short delta,
    and C(state=absent) takes every one of them out again.
options:
  docker_host: {type: str, default: "unix:///run/docker.sock", description: Engine API socket}
  containerd_address:
    type: str
    default: /run/containerd/containerd.sock
    description: containerd's socket (a C(unix://) prefix is dropped)
  namespace: {type: str, default: k8s.io, description: containerd namespace (the CRI's)}
  ctr: {type: str, default: ctr, description: the ctr binary (name or path)}
  images:
    type: list
    elements: str
    description:
      - Copy only these refs (tags or repo@sha256 digests); default every tagged image.
      - A ref Docker does not have is reported in C(failed_images).
  pin: {type: list, elements: str, default: [], description: refs to pin (e.g. the pause image)}
  record:
    type: path
    default: /var/lib/harness/migration/images.json
    description:
      - Written after a successful run (atomically, only when its content changes) with
        C(id), C(refs), C(size) of every image containerd holds under Docker's image ID.
  allow_missing:
    type: bool
    default: false
    description: Succeed even if some images could not be copied (they are still reported).
  added:
    type: path
    description:
      - Record of the refs this module added to containerd (ref to image ID), kept across runs.
      - Without it nothing is ever removed.
  state:
    type: str
    choices: [present, absent]
    default: present
    description:
      - C(absent) removes every ref recorded in I(added), then I(added) and I(record) (Docker
        is not read).
  containerd_root: {type: path, default: /var/lib/containerd, description: containerd's root}
  keep_free:
    type: str
    default: 15%
    description: what each filesystem keeps free, the kubelet's imagefs.available threshold
      (a percentage or a quantity such as C(2Gi))
  cpu_quota:
    type: str
    description:
      - While copying, cap docker.service and containerd.service (which export, store and
        unpack) at this CPUQuota, e.g. C(50%); reset afterwards, and by the next run after a
        crash. Units whose quota or I/O weight an operator set are left alone, with a warning.
  io_weight: {type: int, description: the same for IOWeight (1-10000; 100 is the default)}
notes:
  - Supports check mode (changes nothing, returns C(would_copy)).
  - Docker stages a whole export in its data root's tmp directory before it streams it.
  - Needs ctr 1.6 or later (C(import --digests --skip-digest-for-named)); ctr 2.x imports with
    C(--local), so it also copies into a containerd 1.x.
"""
EXAMPLES = r"""
- name: Copy Docker's images into containerd and pin the sandbox image
  docker_images_to_containerd:
    pin: [registry.k8s.io/pause:3.9]
"""
RETURN = r"""
copied: {description: "images copied now: id, refs, size", type: list}
present: {description: images containerd already held under the same ID, type: list}
would_copy: {description: "in check mode: the images a run would copy", type: list}
dangling: {description: IDs of images without tag or digest (skipped), type: list}
failed_images: {description: "images not copied: id, refs, error", type: list}
pinned: {description: "refs labelled pinned now (in check mode: would be)", type: list}
removed: {description: "refs taken out of containerd (in check mode: would be)", type: list}
space: {description: "per filesystem written to: paths, needed, free, size, fits", type: list}
bytes: {description: bytes streamed from Docker into ctr by the imports that worked, type: int}
seconds: {description: wall-clock duration of the run, type: float}
"""

CHUNK = 1 << 20
# Docker stages a whole export on disk before its first byte, so a big one is silent for long.
DOCKER_TIMEOUT = 1800
PINNED_LABEL = "io.cri-containerd.pinned=pinned"
# What `ctr images import --digests` names an untagged image: import-<date>@<manifest digest>.
IMPORT_NAME = re.compile(r"^import-[0-9-]+@sha256:[0-9a-f]{64}$")
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
# ctr waits for good on a containerd that died under an import (seen on a lab node: the import
# blocked, and with it the module's write into it). An import that has taken nothing for
# STALL_SECONDS is given up if containerd does not answer within PROBE_SECONDS.
STALL_SECONDS = 60
PROBE_SECONDS = 30


class CopyError(Exception):
    """An export or import failed; the message says which side and why."""


class ContainerdGone(CopyError):
    """containerd stopped answering during an import: no other image can be copied either.
    `copied`: the images imported one by one before it went, which are recorded as added."""

    copied: list = []


class Docker:
    """The Engine API calls the copy needs; errors as CopyError."""

    def __init__(self, host: str):
        self.api = DockerAPI(host, timeout=DOCKER_TIMEOUT)

    @contextlib.contextmanager
    def get(self, path: str, query: list[tuple[str, str]] | None = None):
        """The open response to GET `path`, closed after the block."""
        try:
            response = self.api.request("GET", path, query)
        except DockerUnavailable as err:
            raise CopyError(str(err)) from None
        with response:
            yield response

    def images(self) -> list[dict]:
        with self.get("/images/json", [("all", "0")]) as response:
            return json.loads(response.read())

    def export(self, names: list[str]):
        return self.get("/images/get", [("names", n) for n in names])

    def root(self) -> str | None:
        with self.get("/info") as response:
            return json.loads(response.read()).get("DockerRootDir")


def normalize_ref(ref: str) -> str:
    """The name containerd gives `ref` (docker.io/library/ for Docker Hub, :latest if untagged),
    the form the kubelet asks the CRI for."""
    name, at, digest = ref.partition("@")
    domain, slash, rest = name.partition("/")
    if not slash or not ("." in domain or ":" in domain or domain == "localhost"):
        domain, rest = "docker.io", name
    if domain in ("docker.io", "index.docker.io"):
        domain, rest = "docker.io", rest if "/" in rest else "library/" + rest
    path, _, last = rest.rpartition("/")
    repo, colon, _ = last.partition(":")
    if at and colon:  # repo:tag@digest: the digest alone names the image
        rest = f"{path}/{repo}" if path else repo
    elif not at and not colon:
        rest += ":latest"
    return f"{domain}/{rest}{at}{digest}"


class Image:
    """One Docker image and the refs it should have in containerd."""

    def __init__(self, raw: dict, wanted: set[str] | None):
        self.id = raw["Id"]
        self.size = raw.get("Size", 0)
        tags = [t for t in raw.get("RepoTags") or () if t != "<none>:<none>"]
        digests = [d for d in raw.get("RepoDigests") or () if d != "<none>@<none>"]
        self.all_refs = {normalize_ref(r) for r in tags + digests}
        # Tags travel in the export; digest names are made in containerd afterwards.
        self.tags = sorted(r for r in map(normalize_ref, tags) if wanted is None or r in wanted)
        self.digests = sorted(
            r for r in map(normalize_ref, digests) if wanted is None or r in wanted)

    @property
    def refs(self) -> list[str]:
        return sorted(self.tags + self.digests)

    def summary(self) -> dict:
        return {"id": self.id, "refs": self.refs, "size": self.size}


class Ctr:
    """containerd's images in one namespace, through ctr (it has no other stable interface)."""

    def __init__(self, module: AnsibleModule):
        p = module.params
        self.module = module
        self.base = [module.get_bin_path(p["ctr"], required=True),
                     "--address", re.sub("^unix://", "", p["containerd_address"]),
                     "--namespace", p["namespace"]]
        # ctr 2.x imports through containerd's transfer service, which containerd 1.x lacks;
        # --local imports in the client as ctr 1.x always did, into either.
        version = re.search(r" v?(\d+)\.\d+", module.run_command([self.base[0], "--version"])[1])
        self.import_flags = ["--local"] if version and int(version.group(1)) >= 2 else []
        self.configs: dict[str, str | None] = {}  # by manifest digest: content never changes
        self.names: dict[str, tuple[str, set[str]]] = {}
        self.refresh()

    def run(self, *args: str) -> str:
        rc, out, err = self.module.run_command([*self.base, *args])
        if rc != 0:
            self.module.fail_json(msg=f"ctr {' '.join(args)}: {err.strip() or out.strip()}")
        return out

    def refresh(self) -> None:
        """Re-read every image name: its target digest and its labels."""
        self.names = {}
        for line in self.run("images", "ls").splitlines()[1:]:
            fields = line.split()
            labels = set(fields[-1].split(",")) if "=" in fields[-1] else set()
            self.names[fields[0]] = (fields[2], labels)

    def config_of(self, name: str) -> str | None:
        """The image ID (config digest) `name` stands for, None if containerd lacks it."""
        return self._config(self.names[name][0]) if name in self.names else None

    def _config(self, digest: str) -> str | None:
        if digest not in self.configs:
            rc, out, _ = self.module.run_command([*self.base, "content", "get", digest])
            doc = json.loads(out) if rc == 0 else {}
            if "manifests" in doc:  # an index: the kubelet runs this node's platform
                arch = GOARCH.get(platform.machine(), platform.machine())
                wanted = {"os": "linux", "architecture": arch}
                found = [m["digest"] for m in doc["manifests"]
                         if wanted.items() <= m.get("platform", {}).items()]
                self.configs[digest] = self._config(found[0]) if found else None
            else:
                self.configs[digest] = doc.get("config", {}).get("digest")
        return self.configs[digest]

    def holds(self, image: Image) -> bool:
        return all(self.config_of(ref) == image.id for ref in image.refs)

    def answers(self) -> bool:
        try:
            return subprocess.run([*self.base, "version"], capture_output=True,
                                  timeout=PROBE_SECONDS).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def import_command(self) -> list[str]:
        # --digests names untagged images import-<date>@<digest>: without it they are dropped.
        return [*self.base, "images", "import", *self.import_flags, "--digests",
                "--skip-digest-for-named", "-"]


def list_images(docker: Docker, wanted: set[str] | None):
    """(images to consider, dangling IDs, wanted refs Docker lacks, every ref Docker holds
    with its image ID)."""
    images, dangling, held = [], [], {}
    for raw in docker.images():
        image = Image(raw, wanted)
        held.update(dict.fromkeys(image.all_refs, image.id))
        if not image.all_refs:
            dangling.append(image.id)
        elif image.refs:
            images.append(image)
    missing = sorted((wanted or set()) - set(held))
    return images, dangling, missing, held


class StallGuard:
    """Kills an import `proc` that has taken nothing for STALL_SECONDS while containerd does not
    answer; `gone` says whether it did."""

    def __init__(self, ctr: Ctr, proc: subprocess.Popen):
        self.ctr, self.proc = ctr, proc
        self.moved = time.monotonic()
        self.gone = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(5):
            if time.monotonic() - self.moved > STALL_SECONDS and not self.ctr.answers():
                self.gone = True
                self.proc.kill()
                return


def pump(response, sink, guard: StallGuard) -> int:
    sent = 0
    while chunk := response.read(CHUNK):
        sink.write(chunk)
        sent += len(chunk)
        guard.moved = time.monotonic()
    return sent


def stream(docker: Docker, ctr: Ctr, images: list[Image]) -> int:
    """One export of `images` piped into one import; returns the bytes streamed."""
    # Every tag, so the archive names them all; untagged images go by ID (a digest ref would
    # export them without a name too).
    names = [name for i in images for name in i.tags or [i.id]]
    with docker.export(names) as response, tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(ctr.import_command(), stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT)
        with StallGuard(ctr, proc) as guard:
            try:
                sent = pump(response, proc.stdin, guard)
                proc.stdin.close()
                code = proc.wait()
            except (OSError, http.client.HTTPException) as err:
                # Killed, not closed: ctr must not take a cut-off tar for a complete one.
                proc.kill()
                proc.wait()
                code, broke = None, err
        log.seek(0)
        said = log.read().decode().strip()
        if guard.gone:
            raise ContainerdGone(f"ctr images import: nothing taken for {STALL_SECONDS}s and "
                                 f"containerd does not answer; ctr: {said}")
        if code is None:
            raise CopyError(f"stream broke: {broke}; ctr: {said}")
        if code != 0:
            raise CopyError(f"ctr images import: {said}")
    return sent


def copy(docker: Docker, ctr: Ctr, images: list[Image]) -> tuple[list, list, int]:
    """(copied images, failures, bytes of the imports that succeeded): all in one stream, else
    (a broken layer fails the whole export) one image at a time."""
    try:
        return images, [], stream(docker, ctr, images)
    except ContainerdGone:
        raise
    except CopyError as err:
        if len(images) == 1:
            return [], [{**images[0].summary(), "error": str(err)}], 0
    copied, failed, sent = [], [], 0
    for image in images:
        try:
            sent += stream(docker, ctr, [image])
            copied.append(image)
        except ContainerdGone as err:
            err.copied = copied
            raise
        except CopyError as err:
            failed.append({**image.summary(), "error": str(err)})
    return copied, failed, sent


def name_digests(ctr: Ctr, images: list[Image]) -> None:
    """Give each copied image its repo@sha256 names; untagged ones lose their import- name."""
    ctr.refresh()
    imported = {ctr.config_of(n): n for n in ctr.names if IMPORT_NAME.match(n)}
    for image in images:
        source = image.tags[0] if image.tags else imported.get(image.id)
        if image.digests and source:
            ctr.run("images", "tag", "--force", source, *image.digests)
        if not image.tags and source:
            ctr.run("images", "rm", source)
    ctr.refresh()


def mismatches(ctr: Ctr, images: list[Image]) -> list[str]:
    return [f"{ref}: containerd has {ctr.config_of(ref) or 'nothing'}, Docker has {image.id}"
            for image in images for ref in image.refs if ctr.config_of(ref) != image.id]


def pin(module: AnsibleModule, ctr: Ctr, refs: list[str], coming: set[str]) -> list[str]:
    """Label the `refs` pinned (the kubelet's image GC keeps them); the ones labelled now."""
    labelled = []
    for ref in map(normalize_ref, refs):
        if ref not in ctr.names and ref not in coming:
            module.fail_json(msg=f"cannot pin {ref}: not in containerd, and not copied now")
        if ref in ctr.names and PINNED_LABEL in ctr.names[ref][1]:
            continue
        if not module.check_mode:
            ctr.run("images", "label", ref, PINNED_LABEL)
        labelled.append(ref)
    return labelled


def refuse(module: AnsibleModule, failed: list[dict], result: dict) -> None:
    """Fail the task over images that are (or would be) left out, unless allow_missing; then
    warn about them instead."""
    if not failed:
        return
    why = "; ".join(f"{' '.join(f['refs'])}: {f['error']}" for f in failed)
    if not module.params["allow_missing"]:
        module.fail_json(msg=f"not copied into containerd: {why}", failed_images=failed,
                         **result)
    module.warn(f"left out of containerd (allow_missing): {why}")


def write_record(path: str, images: list[Image]) -> bool:
    """Write the record of what containerd holds; True if written."""
    return write_json(path, sorted((i.summary() for i in images), key=lambda s: s["id"]))


def write_json(path: str, data) -> bool:
    """Write `data` atomically unless the file already says the same; True if written."""
    text = json.dumps(data, indent=2, sort_keys=True)
    with contextlib.suppress(FileNotFoundError), open(path) as handle:
        if handle.read() == text + "\n":
            return False
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(handle.name, 0o644)  # not the 0600 of a temporary file: anyone may read it
    os.replace(handle.name, path)
    return True


def read_json(path: str | None, empty):
    """The file's JSON, or `empty` where there is no path or no file."""
    if path:
        with contextlib.suppress(FileNotFoundError), open(path) as handle:
            return json.load(handle)
    return empty


def stale(added: dict[str, str], held: dict[str, str], coming: set[str]) -> dict[str, str]:
    """The refs added earlier that Docker no longer holds under the same image ID and that
    this run does not copy again."""
    return {ref: image_id for ref, image_id in added.items()
            if held.get(ref) != image_id and ref not in coming}


def remove(module: AnsibleModule, ctr: Ctr, refs: dict[str, str]) -> list[str]:
    """Take `refs` out of containerd where they still name the image this module put there
    (containerd collects the content no name holds any more); the refs that named it."""
    gone = sorted(ref for ref, image_id in refs.items() if ctr.config_of(ref) == image_id)
    if gone and not module.check_mode:
        ctr.run("images", "rm", *gone)
        ctr.refresh()
        # The CRI names each image it knows by its ID too; once no other name is left, that
        # one would keep the content alive.
        named = {ctr.config_of(n) for n in ctr.names if not n.startswith("sha256:")}
        orphans = sorted(({refs[ref] for ref in gone} - named) & set(ctr.names))
        if orphans:
            ctr.run("images", "rm", *orphans)
            ctr.refresh()
    return gone


def remove_added(module: AnsibleModule, ctr: Ctr) -> None:
    """state=absent: every ref the record holds out of containerd, then both records."""
    p = module.params
    if not p["added"]:
        module.fail_json(msg="state=absent needs `added`, the record of what to remove")
    gone = remove(module, ctr, read_json(p["added"], {}))
    records = [path for path in (p["added"], p["record"]) if os.path.exists(path)]
    if not module.check_mode:
        for path in records:
            os.unlink(path)
    module.exit_json(changed=bool(gone or records), removed=gone)


def check_space(module: AnsibleModule, docker: Docker, todo: list[Image], result: dict) -> None:
    """Refuse before the copy when a filesystem it writes to would be left too full."""
    if not todo:
        result["space"] = []
        return
    try:
        layer_bytes = image_space.unique_bytes(docker.api, [i.id for i in todo])
        found = image_space.filesystems(layer_bytes, module.params["containerd_root"],
                                        docker.root(), module.params["keep_free"])
    except (DockerUnavailable, CopyError, OSError, ValueError, KeyError) as err:
        module.fail_json(msg=f"measuring what the copy needs on disk: {err}", **result)
    result["space"] = [fs.to_json() for fs in found]
    short = [fs.shortfall() for fs in found if not fs.fits]
    if short and module.check_mode:
        module.warn("; ".join(short))
    elif short:
        module.fail_json(msg="; ".join(short) + "; nothing was copied", **result)


def own_unit() -> str | None:
    """The systemd unit this process runs in (over SSH, the session's scope), None if none."""
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as handle:
        for line in handle:
            if line.startswith("0::"):
                last = line.strip().rsplit("/", 1)[-1]
                return last if last.endswith((".scope", ".service")) else None
    return None


class Throttle:
    """Caps docker.service and containerd.service, which do the copy's work (export, store,
    unpack), and this module's own unit (its pump and ctr's digests), while the node's pods
    still run beside them: CPUQuota and IOWeight set at runtime and reset afterwards. A marker
    file lists the daemons capped, so that the next run resets them if this one died before it
    could (the module's own scope ends with its session)."""

    UNITS = ("docker.service", "containerd.service")
    UNSET = {"CPUQuotaPerSecUSec": {"infinity"},
             "IOWeight": {"[not set]", "18446744073709551615", ""}}

    def __init__(self, module: AnsibleModule, marker: str):
        self.module, self.marker = module, marker
        p = module.params
        self.settings = [f"{key}={value}" for key, value in
                         (("CPUQuota", p["cpu_quota"]), ("IOWeight", p["io_weight"]))
                         if value is not None]
        self.own: str | None = None

    def _set(self, unit: str, settings: list[str]) -> bool:
        rc, _, err = self.module.run_command(
            ["systemctl", "set-property", "--runtime", unit, *settings])
        if rc != 0:
            self.module.warn(f"systemctl set-property {unit} {' '.join(settings)}: {err.strip()}")
        return rc == 0

    def _operator_set(self, unit: str) -> bool:
        rc, out, _ = self.module.run_command(
            ["systemctl", "show", unit, *(f"--property={key}" for key in self.UNSET)])
        shown = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return rc != 0 or any(shown.get(key, "") not in unset for key, unset in self.UNSET.items())

    def reset(self) -> None:
        units = read_json(self.marker, None)
        for unit in units or ():
            self._set(unit, ["CPUQuota=", "IOWeight="])
        if units is not None:
            os.unlink(self.marker)

    def __enter__(self):
        self.reset()
        if not self.settings or self.module.check_mode:
            return self
        units = []
        for unit in self.UNITS:
            if self._operator_set(unit):
                self.module.warn(f"{unit}: CPUQuota or IOWeight already set, left as it is")
            else:
                units.append(unit)
        write_json(self.marker, units)
        for unit in units:
            self._set(unit, self.settings)
        self.own = own_unit()
        if self.own:
            self._set(self.own, self.settings)
        return self

    def __exit__(self, *exc) -> None:
        if self.own:
            self._set(self.own, ["CPUQuota=", "IOWeight="])
        self.reset()


def main() -> None:
    started = time.monotonic()
    module = AnsibleModule(argument_spec={
        "docker_host": {"type": "str", "default": "unix:///run/docker.sock"},
        "containerd_address": {"type": "str", "default": "/run/containerd/containerd.sock"},
        "namespace": {"type": "str", "default": "k8s.io"},
        "ctr": {"type": "str", "default": "ctr"},
        "images": {"type": "list", "elements": "str"},
        "pin": {"type": "list", "elements": "str", "default": []},
        "record": {"type": "path", "default": "/var/lib/harness/migration/images.json"},
        "allow_missing": {"type": "bool", "default": False},
        "added": {"type": "path"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "containerd_root": {"type": "path", "default": "/var/lib/containerd"},
        "keep_free": {"type": "str", "default": "15%"},
        "cpu_quota": {"type": "str"},
        "io_weight": {"type": "int"},
    }, supports_check_mode=True)
    p = module.params
    if "://" in re.sub("^unix://", "", p["docker_host"]):
        module.fail_json(msg=f"docker_host {p['docker_host']}: only unix:// sockets are supported")
    ctr = Ctr(module)
    if p["state"] == "absent":
        remove_added(module, ctr)
    docker = Docker(p["docker_host"])
    wanted = {normalize_ref(r) for r in p["images"]} if p["images"] is not None else None
    try:
        images, dangling, missing, held = list_images(docker, wanted)
    except (CopyError, OSError, ValueError) as err:
        module.fail_json(msg=f"listing Docker's images: {err}")
    present = [i for i in images if ctr.holds(i)]
    todo = [i for i in images if i not in present]
    added = read_json(p["added"], {})
    outdated = stale(added, held, {r for i in todo for r in i.refs})
    failed = [{"id": None, "refs": [ref], "error": "Docker has no such image"} for ref in missing]
    result = {"present": [i.summary() for i in present], "dangling": dangling, "bytes": 0,
              "removed": remove(module, ctr, outdated)}
    check_space(module, docker, todo, result)

    if module.check_mode:
        refuse(module, failed, result)
        pinned = pin(module, ctr, p["pin"], {r for i in todo for r in i.refs})
        module.exit_json(changed=bool(todo or pinned or result["removed"]),
                         would_copy=[i.summary() for i in todo], copied=[],
                         failed_images=failed, pinned=pinned,
                         seconds=round(time.monotonic() - started, 2), **result)

    def record_added(copied: list[Image]) -> bool:
        """What this run put there, recorded before anything can fail, so that a rollback
        removes it whatever follows (a ref containerd lacks is skipped then)."""
        now = {ref: i.id for i in copied for ref in i.refs}
        return p["added"] is not None and write_json(
            p["added"], {**{r: i for r, i in added.items() if r not in outdated}, **now})

    copied = []
    marker = os.path.join(os.path.dirname(p["record"]) or ".", "throttled.json")
    with Throttle(module, marker):
        if todo:
            try:
                copied, failures, result["bytes"] = copy(docker, ctr, todo)
            except ContainerdGone as err:
                record_added(err.copied)
                module.fail_json(msg=str(err), failed_images=failed, **result)
            failed += failures
            name_digests(ctr, copied)
    added_written = record_added(copied)
    result.update(copied=[i.summary() for i in copied],
                  seconds=round(time.monotonic() - started, 2))
    wrong = mismatches(ctr, copied)
    if wrong:
        module.fail_json(msg="copied images differ in containerd: " + "; ".join(wrong),
                         failed_images=failed, **result)
    refuse(module, failed, result)
    result["pinned"] = pin(module, ctr, p["pin"], set())
    written = write_record(p["record"], present + copied)
    result["changed"] = bool(copied or result["pinned"] or written or result["removed"]
                             or added_written)
    module.exit_json(failed_images=failed, **result)


if __name__ == "__main__":
    main()
