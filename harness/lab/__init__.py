"""The local lab: systemd nodes as systemd-nspawn machines on a private bridge, running Docker."""
