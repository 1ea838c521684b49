"""OCI runtime and image-spec tooling: a runtime CLI driver, a bundle builder, a layout unpacker
and image-spec validation, used by suites/oci."""
