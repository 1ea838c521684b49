"""The shared libraries a dynamically linked host binary loads, so that an image can carry
them: Go binaries built with cgo (Kubernetes, CoreDNS) and Debian's iptables need libc and
the dynamic loader, and iptables its own libraries, none of which a scratch image has.

ldd reports each library at the path the dynamic loader found it, and the loader inside the
image looks in the same places, so the image keeps those paths."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

from harness.errors import MissingToolError, StepFailed

# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)";
# the vDSO has no file and matches neither.
_LINE = re.compile(r"^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$")


@functools.cache
def closure(binary: Path) -> tuple[Path, ...]:
    """Every library `binary` loads (transitively, as ldd resolves them), the loader included;
    () for a static binary."""
    ldd = shutil.which("ldd")
    if not ldd:
        raise MissingToolError("ldd not found (an image copies a binary's libraries)",
                               hint="apt-get install libc-bin")
    proc = subprocess.run([ldd, str(binary)], capture_output=True, text=True, check=False)
    if "not a dynamic executable" in proc.stdout + proc.stderr:
        return ()
    missing = [line.split()[0] for line in proc.stdout.splitlines() if "not found" in line]
    if proc.returncode != 0 or missing:
        raise StepFailed(f"{binary}: ldd cannot resolve its libraries",
                         hint=", ".join(missing) or proc.stderr.strip()[-300:])
    return tuple(sorted({Path(m.group(1)) for line in proc.stdout.splitlines()
                         if (m := _LINE.match(line))}))
