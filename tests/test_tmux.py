"""The real `cashier` command in tmux at 80×24: a QR-identified clinic visit, the 医保码
typed as a scanner types it (one fast burst and Enter), the breakdown read off the screen."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cashier.money import Fen

from .conftest import require_tool

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


@pytest.fixture
def tmux(tmp_path):
    session = Tmux(require_tool("tmux", "tmux"), tmp_path / "data")
    yield session
    session.stop()


def sandbox_qr(data_dir: Path, person: str) -> str:
    out = subprocess.run(
        [CASHIER, "--data-dir", str(data_dir), "sandbox", "qr", person, "--payload"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CASHIER_CONFIG": ""},
    )
    return out.stdout.strip()


def test_qr_identified_clinic_visit_in_tmux(tmux):
    tmux.start()
    tmux.wait_for("演示工号")
    tmux.keys("1001", "Enter")
    time.sleep(0.5)  # the PIN field takes the focus
    tmux.keys("1234", "Enter")
    tmux.wait_for("请扫码")
    payload = sandbox_qr(tmux.data_dir, "P001")
    assert payload.startswith("ybm:")
    tmux.keys(payload, literal=True)  # the scanner's burst …
    tmux.keys("Enter")  # … and its Enter
    screen = tmux.wait_for(r"现金部分（应收）", timeout=30)
    assert "张*" in screen and "1101**********001X" in screen  # masked, never in full
    assert "11010519780312001X" not in screen
    total = re.search(r"医疗费总额\s+￥([0-9.]+)", screen)
    account = re.search(r"个人账户支付\s+￥([0-9.]+)", screen)
    assert total and account, screen
    # P001's demo order: the account (￥3000) pays the whole person part
    assert Fen.parse(total.group(1)) > Fen(0)
    assert re.search(r"账户余额 3000.00→[0-9.]+", screen), screen
    tmux.keys("F10")
    screen = tmux.wait_for(r"已打印", timeout=30)
    assert "上一笔" in screen and "TRAIN-01-00000001" in screen
    assert (tmux.data_dir / "receipts" / "TRAIN-01-00000001.pdf").exists()
