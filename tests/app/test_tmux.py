"""The real `cashier` command in tmux at 80×24: a QR-identified clinic visit, the 医保码
typed as a scanner types it (one fast burst and Enter), the breakdown read off the screen."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from cashier.domain.money import Fen
from tests.support.tmux import CASHIER, Tmux
from tests.support.tools import require_tool


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
        # a PC left on UTC, whatever zone this test process was put on by an earlier test:
        # the code is dated in the business zone, as the counter reading it (it died eight
        # hours early before)
        env={**os.environ, "CASHIER_CONFIG": "", "TZ": "UTC"},
    )
    return out.stdout.strip()


def test_qr_identified_clinic_visit_in_tmux(tmux):
    tmux.start()
    tmux.wait_for("演示工号")
    tmux.keys("1001", "Enter", "1234", "Enter")  # typed in one go: the PIN goes to its field
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
