"""A CRI client over the `cri_api` stubs: CRI v1, or v1alpha2 where the endpoint speaks only that.

Every RPC carries a deadline, every sandbox and container created through it carries the run
label, so `cleanup()` can find and remove what one run made even after failures.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType

import grpc
from cri_api.v1 import api_pb2 as v1_pb
from cri_api.v1 import api_pb2_grpc as v1_grpc
from cri_api.v1alpha2 import api_pb2 as v1alpha2_pb
from cri_api.v1alpha2 import api_pb2_grpc as v1alpha2_grpc

from harness.errors import HarnessTimeout, UnreachableError

RUN_LABEL = "harness.cri/run"
API_VERSIONS = (("v1", v1_pb, v1_grpc), ("v1alpha2", v1alpha2_pb, v1alpha2_grpc))


class CriError(Exception):
    """An RPC the runtime answered with an error; `code` is the gRPC status code."""

    def __init__(self, rpc: str, code: grpc.StatusCode, details: str):
        super().__init__(f"{rpc}: {code.name}: {details}")
        self.rpc = rpc
        self.code = code
        self.details = details

    @property
    def unimplemented(self) -> bool:
        return self.code == grpc.StatusCode.UNIMPLEMENTED


@dataclass(frozen=True)
class Api:
    """One CRI API version: its message module and its two service stubs."""

    version: str
    pb: ModuleType
    runtime: object
    image: object


def _channel(endpoint: str) -> grpc.Channel:
    # gRPC's own target syntax takes unix:///abs/path and host:port; crictl also accepts bare
    # paths and tcp://host:port.
    target = endpoint if "://" in endpoint else f"unix://{endpoint}"
    target = target.removeprefix("tcp://")
    return grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 16 << 20)])


def _wrap(rpc: str, err: grpc.RpcError) -> Exception:
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return UnreachableError(f"CRI endpoint unavailable during {rpc}", hint=details)
    return CriError(rpc, code, details)


def negotiate(runtime_endpoint: str, image_endpoint: str | None, timeout: float,
              only: str | None = None) -> Api:
    """Pick v1 if the runtime answers Version there, else v1alpha2 (like kubelet's client);
    `only` restricts the choice to one version."""
    rt_channel = _channel(runtime_endpoint)
    img_channel = _channel(image_endpoint) if image_endpoint else rt_channel
    last: CriError | None = None
    for version, pb, stubs in API_VERSIONS:
        if only and version != only:
            continue
        runtime = stubs.RuntimeServiceStub(rt_channel)
        try:
            runtime.Version(pb.VersionRequest(), timeout=timeout)
        except grpc.RpcError as err:
            wrapped = _wrap("Version", err)
            if isinstance(wrapped, CriError) and wrapped.unimplemented:
                last = wrapped
                continue
            if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise HarnessTimeout(
                    f"CRI endpoint {runtime_endpoint} did not answer Version in {timeout:g}s"
                ) from err
            raise wrapped from err
        return Api(version, pb, runtime, stubs.ImageServiceStub(img_channel))
    raise UnreachableError(
        f"CRI endpoint {runtime_endpoint} speaks neither CRI v1 nor v1alpha2", hint=str(last)
    )


@dataclass
class CriClient:
    """Typed helpers over one runtime endpoint (and optionally a separate image endpoint)."""

    endpoint: str
    image_endpoint: str | None = None
    timeout: float = 30.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    scope: dict[str, str] = field(default_factory=dict)  # more labels, e.g. the current test
    api_version: str | None = None  # force "v1" or "v1alpha2"; None negotiates

    def __post_init__(self) -> None:
        self.api = negotiate(self.endpoint, self.image_endpoint, self.timeout, self.api_version)
        self.pb = self.api.pb

    # -- plumbing ----------------------------------------------------------------------------

    def call(self, rpc: str, request, timeout: float | None = None, service: str = "runtime"):
        stub = self.api.runtime if service == "runtime" else self.api.image
        try:
            return getattr(stub, rpc)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise _wrap(rpc, err) from err

    def labels(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {RUN_LABEL: self.run_id, **self.scope, **(extra or {})}

    # -- runtime -----------------------------------------------------------------------------

    def version(self):
        return self.call("Version", self.pb.VersionRequest())

    def status(self, verbose: bool = False):
        return self.call("Status", self.pb.StatusRequest(verbose=verbose))

    def condition(self, kind: str):
        """The Status condition of this type (RuntimeReady, NetworkReady), or None."""
        return next((c for c in self.status().status.conditions if c.type == kind), None)

    def runtime_config(self):
        return self.call("RuntimeConfig", self.pb.RuntimeConfigRequest())

    # -- sandboxes ---------------------------------------------------------------------------

    def sandbox_config(
        self,
        name: str,
        *,
        labels=None,
        annotations=None,
        log_directory="",
        hostname="",
        dns=None,
        port_mappings=(),
        linux=None,
        attempt=0,
    ):
        """A PodSandboxConfig with unique metadata (name plus run id) and the run label."""
        uid = uuid.uuid4().hex
        return self.pb.PodSandboxConfig(
            metadata=self.pb.PodSandboxMetadata(
                name=f"{name}-{uid[:8]}", uid=uid, namespace=f"hc-{self.run_id}", attempt=attempt
            ),
            hostname=hostname,
            log_directory=log_directory,
            dns_config=dns,
            port_mappings=list(port_mappings),
            labels=self.labels(labels),
            annotations=annotations or {},
            linux=linux or self.pb.LinuxPodSandboxConfig(),
        )

    def run_sandbox(self, config, runtime_handler: str = "", timeout: float | None = None) -> str:
        request = self.pb.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler)
        return self.call("RunPodSandbox", request, timeout).pod_sandbox_id

    def sandbox_status(self, sandbox_id: str, verbose: bool = False):
        request = self.pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=verbose)
        return self.call("PodSandboxStatus", request)

    def list_sandboxes(self, *, id="", state=None, labels=None):  # noqa: A002 - CRI's name
        flt = self.pb.PodSandboxFilter(id=id, label_selector=labels or {})
        if state is not None:
            flt.state.CopyFrom(self.pb.PodSandboxStateValue(state=state))
        return list(self.call("ListPodSandbox", self.pb.ListPodSandboxRequest(filter=flt)).items)

    def stop_sandbox(self, sandbox_id: str) -> None:
        self.call("StopPodSandbox", self.pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id))

    def remove_sandbox(self, sandbox_id: str) -> None:
        self.call("RemovePodSandbox", self.pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id))

    def sandbox_stats(self, sandbox_id: str):
        request = self.pb.PodSandboxStatsRequest(pod_sandbox_id=sandbox_id)
        return self.call("PodSandboxStats", request).stats

    def list_sandbox_stats(self, labels=None):
        flt = self.pb.PodSandboxStatsFilter(label_selector=labels or {})
        request = self.pb.ListPodSandboxStatsRequest(filter=flt)
        return list(self.call("ListPodSandboxStats", request).stats)

    # -- containers --------------------------------------------------------------------------

    def container_config(
        self,
        name: str,
        image: str,
        command=(),
        args=(),
        *,
        labels=None,
        annotations=None,
        log_path="",
        mounts=(),
        envs=None,
        linux=None,
        stdin=False,
        stdin_once=False,
        tty=False,
        working_dir="",
    ):
        return self.pb.ContainerConfig(
            metadata=self.pb.ContainerMetadata(name=name),
            image=self.pb.ImageSpec(image=image),
            command=list(command),
            args=list(args),
            working_dir=working_dir,
            envs=[self.pb.KeyValue(key=k, value=v) for k, v in (envs or {}).items()],
            mounts=list(mounts),
            labels=self.labels(labels),
            annotations=annotations or {},
            log_path=log_path,
            stdin=stdin,
            stdin_once=stdin_once,
            tty=tty,
            linux=linux or self.pb.LinuxContainerConfig(),
        )

    def create_container(self, sandbox_id: str, config, sandbox_config) -> str:
        request = self.pb.CreateContainerRequest(
            pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox_config
        )
        return self.call("CreateContainer", request).container_id

    def start_container(self, container_id: str) -> None:
        self.call("StartContainer", self.pb.StartContainerRequest(container_id=container_id))

    def stop_container(self, container_id: str, timeout: int = 0) -> None:
        request = self.pb.StopContainerRequest(container_id=container_id, timeout=timeout)
        self.call("StopContainer", request, timeout=self.timeout + timeout)

    def remove_container(self, container_id: str) -> None:
        self.call("RemoveContainer", self.pb.RemoveContainerRequest(container_id=container_id))

    def container_status(self, container_id: str, verbose: bool = False):
        request = self.pb.ContainerStatusRequest(container_id=container_id, verbose=verbose)
        return self.call("ContainerStatus", request).status

    def list_containers(self, *, id="", sandbox_id="", state=None, labels=None):  # noqa: A002
        flt = self.pb.ContainerFilter(id=id, pod_sandbox_id=sandbox_id, label_selector=labels or {})
        if state is not None:
            flt.state.CopyFrom(self.pb.ContainerStateValue(state=state))
        reply = self.call("ListContainers", self.pb.ListContainersRequest(filter=flt))
        return list(reply.containers)

    def wait_container_state(self, container_id: str, state: int, timeout: float = 30.0):
        """Poll ContainerStatus until the container reaches `state`; returns the status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.container_status(container_id)
            if status.state == state:
                return status
            if time.monotonic() > deadline:
                name = self.pb.ContainerState.Name(status.state)
                raise HarnessTimeout(
                    f"container {container_id[:12]} still {name} after {timeout:g}s, wanted "
                    f"{self.pb.ContainerState.Name(state)}"
                )
            time.sleep(0.05)

    def exec_sync(self, container_id: str, cmd, timeout: int = 0):
        """ExecSync; `timeout` is the CRI field (seconds, 0 = none), the RPC deadline follows."""
        request = self.pb.ExecSyncRequest(container_id=container_id, cmd=list(cmd), timeout=timeout)
        return self.call("ExecSync", request, timeout=self.timeout + timeout)

    def update_resources(self, container_id: str, linux) -> None:
        request = self.pb.UpdateContainerResourcesRequest(container_id=container_id, linux=linux)
        self.call("UpdateContainerResources", request)

    def reopen_log(self, container_id: str) -> None:
        request = self.pb.ReopenContainerLogRequest(container_id=container_id)
        self.call("ReopenContainerLog", request)

    def container_stats(self, container_id: str):
        request = self.pb.ContainerStatsRequest(container_id=container_id)
        return self.call("ContainerStats", request).stats

    def list_container_stats(self, *, id="", sandbox_id="", labels=None, nil_filter=False):  # noqa: A002
        if nil_filter:
            request = self.pb.ListContainerStatsRequest()
        else:
            flt = self.pb.ContainerStatsFilter(
                id=id, pod_sandbox_id=sandbox_id, label_selector=labels or {}
            )
            request = self.pb.ListContainerStatsRequest(filter=flt)
        return list(self.call("ListContainerStats", request).stats)

    # -- streaming URLs ----------------------------------------------------------------------

    def exec_url(
        self, container_id: str, cmd, *, tty=False, stdin=False, stdout=True, stderr=True
    ) -> str:
        request = self.pb.ExecRequest(
            container_id=container_id,
            cmd=list(cmd),
            tty=tty,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr and not tty,  # CRI: stderr must be false when tty is set
        )
        return self.call("Exec", request).url

    def attach_url(
        self, container_id: str, *, tty=False, stdin=True, stdout=True, stderr=True
    ) -> str:
        request = self.pb.AttachRequest(
            container_id=container_id,
            tty=tty,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr and not tty,
        )
        return self.call("Attach", request).url

    def port_forward_url(self, sandbox_id: str, ports=()) -> str:
        request = self.pb.PortForwardRequest(pod_sandbox_id=sandbox_id, port=list(ports))
        return self.call("PortForward", request).url

    # -- images ------------------------------------------------------------------------------

    def pull_image(self, ref: str, auth=None, sandbox_config=None, timeout: float | None = None):
        request = self.pb.PullImageRequest(
            image=self.pb.ImageSpec(image=ref), auth=auth, sandbox_config=sandbox_config
        )
        return self.call("PullImage", request, timeout, service="image").image_ref

    def image_status(self, ref: str, verbose: bool = False):
        """The Image for `ref`, or None when the runtime does not have it (CRI: nil image)."""
        request = self.pb.ImageStatusRequest(image=self.pb.ImageSpec(image=ref), verbose=verbose)
        reply = self.call("ImageStatus", request, service="image")
        return reply.image if reply.HasField("image") else None

    def list_images(self, ref: str = ""):
        flt = self.pb.ImageFilter(image=self.pb.ImageSpec(image=ref)) if ref else None
        return list(
            self.call("ListImages", self.pb.ListImagesRequest(filter=flt), service="image").images
        )

    def remove_image(self, ref: str) -> None:
        request = self.pb.RemoveImageRequest(image=self.pb.ImageSpec(image=ref))
        self.call("RemoveImage", request, service="image")

    def image_fs_info(self):
        return self.call("ImageFsInfo", self.pb.ImageFsInfoRequest(), service="image")

    # -- cleanup -----------------------------------------------------------------------------

    def leftovers(self, selector: dict[str, str] | None = None) -> tuple[list, list]:
        """(containers, sandboxes) matching `selector`, by default this run's label."""
        selector = selector or {RUN_LABEL: self.run_id}
        return self.list_containers(labels=selector), self.list_sandboxes(labels=selector)

    def cleanup(self, selector: dict[str, str] | None = None) -> tuple[int, int]:
        """Remove everything matching `selector` (default: this run's label); returns how many
        containers and sandboxes there were. RemovePodSandbox force-removes a sandbox with its
        containers (CRI), so only containers outside them need their own calls."""
        containers, sandboxes = self.leftovers(selector)
        for sandbox in sandboxes:
            try:
                self.remove_sandbox(sandbox.id)
            except CriError:
                with contextlib.suppress(CriError):
                    self.stop_sandbox(sandbox.id)
                    self.remove_sandbox(sandbox.id)
        remaining = self.list_containers(labels=selector or {RUN_LABEL: self.run_id})
        for ctr in remaining:
            with contextlib.suppress(CriError):
                self.stop_container(ctr.id)
            with contextlib.suppress(CriError):
                self.remove_container(ctr.id)
        return len(containers), len(sandboxes)
