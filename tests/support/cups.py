"""A private CUPS server for the tests: its own cupsd on a socket in a temporary folder,
with one raw queue whose backend keeps each job's data as a file (what the printer would
have received). The machine's own CUPS, if any, is never touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.tools import require_tool

BACKEND = """#!/bin/sh
# Each job's data into the folder the device URI names (capture:/folder).
if [ $# -eq 0 ]; then echo 'direct capture "Unknown" "Capture to a folder"'; exit 0; fi
dir="${DEVICE_URI#capture:}"
if [ -n "$6" ]; then cat "$6"; else cat; fi > "$dir/.job-$1" && mv "$dir/.job-$1" "$dir/job-$1.out"
"""


@contextlib.contextmanager
def private_cups(root: Path, queue: str = "receipts"):
    """Yield (the server's socket, the folder where jobs land)."""
    cupsd = shutil.which("cupsd") or "/usr/sbin/cupsd"
    if not Path(cupsd).exists():
        pytest.fail("cupsd not found: apt-get install cups-daemon")
    require_tool("lpadmin", "cups-client")
    if os.geteuid() != 0:
        pytest.fail("a private cupsd runs its backend as root here (CI runs as root)")
    for d in ("spool", "tmp", "cache", "state", "ppd", "bin/backend", "out"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "out").chmod(0o777)
    for d in ("filter", "daemon", "cgi-bin", "notifier", "monitor", "driver"):
        if Path("/usr/lib/cups", d).exists():
            (root / "bin" / d).symlink_to(Path("/usr/lib/cups", d))
    backend = root / "bin" / "backend" / "capture"
    backend.write_text(BACKEND)
    backend.chmod(0o700)  # mode 0700: CUPS runs it as root
    sock = root / "cups.sock"
    (root / "cups-files.conf").write_text("\n".join([
        "FileDevice No", f"ServerRoot {root}", f"RequestRoot {root}/spool",
        f"TempDir {root}/tmp", f"CacheDir {root}/cache", f"StateDir {root}/state",
        f"ErrorLog {root}/error_log", f"AccessLog {root}/access_log",
        f"PageLog {root}/page_log", f"ServerBin {root}/bin", "DataDir /usr/share/cups", "",
    ]))  # fmt: skip
    (root / "cupsd.conf").write_text("\n".join([
        f"Listen {sock}", "LogLevel warn", "WebInterface No",
        "<Location />", "  Order allow,deny", "  Allow all", "</Location>",
        "<Location /admin>", "  Order allow,deny", "  Allow all", "</Location>", "",
    ]))  # fmt: skip
    server = subprocess.Popen(
        [cupsd, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {**os.environ, "CUPS_SERVER": str(sock)}
    try:
        for _ in range(600):  # until it answers (it takes its socket at once, then loads)
            if sock.exists() and subprocess.run(["lpstat", "-r"], env=env,
                                                capture_output=True).returncode == 0:  # fmt: skip
                break
            if server.poll() is not None:
                pytest.fail(f"cupsd ended: {(root / 'error_log').read_text(errors='replace')}")
            time.sleep(0.05)
        subprocess.run(["lpadmin", "-p", queue, "-E", "-v", f"capture:{root / 'out'}", "-m", "raw"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        yield sock, root / "out"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_job(out: Path, count: int = 1) -> list[Path]:
    """The jobs the queue's backend has written, once there are ``count`` of them (CUPS
    runs the backend when it gets to it: waited for, up to a generous minute)."""
    for _ in range(1200):
        jobs = sorted(out.glob("job-*.out"))
        if len(jobs) >= count:
            return jobs
        time.sleep(0.05)
    raise AssertionError(f"CUPS never delivered {count} job(s) to {out}")
