"""The OCI runtime conformance suite (README.md beside this file)."""
