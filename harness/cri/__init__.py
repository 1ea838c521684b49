"""Talking CRI to a node's container runtime: endpoint discovery, a typed gRPC client and the
kubelet streaming protocols (exec, attach, port-forward)."""
