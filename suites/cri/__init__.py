"""The CRI conformance suite (README.md beside this file)."""
