"""Drive an OCI runtime binary (runc, crun, ...) through its CLI and parse what it prints.

The OCI runtime-spec defines operations, not a CLI; runc and crun share the runtime-tools CLI
shape (`create --bundle B ID`, `kill ID SIG`, ...) but print different JSON, so every parser
here accepts both. Every call has a timeout and uses a private `--root`, never the runtime's
default state dir: other users of the same runtime on this host must not see our containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessTimeout, InputError, StepFailed

KNOWN_RUNTIMES = ("runc", "crun")
SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
DEFAULT_TIMEOUT = 30.0


class OciRuntimeError(StepFailed):
    """A runtime command that failed; one line naming the runtime, the command and its stderr."""

    def __init__(self, runtime: str, command: Sequence[str], exit_code: int, stderr: str):
        self.runtime = runtime
        self.command = list(command)
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(
            f"{runtime} {' '.join(self.command)} failed (exit {exit_code}): "
            f"{error_message(stderr) or 'no stderr'}"
        )


def error_message(stderr: str) -> str:
    """The runtime's own error text on one line: runc logs `msg="..."`, crun prints plain text."""
    found = re.findall(r'msg="((?:[^"\\]|\\.)*)"', stderr)
    if found:
        return found[-1].replace('\\"', '"')
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class RuntimeInfo:
    """Facts about one runtime binary, gathered once."""

    name: str
    path: str
    version: str  # numeric, e.g. "1.1.5"
    full_version: str  # as printed, e.g. "1.1.5+ds1"
    spec_version: str
    commands: frozenset[str]

    @property
    def id(self) -> str:
        return f"{self.name}-{self.version}"

    def has(self, command: str) -> bool:
        return command in self.commands


