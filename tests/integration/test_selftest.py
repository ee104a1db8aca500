"""Issue 21: ``cashier selftest`` checks an install in a temporary training station and
says each step; a step that breaks (a library missing) is said with why, exit 1, never a
traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sqlite_only("its own training station, not the test database")


def selftest(tmp_path, *extra: str, code: str = "") -> subprocess.CompletedProcess:
    run = ["-c", code] if code else ["-m", "cashier", "selftest", *extra]
    return subprocess.run([sys.executable, *run], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})  # fmt: skip


def test_a_good_install_passes_every_step(tmp_path):
    done = selftest(tmp_path, "--keep", str(tmp_path / "station"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("✓") for line in lines) == 4 and "自检通过" in lines[-1]
    assert len(list((tmp_path / "station" / "data" / "receipts").glob("*.pdf"))) == 2


def test_a_broken_step_is_said_with_why(tmp_path):
    code = (
        "import sys; from unittest import mock; from cashier import selftest\n"
        "with mock.patch('cashier.services.printing.print_sale',"
        " side_effect=ImportError('libzbar.so.0: cannot open')):\n"
        "    sys.exit(selftest.run())\n"
    )
    done = selftest(tmp_path, code=code)
    assert done.returncode == 1
    assert "✗" in done.stdout and "ImportError: libzbar.so.0" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
