"""Start-up imports only what the login screen needs (issue 8): each heavy library waits
for its first use. Behaviour, not timings: what is in ``sys.modules``, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Libraries the login screen never needs; each is imported where it is first used.
HEAVY = (
    "psycopg",  # PostgreSQL only: cashier.store.drivers hands it to peewee when opened
    "psycopg2",
    "reportlab",  # PDF receipts and reports
    "escpos",  # thermal printers
    "pyzbar",  # camera scanner
    "smartcard",  # the card reader (pyscard)
    "pypinyin",  # catalog import: 拼音 initials
    "qrcode",
    "PIL",
    "serial",  # serial scanner and customer display
    "plotext",  # the end-of-day report's chart
)


def loaded(script: str, *args: str) -> dict:
    """Run ``script`` in a fresh interpreter; it prints a JSON object."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def heavy_in(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_importing_the_app_imports_no_heavy_library():
    modules = loaded(
        """
        import json, sys
        import cashier.ui.app, cashier.cli, cashier.ui.screens.login, cashier.services.station
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert heavy_in(modules) == []


RUN_TO_LOGIN = """
    import json, sys
    from cashier.ui.app import CashierApp
    from cashier.config import load_settings
    from cashier.ui.screens.login import LoginScreen
    from cashier.services.station import open_station

    app = CashierApp(open_station(load_settings(None, sys.argv[1])))
    seen = {}

    def poll():
        if "login" not in seen and isinstance(app.screen, LoginScreen) and app.screen.is_mounted:
            seen["login"] = sorted(sys.modules)
        if "login" in seen and app.insurer is not None and "insurer" not in seen:
            seen["insurer"] = sorted(sys.modules)
            seen["screen"] = type(app.screen).__name__
            app.exit()

    def start():
        app.set_interval(0.01, poll)
        app.set_timer(60, app.exit)  # never hangs the test

    app.call_later(start)
    app.run(headless=True, size=(80, 24))
    print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> dict:
    """A training station run headless to its login screen, then until its sandbox insurer
    is connected: the modules loaded at each point."""
    data = tmp_path_factory.mktemp("data")
    loaded(RUN_TO_LOGIN, str(data))  # the first start seeds the demo data
    return loaded(RUN_TO_LOGIN, str(data))


#: The cashier's own modules that wait until after the login screen: the sale screen and
#: what it needs, the catalog (seeding imports it only into an empty database), printing
#: and receipts, the insurer (a worker connects it after the first paint).
LATER = (
    "cashier.services.catalog",
    "cashier.services.checkout",
    "cashier.services.printing",
    "cashier.ui.screens.sale",
    "cashier.insurer",
    "cashier.receipts",
    "textual.widgets._data_table",
)


def test_the_login_screen_needs_no_heavy_library(started):
    assert heavy_in(started["login"]) == []


def test_the_login_screen_waits_for_the_rest_of_the_cashier(started):
    early = [m for m in started["login"] if m.startswith(LATER)]
    assert early == []


def test_the_training_insurer_needs_no_heavy_library(started):
    assert started["screen"] == "LoginScreen"
    assert "cashier.insurer.client" in started["insurer"]  # it did connect
    assert heavy_in(started["insurer"]) == []


def test_postgresql_gets_psycopg_when_opened():
    """peewee is imported without psycopg; opening a PostgreSQL database hands it over, so
    a dead server is the driver's own error, not 'driver not found'."""
    result = loaded(
        """
        import json, sys
        from cashier.errors import CashierError
        from cashier.store import connect
        before = "psycopg" in sys.modules
        try:
            connect("postgresql://cashier:secret@127.0.0.1:9/cashier")  # port 9: discard
        except CashierError as exc:
            message = str(exc)
        import peewee
        print(json.dumps({"before": before, "message": message,
                          "peewee_has_psycopg": peewee.psycopg is not None}))
        """
    )
    assert not result["before"]
    assert result["peewee_has_psycopg"]
    assert "127.0.0.1" in result["message"] and "secret" not in result["message"]
    assert "driver not found" not in result["message"]
