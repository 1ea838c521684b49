"""Kubernetes for the lab: binaries built from the Go modules, PKI, control plane, node join."""
