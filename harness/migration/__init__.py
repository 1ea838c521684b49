"""The migration: a thin driver over the playbooks in playbooks/ (run through ansible-runner),
turning Ansible's events into progress lines, JUnit rows and machine-readable results."""
