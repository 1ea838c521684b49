"""containerd 2.x as a migration target: its binaries built from the Go module (build) and
its configuration rendered per config version from one set of typed settings (config)."""
