"""Running ``cashier`` as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, data_dir: Path, env: dict | None = None, stdin: str = ""):
    full_env = {**os.environ, "CASHIER_DATA_DIR": str(data_dir), **(env or {})}
    full_env.pop("CASHIER_CONFIG", None)
    full_env["XDG_CONFIG_HOME"] = str(data_dir / "xdg-config")  # never the user's real config
    return subprocess.run(
        [sys.executable, "-m", "cashier", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
    )


#: The training station's supervisor, as a script gives it to a privileged command.
SUPERVISOR = ("--operator", "9001", "--pin-stdin")
SUPERVISOR_PIN = "9999\n"


def run_as_supervisor(*args: str, data_dir: Path, env: dict | None = None, stdin: str = ""):
    """``run`` a privileged command as the training station's supervisor 9001 (PIN first on
    standard input, then whatever the command reads)."""
    return run(*args, *SUPERVISOR, data_dir=data_dir, env=env, stdin=SUPERVISOR_PIN + stdin)


def assert_one_line_error(proc) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("cashier: ")
