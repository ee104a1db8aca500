"""Shared fixtures: a fresh training station in a temporary data directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cashier.config import Settings, settings_from_dict
from cashier.operators import Role, SignedIn
from cashier.station import StationContext, open_station
from cashier.store.models import database


def require_tool(name: str, package: str) -> str:
    """A system tool the test needs; missing is a failure naming the package, never a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: apt-get install {package}")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_from_dict({}, data_dir=tmp_path / "data")


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
