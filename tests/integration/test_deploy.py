"""Issue 21: the counter PC recipe. Its systemd units pass ``systemd-analyze verify`` (the
cashier on tty1 through fbterm, restarted; the supervisor console), its udev rules read as
rules, its install script parses; docs/deploy.md says how to use them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

pytestmark = pytest.mark.sqlite_only("the recipe, not the database")


def test_the_units_verify(tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    cashier = Path(sys.executable).with_name("cashier")
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} == {"cashier-counter.service", "cashier-console.service"}
    for unit in units:
        text = unit.read_text(encoding="utf-8")
        # The executables as this machine has them (verify checks that they exist).
        text = text.replace("/opt/cashier/venv/bin/cashier", str(cashier))
        text = text.replace("/usr/bin/fbterm", "/bin/sh")
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    run = subprocess.run([analyze, "verify", *(str(tmp_path / u.name) for u in units)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    counter = (DEPLOY / "systemd" / "cashier-counter.service").read_text(encoding="utf-8")
    for line in ("Restart=always", "TTYPath=/dev/tty1", "Conflicts=getty@tty1.service",
                 "Wants=network-online.target time-sync.target pcscd.socket",
                 "TZ=Asia/Shanghai"):  # fmt: skip
        assert line in counter, line


def test_the_udev_rules_and_the_script_read():
    rule = re.compile(
        r'^([A-Z_]+(\{[^}]+\})?(==|=|\+=)"[^"]*")(, [A-Z_]+(\{[^}]+\})?(==|=|\+=)"[^"]*")*$'
    )
    lines = [ln for ln in (DEPLOY / "udev" / "60-cashier-devices.rules").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]  # fmt: skip
    assert lines and all(rule.match(ln) for ln in lines), [ln for ln in lines if not rule.match(ln)]
    assert any('GROUP="lp"' in ln for ln in lines) and any('GROUP="dialout"' in ln for ln in lines)
    for script in (DEPLOY / "install-counter.sh", ROOT / "scripts" / "wheelhouse"):
        subprocess.run(["bash", "-n", str(script)], check=True)
