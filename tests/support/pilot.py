"""Driving the app with Pilot: log in, scan, wait for the workers."""

from __future__ import annotations

import asyncio

from cashier.services.station import open_station
from cashier.store.models import (
    Barcode,
    Item,
)
from cashier.ui.app import CashierApp
from cashier.ui.screens.sale import SaleScreen
from tests.support.insurer import admin


def barcode(code: str) -> str:
    return Barcode.select().join(Item).where(Item.code == code).first().barcode


#: Workers that run until the app ends (device and folder watchers): never waited for.
ENDLESS = {"orders", "serial-scanner", "camera", "card-reader", "outbox"}


async def settle(pilot) -> None:
    """Wait until every worker that ends has ended (the insurer, the printer, the display)."""
    for _ in range(10):  # a worker's callback may start the next one (identify → presettle)
        await pilot.pause()
        running = [w for w in pilot.app.workers if w.group not in ENDLESS and not w.is_finished]
        if not running:
            break
        await pilot.app.workers.wait_for_complete(running)
    await pilot.pause()


async def until(pilot, condition, steps: int = 400) -> None:
    """Wait for what the app does (a screen to open, a sale to be saved), a message round at
    a time: on a loaded machine a round takes longer, never a fixed time."""
    for _ in range(steps):
        if condition():
            return
        await pilot.pause()
        if condition():
            return
        await settle(pilot)
    raise AssertionError("the app never got there")


async def login(pilot, code="1001", pin="1234") -> None:
    await pilot.press(*code, "enter", *pin, "enter")
    await settle(pilot)


async def scan(pilot, code: str) -> None:
    """A scanner types fast and ends with Enter; Pilot's presses are that fast."""
    await pilot.press(*code, "enter")
    await pilot.pause(0.1)


class Counter:
    """The app at 80×24 with a cashier logged in, and the keys pressed since the last scan."""

    def __init__(self, app: CashierApp, pilot) -> None:
        self.app, self.pilot = app, pilot
        self.keys = 0

    @property
    def sale(self) -> SaleScreen:
        return next(s for s in self.app.screen_stack if isinstance(s, SaleScreen))

    @property
    def sandbox(self):
        return self.app.insurer.sandbox

    def qr(self, person: str, **extra) -> str:
        return admin(self.sandbox, "/sandbox/admin/qr", {"person": person, **extra})["payload"]

    async def scan(self, text: str) -> None:
        """A scanner's burst: every character, then Enter, as fast as Pilot presses."""
        await self.pilot.press(*text, "enter")
        await settle(self.pilot)
        self.keys = 0

    async def press(self, *keys: str) -> None:
        self.keys += len(keys)
        await self.pilot.press(*keys)
        await settle(self.pilot)

    def notices(self) -> str:
        return "\n".join(n.message for n in self.app._notifications)

    async def diagnose(self, code: str = "J06.900", name: str = "急性上呼吸道感染") -> None:
        """Answer the walk-in bill's diagnosis dialog. The fields are filled directly: typed
        by Pilot, a code and Enter come as fast as a scanner's burst."""
        from textual.widgets import Input

        from cashier.ui.dialogs.diagnosis import DiagnosisDialog

        dialog = self.app.screen
        assert isinstance(dialog, DiagnosisDialog), f"no diagnosis dialog: {dialog!r}"
        dialog.query_one("#diag-code", Input).value = code
        field = dialog.query_one("#diag-name", Input)
        field.value = name
        dialog.on_input_submitted(Input.Submitted(field, name))
        await settle(self.pilot)


async def open_counter(settings) -> tuple[CashierApp, object]:
    app = CashierApp(open_station(settings))
    return app


async def start(app: CashierApp, pilot) -> Counter:
    await login(pilot)
    for _ in range(200):
        if app.insurer is not None:
            break
        await asyncio.sleep(0.05)
    assert app.insurer is not None, "the training sandbox did not start"
    return Counter(app, pilot)