@dataclass(frozen=True)
class ContainerState:
    """runtime.md#state, plus what runtimes add (rootfs, created, owner) kept in `raw`."""

    oci_version: str
    id: str
    status: str
    pid: int
    bundle: str
    annotations: dict[str, str]
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> ContainerState:
        return cls(
            oci_version=data.get("ociVersion", ""),
            id=data.get("id", ""),
            status=data.get("status", ""),
            pid=int(data.get("pid") or 0),
            bundle=data.get("bundle", ""),
            annotations=dict(data.get("annotations") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class ListedContainer:
    id: str
    pid: int
    status: str
    bundle: str


@dataclass(frozen=True)
class Completed:
    """A finished runtime command."""

    args: list[str]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def probe(path: str) -> RuntimeInfo:
    """Ask a runtime binary for its name, version and command list."""
    version_out = _plain(path, "--version")
    first = version_out.splitlines()[0] if version_out else ""
    match = re.match(r"(\S+) version (\S+)", first)
    if not match:
        raise InputError(
            f"{path}: `--version` printed {first!r}, not '<name> version <x.y.z>'",
            hint="pass an OCI runtime binary (runc, crun) with --oci-runtime",
        )
    spec = re.search(r"^spec: (\S+)", version_out, re.M)
    numeric = re.match(r"\d+(?:\.\d+)*", match.group(2))
    return RuntimeInfo(
        name=match.group(1),
        path=path,
        version=numeric.group(0) if numeric else match.group(2),
        full_version=match.group(2),
        spec_version=spec.group(1) if spec else "",
        commands=_commands(_plain(path, "--help")),
    )


def _plain(path: str, arg: str) -> str:
    try:
        done = subprocess.run(
            [path, arg], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
        )
    except (FileNotFoundError, PermissionError) as err:
        raise InputError(
            f"{path}: cannot run it ({err.strerror})", hint="check --oci-runtime"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise HarnessTimeout(f"{path} {arg} did not answer within 10s") from err
    return done.stdout


def _commands(help_text: str) -> frozenset[str]:
    """Command names listed under COMMANDS: in runc's (urfave/cli) or crun's (argp) help."""
    names: set[str] = set()
    in_section = False
    for line in help_text.splitlines():
        if line.strip() == "COMMANDS:":
            in_section = True
        elif in_section and not line.strip():
            if names:
                break
        elif in_section and line[:1].isspace():
            names.add(line.split()[0].rstrip(","))
        elif in_section:
            break
    return frozenset(names)


def discover(paths: Iterable[str] = ()) -> list[RuntimeInfo]:
    """The runtimes named by path, or else every known runtime installed on this host."""
    chosen = list(paths) or _installed()
    seen: dict[str, RuntimeInfo] = {}
    for path in chosen:
        if not os.access(path, os.X_OK):
            raise InputError(f"--oci-runtime {path}: not an executable file", hint="give a path")
        seen.setdefault(os.path.abspath(path), probe(os.path.abspath(path)))
    return list(seen.values())


def _installed() -> list[str]:
    found: dict[str, str] = {}
    for name in KNOWN_RUNTIMES:
        for path in [shutil.which(name), *(os.path.join(d, name) for d in SEARCH_DIRS)]:
            if path and os.access(path, os.X_OK):
                found.setdefault(os.path.realpath(path), path)
    return list(found.values())


class OciRuntime:
    """One runtime binary bound to a private state directory (`--root`)."""

    def __init__(self, info: RuntimeInfo, root: Path, timeout: float = DEFAULT_TIMEOUT):
        self.info = info
        self.root = Path(root)
        self.timeout = timeout
        self.root.mkdir(parents=True, exist_ok=True)

    def call(self, *args: str, timeout: float | None = None, stdio=None) -> Completed:
        """Run one command. With `stdio` (two open files) the runtime and the container share
        them, as `create` needs: capturing a pipe would wait for the container to close it."""
        argv = [self.info.path, "--root", str(self.root), *args]
        limit = timeout or self.timeout
        try:
            if stdio is not None:
                done = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=stdio[0], stderr=stdio[1], timeout=limit
                )
                return Completed(list(args), done.returncode, "", "")
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=limit,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise HarnessTimeout(
                f"{self.info.name} {' '.join(args)} did not finish within {limit:g}s"
            ) from err
        return Completed(list(args), done.returncode, done.stdout, done.stderr)

    def check(self, *args: str, **kwargs) -> Completed:
        done = self.call(*args, **kwargs)
        if not done.ok:
            raise OciRuntimeError(self.info.name, args, done.exit_code, done.stderr)
        return done

    def check_json(self, *args: str):
        """The JSON a successful command printed; output that is not JSON is a failure too."""
        done = self.check(*args)
        try:
            return json.loads(done.stdout or "null")
        except ValueError as err:
            raise StepFailed(
                f"{self.info.name} {' '.join(args)} printed no valid JSON ({err})",
                hint=f"output starts {done.stdout[:80]!r}",
            ) from err

    # -- lifecycle (runtime.md#operations) -------------------------------------------------

    def create(
        self,
        container_id: str,
        bundle: Path,
        pid_file: Path | None = None,
        console_socket: Path | None = None,
    ) -> Completed:
        """`create`; the container's stdout and stderr go to <bundle>/stdout.log, stderr.log."""
        args = ["create", "--bundle", str(bundle)]
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        if console_socket is not None:
            args += ["--console-socket", str(console_socket)]
        args.append(container_id)
        out, err = Path(bundle) / "stdout.log", Path(bundle) / "stderr.log"
        with open(out, "ab") as out_file, open(err, "ab") as err_file:
            done = self.call(*args, stdio=(out_file, err_file))
        if not done.ok:
            stderr = err.read_text("utf-8", "replace")
            raise OciRuntimeError(self.info.name, args, done.exit_code, stderr)
        return done

    def start(self, container_id: str) -> Completed:
        return self.check("start", container_id)

    def state(self, container_id: str) -> ContainerState:
        return ContainerState.from_json(self.check_json("state", container_id))

    def kill(
        self, container_id: str, signal: str = "TERM", all_processes: bool = False
    ) -> Completed:
        return self.check("kill", *(["--all"] if all_processes else []), container_id, signal)

    def delete(self, container_id: str, force: bool = False) -> Completed:
        return self.check("delete", *(["--force"] if force else []), container_id)

    def list(self) -> list[ListedContainer]:
        """`list --format json`: runc prints `null` for none, crun `[]`."""
        rows = self.check_json("list", "--format", "json") or []
        return [
            ListedContainer(
                r["id"], int(r.get("pid") or 0), r.get("status", ""), r.get("bundle", "")
            )
            for r in rows
        ]

    def ps(self, container_id: str) -> list[int]:
        """Host pids of the container's processes (`ps --format json`)."""
        return [int(p) for p in self.check_json("ps", "--format", "json", container_id)]

    def exec(
        self, container_id: str, argv: Sequence[str], timeout: float | None = None
    ) -> Completed:
        """Run a process in the container and wait for it; its exit code is the result's."""
        return self.call("exec", container_id, *argv, timeout=timeout)

    def pause(self, container_id: str) -> Completed:
        return self.check("pause", container_id)

    def resume(self, container_id: str) -> Completed:
        return self.check("resume", container_id)

    def update(self, container_id: str, resources: dict) -> Completed:
        """Apply a LinuxResources object (config-linux.md linux.resources) to a live container.
        Passed as a file: runc and crun both read `--resources FILE`, only runc reads `-`."""
        with tempfile.NamedTemporaryFile("w", prefix="ho-oci-resources-", suffix=".json") as f:
            json.dump(resources, f)
            f.flush()
            return self.check("update", "--resources", f.name, container_id)

    def features(self) -> dict | None:
        """features.md output, or None when this runtime has no `features` command."""
        if not self.info.has("features"):
            return None
        return self.check_json("features")

    def stats(self, container_id: str) -> dict | None:
        """One `events --stats` sample, or None when this runtime has no `events` command."""
        if not self.info.has("events"):
            return None
        return self.check_json("events", "--stats", container_id)

    # -- helpers ------------------------------------------------------------------------------

    def wait_status(
        self, container_id: str, statuses: Iterable[str], timeout: float = 30.0
    ) -> ContainerState:
        """Poll `state` until its status is one of `statuses`."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            current = self.state(container_id)
            if current.status in wanted:
                return current
            if time.monotonic() > deadline:
                raise HarnessTimeout(
                    f"{self.info.name} container {container_id} stayed {current.status!r}, "
                    f"not {sorted(wanted)} after {timeout:.0f}s"
                )
            time.sleep(0.02)

    def exists(self, container_id: str) -> bool:
        return self.call("state", container_id).ok

    def remove(self, container_id: str) -> None:
        """Best-effort cleanup: force-delete if it still exists."""
        if self.exists(container_id):
            self.call("delete", "--force", container_id)
