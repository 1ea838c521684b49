"""Real daemons (containerd, dockerd, sshd, registry) started privately for a command or a test:
each under its own state directory and socket, never the host's system instances."""
