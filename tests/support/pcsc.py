"""A private pcscd with the vsmartcard virtual reader, for tests that use the real PC/SC stack.

Only one pcscd can run on a machine (its socket is ``/run/pcscd/pcscd.comm``),
so :func:`running_pcscd`:

* takes a file lock first, so two test runs on one machine wait for each other;
* stops a pcscd that an earlier run of these tests left behind (its pid is
  recorded in ``PID_FILE``) with SIGTERM, and fails, naming the pid, when
  a pcscd that these tests did not start is running;
* writes a reader.conf.d file for the virtual reader (``Virtual PCD``, TCP
  port 40000), starts ``pcscd -f -c DIR`` and waits until pyscard lists
  ``Virtual PCD 00 00``;
* stops it at the end (SIGTERM, then SIGKILL after 5 s).

A missing ``pcscd``, vpcd driver or pyscard fails the test with the
packages to install; it never skips.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cashier_sandbox.virtualcard import SocialSecurityCard, run_vpcd

READER = "Virtual PCD 00 00"
VPCD_PORT = 40000
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
RUN_DIR = Path("/run/pcscd")
SOCKET = RUN_DIR / "pcscd.comm"
DAEMON_PID_FILE = RUN_DIR / "pcscd.pid"
LOCK_FILE = Path("/tmp/cashier-tests-pcscd.lock")
PID_FILE = Path("/tmp/cashier-tests-pcscd.pid")
INSTALL = "apt-get install pcscd vsmartcard-vpcd"

READER_CONF = f"""\
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x{VPCD_PORT:04X}
LIBPATH      {VPCD_DRIVER}
CHANNELID    0x{VPCD_PORT:04X}
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not running anything.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _socket_answers() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(SOCKET))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds (looked at every ``step``)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def _terminate(pid: int, timeout: float = 5.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not _alive(pid), timeout):
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), timeout)
    except ProcessLookupError:
        pass


def _clear_leftovers() -> None:
    """Stop our own pcscd from an earlier run; refuse to touch anyone else's."""
    ours = _read_pid(PID_FILE)
    if ours is not None and _alive(ours):
        _terminate(ours)
    PID_FILE.unlink(missing_ok=True)
    running = _read_pid(DAEMON_PID_FILE)
    if running is not None and _alive(running):
        pytest.fail(
            f"another pcscd (pid {running}) is running, not started by the tests: stop it "
            "(systemctl stop pcscd.socket pcscd, or kill it) and run the tests again"
        )
    if SOCKET.exists():
        if _socket_answers():
            pytest.fail(
                f"{SOCKET} answers but no pcscd pid is known (systemd socket activation?): "
                "systemctl stop pcscd.socket pcscd, then run the tests again"
            )
        # Left by a pcscd that died: pcscd itself refuses to start over it.
        SOCKET.unlink(missing_ok=True)
        DAEMON_PID_FILE.unlink(missing_ok=True)


def _readers() -> list[str] | None:
    """What pyscard lists, or None while the service does not answer."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        return list(readers) if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def card_present(reader: str = READER) -> bool:
    """Whether pcscd sees a card in ``reader`` (pyscard directly, not the code under test)."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False
    try:
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
        )
        return hresult == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


class PcscDaemon:
    """One pcscd process serving the virtual reader; start and stop it as often as needed."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.conf_dir = workdir / "reader.conf.d"
        self.log_path = workdir / "pcscd.log"
        self.process: subprocess.Popen | None = None
        self.started_in: float | None = None  # seconds, the last start

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self, timeout: float = 10.0) -> None:
        """Start pcscd and wait until pyscard lists the virtual reader."""
        if self.running:
            return
        pcscd = shutil.which("pcscd") or (
            "/usr/sbin/pcscd" if Path("/usr/sbin/pcscd").exists() else None
        )
        if pcscd is None:
            pytest.fail(f"pcscd not found: {INSTALL}")
        if not VPCD_DRIVER.exists():
            pytest.fail(f"virtual reader driver {VPCD_DRIVER} not found: {INSTALL}")
        _clear_leftovers()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "vpcd").write_text(READER_CONF)
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [pcscd, "--foreground", "--config", str(self.conf_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        PID_FILE.write_text(str(self.process.pid))

        def ready() -> bool:
            if not self.running:
                return True
            readers = _readers()
            return readers is not None and READER in readers

        if not wait_until(ready, timeout) or not self.running:
            self.stop()
            pytest.fail(f"pcscd did not list {READER!r} within {timeout} s; its log:\n{self.log()}")
        self.started_in = time.monotonic() - began

    def stop(self, timeout: float = 5.0) -> None:
        """Stop pcscd (SIGTERM, then SIGKILL) and wait until its socket is gone."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout)
            PID_FILE.unlink(missing_ok=True)
        wait_until(lambda: not SOCKET.exists(), timeout)


@contextmanager
def _machine_lock(timeout: float = 120.0) -> Iterator[None]:
    with LOCK_FILE.open("a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test run has held {LOCK_FILE} for {timeout} s")
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def running_pcscd(workdir: Path) -> Iterator[PcscDaemon]:
    """pcscd with the virtual reader, started now and stopped at the end (see the module doc)."""
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        pytest.fail(
            "pyscard not importable: apt-get install libpcsclite-dev swig, then pip install pyscard"
        )
    with _machine_lock():
        daemon = PcscDaemon(workdir)
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()


@contextmanager
def inserted(card: SocialSecurityCard, stop: threading.Event | None = None):
    """The card in the virtual reader (pcscd sees it) until the block ends; then it is out."""
    stop = stop or threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            run_vpcd(card, stop=stop)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve, name="virtual card", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: card_present() or bool(failures), 5), "pcscd did not see the card"
        assert not failures, failures
        yield stop
    finally:
        stop.set()
        thread.join(5)
        assert wait_until(lambda: not card_present(), 5), "pcscd still sees the card"
