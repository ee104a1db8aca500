"""Issue 21: a counter PC installed with no network. The wheelhouse (scripts/wheelhouse:
every locked dependency as a wheel, pyscard built once, the cashier's own wheel) installs
into a fresh venv with networking off (a network namespace with loopback only, pip
``--no-index``), and the installed cashier says its version and passes its self-test: a
training station, a self-pay sale with its PDF receipt, an insured visit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cashier import __version__
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("packaging, not the database")]


def offline(command: str, **kw) -> subprocess.CompletedProcess:
    """``command`` in a network namespace of its own: loopback up, nothing else."""
    return subprocess.run(
        ["unshare", "-n", "bash", "-c", f"ip link set lo up && {command}"],
        capture_output=True, text=True, timeout=900, **kw,
    )  # fmt: skip


def test_the_wheelhouse_installs_a_counter_with_no_network(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("a network namespace needs root (CI and the counter recipe run as root)")
    require_tool("unshare", "util-linux")
    require_tool("ip", "iproute2")
    wheels = tmp_path / "wheelhouse"
    built = subprocess.run([str(ROOT / "scripts" / "wheelhouse"), str(wheels)],
                           capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    names = {p.name.split("-")[0].lower() for p in wheels.glob("*.whl")}
    assert {"yibao_cashier", "pyscard", "pyusb", "tomlkit", "textual"} <= names
    assert not list(wheels.glob("*.tar.gz"))  # wheels only: nothing is built on the counter

    # No network at all: pypi.org is not reachable from in there.
    assert offline("python3 -c \"import socket; socket.create_connection(('pypi.org', 443), 5)\"").returncode != 0  # fmt: skip
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    prefix = tmp_path / "counter"
    installed = offline(f"{wheels}/install.sh {prefix}", env=env)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-3000:]
    assert f"cashier {__version__}" in installed.stdout
    cashier = prefix / "venv" / "bin" / "cashier"
    version = offline(f"{cashier} --version", env=env)
    assert (
        version.returncode == 0
        and version.stdout.strip() == f"cashier {__version__} (yibao-cashier)"
    )
    sale = offline(f"cd {tmp_path} && {cashier} selftest --keep {tmp_path / 'station'}", env=env)
    assert sale.returncode == 0, sale.stdout + sale.stderr
    assert "自检通过" in sale.stdout
    receipts = list((tmp_path / "station" / "data" / "receipts").glob("*.pdf"))
    assert len(receipts) == 2  # the self-pay sale's and the insured visit's, as PDF
    shutil.rmtree(prefix)
