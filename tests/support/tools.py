"""System tools the tests need, and which database they run on."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """A system tool the test needs; missing is a failure naming the package, never a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: apt-get install {package}")
    return path


#: ``CASHIER_TEST_DB=postgres``: every test's database is a fresh one on a PostgreSQL
#: server the session starts on loopback (tests/support/pg.py); otherwise SQLite in tmp_path.
USE_POSTGRES = os.environ.get("CASHIER_TEST_DB", "sqlite").lower() in ("postgres", "postgresql")


@contextlib.contextmanager
def local_zone(name: str):
    """The process's local time zone set to ``name`` (``TZ``) for a while, then put back."""
    import time

    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
