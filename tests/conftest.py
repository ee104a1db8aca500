"""Shared fixtures: a fresh training station in a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from cashier.config import Settings, settings_from_dict
from cashier.services.operators import Role, SignedIn
from cashier.services.station import StationContext, open_station
from cashier.store.models import database
from tests.support.tools import USE_POSTGRES


def pytest_configure(config):
    # The user's own configuration (~/.config/cashier, a technician's `cashier init`) is
    # never read by a test, here or in the processes it starts: a test's station is its own.
    import os
    import tempfile

    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cashier-test-config-")
    os.environ.pop("CASHIER_CONFIG", None)
    config.addinivalue_line(
        "markers", "sqlite_only(reason): tests SQLite itself; skipped when CASHIER_TEST_DB=postgres"
    )


def pytest_collection_modifyitems(config, items):
    if not USE_POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server on loopback for the whole session (started on first use)."""
    from tests.support.pg import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def pg_database(pg_server, request) -> str:
    """The URL of a fresh database on the session's server, dropped afterwards: empty, or,
    for a test that uses the ``station`` fixture, a copy of a training station's database
    (what ``open_station`` would make, copied rather than made: much faster)."""
    kind = "training" if "station" in request.fixturenames else "empty"
    name = pg_server.create_database(pg_server.template(kind))
    yield pg_server.url(name)
    if database.obj is not None and not database.is_closed():
        database.close()
    pg_server.drop_database(name)


@pytest.fixture
def settings(tmp_path: Path, request, monkeypatch) -> Settings:
    settings = settings_from_dict({}, data_dir=tmp_path / "data")
    if USE_POSTGRES:
        from dataclasses import replace

        url = request.getfixturevalue("pg_database")
        key_file = request.getfixturevalue("pg_server").key_file
        settings = replace(settings, database_url=url, key_file=key_file)
        # `cashier …` run by the test as a subprocess opens the same database, with its key
        monkeypatch.setenv("CASHIER_DATABASE_URL", url)
        monkeypatch.setenv("CASHIER_KEY_FILE", key_file)
    if request.node.get_closest_marker("pilot"):
        # Pilot presses keys as fast as the test machine allows, which under load can be
        # slower than a scanner; a wider gap keeps scan tests about behaviour, not timing.
        from dataclasses import replace

        from cashier.config import ScannerSettings

        settings = replace(settings, scanner=ScannerSettings(max_gap_ms=300))
    return settings


@pytest.fixture
def station(settings: Settings) -> StationContext:
    ctx = open_station(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def empty_station(settings: Settings) -> StationContext:
    """A station with the schema but no demo data."""
    ctx = open_station(settings, seed=False)
    yield ctx
    ctx.close()


@pytest.fixture
def insurer(station, settings):
    """The training station's insurer connection: its sandbox on loopback (3 s timeout)."""
    from dataclasses import replace

    from cashier.services.station import connect_insurer
    from cashier_sandbox import state

    connection = connect_insurer(replace(settings, insurer=replace(settings.insurer, timeout_s=3)))
    yield connection
    connection.close()
    state.sandbox_db.close()


@pytest.fixture
def cashier_1001() -> SignedIn:
    return SignedIn("1001", "王小美", Role.CASHIER)


@pytest.fixture
def supervisor_9001() -> SignedIn:
    return SignedIn("9001", "李组长", Role.SUPERVISOR)


@pytest.fixture(autouse=True)
def _close_database():
    yield
    if database.obj is not None and not database.is_closed():
        database.close()
