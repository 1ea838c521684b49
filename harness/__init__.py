"""Node migration and conformance test harness: Docker to containerd, proven by real suites."""

__version__ = "0.1.0"
