"""Running the crash driver (tests/support/crash_driver.py) as a subprocess, for the crash
matrices: each step it passed, and how it ended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cashier_sandbox import state

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    returncode: int
    steps: list[dict] = field(default_factory=list)
    stderr: str = ""

    def reached(self, step: str) -> bool:
        return any(s["step"] == step for s in self.steps)


def driver(
    data_dir: Path, url: str, crash_at: str, mode: str = "visit", kind: str = "clinic"
) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "CASHIER_CRASH_AT"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.crash_driver",
            str(data_dir),
            url,
            crash_at,
            mode,
            kind,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return Run(proc.returncode, steps, proc.stderr)


def wait_for_insurer(infno: str, timeout: float = 5.0) -> bool:
    """A message sent by a process that then died still reaches the insurer: wait until it
    has been handled (remembered by msgid), so the restart meets what the insurer did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.Message.select().where(state.Message.infno == infno).exists():
            return True
        time.sleep(0.05)
    return False


def expect_death(run: Run, crash_at: str) -> None:
    assert run.returncode == -signal.SIGKILL, (
        f"{crash_at}: the process did not die at its crash point "
        f"(exit {run.returncode}) {run.stderr[-1500:]}"
    )
    if crash_at.startswith("after_send:"):
        assert wait_for_insurer(crash_at.split(":", 1)[1]), f"{crash_at}: never reached insurer"
