"""The cashier in a real terminal: tmux at 80×24."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

CASHIER = str(Path(sys.executable).with_name("cashier"))


class Tmux:
    def __init__(self, tmux: str, data_dir: Path) -> None:
        self.tmux, self.name = tmux, f"cashier-test-{uuid.uuid4().hex[:8]}"
        self.data_dir = data_dir

    def start(self) -> None:
        env = f"CASHIER_DATA_DIR={self.data_dir} CASHIER_CONFIG= TERM=xterm-256color"
        subprocess.run(
            [self.tmux, "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
             f"env {env} {CASHIER}"],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        return subprocess.run(
            [self.tmux, "capture-pane", "-t", self.name, "-p"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        args = [self.tmux, "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys]
        subprocess.run(args, check=True)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared; the screen:\n{self.screen()}")

    def stop(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.name], capture_output=True)
