"""Fixtures for the image tests: built images, and private containerd, dockerd and registries
(all under pytest's temp dirs, with hi- names, stopped after the module)."""

from __future__ import annotations

import grpc
import pytest
from cri_api.v1 import api_pb2, api_pb2_grpc

from harness import images
from harness.daemons.containerd import Containerd, ContainerdConfig


@pytest.fixture(scope="session")
def pause_image():
    return images.build("pause")


@pytest.fixture(scope="session")
def busybox_image():
    return images.build("busybox")


@pytest.fixture(scope="module")
def start_containerd(tmp_path_factory, pause_image):
    """Start private containerds (no CNI: image tests run no pods, so no bridge); all are
    stopped when the module ends."""
    started = []

    def start(**extra) -> Containerd:
        base = tmp_path_factory.mktemp("hi-containerd")
        cfg = ContainerdConfig(
            base_dir=base,
            cni=False,
            bridge="hi-cni0",
            subnet="10.90.0.0/24",
            sandbox_image=pause_image.ref,
            **extra,
        )
        started.append(Containerd(cfg))
        return started[-1].start()

    yield start
    for daemon in started:
        daemon.stop()


class CriImages:
    """The CRI image service of one containerd, with the calls these tests make."""

    def __init__(self, endpoint: str):
        self.channel = grpc.insecure_channel(endpoint)
        self.stub = api_pb2_grpc.ImageServiceStub(self.channel)

    def status(self, ref: str):
        req = api_pb2.ImageStatusRequest(image=api_pb2.ImageSpec(image=ref))
        return self.stub.ImageStatus(req, timeout=30).image

    def pull(self, ref: str) -> str:
        req = api_pb2.PullImageRequest(image=api_pb2.ImageSpec(image=ref))
        return self.stub.PullImage(req, timeout=120).image_ref

    def list(self):
        return self.stub.ListImages(api_pb2.ListImagesRequest(), timeout=30).images

    def close(self):
        self.channel.close()


@pytest.fixture(scope="module")
def cri_images_of():
    clients = []

    def connect(daemon: Containerd) -> CriImages:
        clients.append(CriImages(daemon.endpoint))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()
