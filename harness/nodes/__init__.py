"""Working on one node, below the providers that make nodes and the commands that drive them
(the node is reached through harness.transport.open_transport): whether it answers (health),
running the suites there (staging, suites), the kubelet's watchdog, the lock a run holds on it,
what is kept of it for the report (artifacts) and the registries offered to it (registries)."""
