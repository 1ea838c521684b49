"""How long the Kubernetes API was unreachable while nodes were migrated.

On a cluster with one control-plane node the API server is a static pod of that node, so it is
down from the moment Docker stops until the kubelet has started it again on containerd. A
thread reads from the API a few times a second for the whole run; every outage (the
first failed answer to the next good one) is kept, and the run reports them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

INTERVAL = 0.25  # seconds between questions: the resolution of the measurement
REQUEST_TIMEOUT = (1, 2)  # connect, read


@dataclass
class Outage:
    start: float  # epoch seconds of the first question that failed
    end: float | None = None  # of the next one answered; None: still down when the run ended
    error: str = ""

    @property
    def seconds(self) -> float:
        return (self.end or time.time()) - self.start


class ApiWatch:
    """Use as a context manager around the work: ask until it ends."""

    def __init__(self, kubeconfig: str, interval: float = INTERVAL):
        from kubernetes import client, config

        conf = client.Configuration()
        config.load_kube_config(kubeconfig, client_configuration=conf)
        conf.retries = False  # a retried question would hide the outage it ran into
        self.api = client.ApiClient(conf)
        self.interval = interval
        self.outages: list[Outage] = []
        self.asked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="api-watch", daemon=True)

    def __enter__(self) -> ApiWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def ready(self) -> str:
        """"" when the API server answers a read that reaches etcd (a list without a
        resourceVersion is a quorum read), else why not."""
        from kubernetes import client

        try:
            client.CoreV1Api(self.api).list_namespace(limit=1,
                                                      _request_timeout=REQUEST_TIMEOUT)
            return ""
        except Exception as err:  # refused, timed out, 5xx while it starts
            return str(err).splitlines()[0][:200]

    def _watch(self) -> None:
        while not self._stop.is_set():
            asked = time.time()  # when the question left: a frozen server answers late or never
            error = self.ready()
            self.asked += 1
            down = self.outages and self.outages[-1].end is None
            if error and not down:
                self.outages.append(Outage(asked, error=error))
            elif not error and down:
                self.outages[-1].end = asked
            self._stop.wait(self.interval)

    def summary(self) -> str:
        if not self.outages:
            return f"API server: answered throughout ({self.asked} checks)"
        longest = max(o.seconds for o in self.outages)
        total = sum(o.seconds for o in self.outages)
        still = " (still down at the end)" if self.outages[-1].end is None else ""
        return (f"API server: unreachable {len(self.outages)} time(s), {total:.1f} s in all, "
                f"longest {longest:.1f} s{still}")

    def write(self, path: Path) -> Path:
        """The outages as JSON, for reports and bench."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"interval": self.interval, "checks": self.asked,
                                    "outages": [asdict(o) for o in self.outages]}, indent=1))
        return path
