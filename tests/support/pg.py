"""A throwaway PostgreSQL server on loopback for the tests.

One server per test session (initdb in a temporary directory, ``pg_ctl start`` on a
free port with its socket in that directory, ``pg_ctl stop`` and the directory removed
at the end); each test gets a fresh, empty database of its own, dropped afterwards.
Missing binaries are a failure naming the package to install, never a skip.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

PACKAGE = "postgresql"
USER = "app"


def pg_bindir() -> Path:
    """The directory of initdb/pg_ctl: PATH, pg_config, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "pg_ctl").exists():
            return Path(out.stdout.strip())
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install {PACKAGE}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """A running server; ``url(name)`` is a peewee/psycopg URL for one of its databases."""

    bindir: Path
    root: Path
    port: int = 0
    _as_postgres: bool = False
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))
    _templates: set[str] = field(default_factory=set)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {result.stdout}{result.stderr}")
        return result

    def start(self) -> PgServer:
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -k {self.root} "
            # a test server: durability traded for speed (the data is thrown away)
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._options = options
        for _attempt in range(5):
            self.port = _free_port()
            started = self._run(
                "pg_ctl", "-D", str(self.datadir), "-w", "-t", "60",
                "-l", str(self.root / "server.log"),
                "start", "-o", f"{options} -p {self.port}",
                check=False,
            )  # fmt: skip
            if started.returncode == 0:
                return self
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")

    def stop(self) -> None:
        if self.port:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop",
                      check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def key_file(self) -> str:
        """The station key every database of this server is keyed with (counters sharing a
        database share one key file)."""
        return str(self.root / "station.key")

    def stop_server(self) -> None:
        """The server goes away (an upgrade, a reboot): every connection is cut."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-t", "60",
                  "-l", str(self.root / "server.log"),
                  "start", "-o", f"{self._options} -p {self.port}")  # fmt: skip

    def restart(self) -> None:
        self.stop_server()
        self.start_server()

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str = "template0", prefix: str = "t") -> str:
        name = f"{prefix}{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return name

    def template(self, kind: str) -> str:
        """A template database, made once: ``empty`` (no tables) or ``training`` (what
        ``open_station`` makes of the default training settings: schema and demo data).
        Copying one is about 0.05 s; migrating and seeding anew is over a second."""
        name = f"tpl_{kind}"
        if name in self._templates:
            return name
        self.admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        if kind == "training":
            from cashier.config import settings_from_dict
            from cashier.services.station import open_station
            from cashier.store.models import database

            data = Path(tempfile.mkdtemp(prefix="cashier-tpl-"))
            try:
                settings = settings_from_dict({}, data_dir=data)
                settings = replace(settings, database_url=self.url(name), key_file=self.key_file)
                open_station(settings).close()
            finally:
                if database.obj is not None and not database.is_closed():
                    database.close()
                shutil.rmtree(data, ignore_errors=True)
        self._templates.add(name)
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server() -> PgServer:
    bindir = pg_bindir()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg not installed: pip install -e '.[postgres]'")
    root = Path(tempfile.mkdtemp(prefix="cashier-pg-"))
    server = PgServer(bindir, root)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise
