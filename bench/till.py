"""The real app, headless at 80×24, driven with Pilot as a cashier drives it.

The keystroke, latency and memory benchmarks share this harness: a training
station in a data directory of its own, its sandbox insurer on loopback, a
cashier logged in, and every key that is not part of a scanner's burst counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.worker import WorkerCancelled

from cashier.config import ScannerSettings, Settings, env_flag, settings_from_dict

#: Workers that run until the app ends (device and folder watchers): never waited for.
ENDLESS = {"orders", "serial-scanner", "camera", "card-reader", "outbox"}

#: The routine three-item pharmacy sale: three different boxes, ¥75.10 together.
THREE_ITEMS = ("Y00001", "Y00004", "Y00010")
#: The sale ``timed_cash_sale`` completes: two boxes and a service, nothing to run out of.
CASH_SALE = ("Y00001", "Y00004", "S00001")


def timed_cash_sale(station_id: str, who) -> float:
    """One sale of :data:`CASH_SALE` for exact cash through the services (no screen), as
    the sale screen makes it; the seconds ``Checkout.complete`` took (its transaction)."""
    from cashier.services import catalog
    from cashier.services.checkout import Checkout

    co = Checkout(station_id, who)
    for code in CASH_SALE:
        co.add(catalog.find_by_scan(code))
    plan = co.start_payment()
    plan.exact_cash()
    started = time.perf_counter()
    co.complete(plan)
    return time.perf_counter() - started


def without_card_reader() -> None:
    """Point pcsc-lite at a socket that does not exist, before the app first asks for it.

    The card watcher then finds no PC/SC service and looks again every 10 s, quietly (a
    counter with no reader, the usual case), instead of reading cards that another run
    on this machine puts into the shared virtual reader. For a benchmark process only:
    pcsc-lite keeps the socket name it first read for the life of the process, so a test
    process that called this would lose the PC/SC daemon for its card tests.
    """
    os.environ.setdefault("PCSCLITE_CSOCK_NAME", "/nonexistent/bench-no-pcscd.comm")


@dataclass(frozen=True)
class ExternalInsurer:
    """A sandbox insurer in a process of its own, and a configuration pointing at it."""

    url: str
    config: Path  # a configuration file with ``[insurer] url``


@contextlib.contextmanager
def external_insurer(folder: Path, *, server_timing: bool = False) -> Iterator[ExternalInsurer]:
    """The sandbox insurer served by a process of its own (``cashier sandbox``), as a real
    counter's insurer is across the network; stopped after. ``server_timing``: each answer
    says its handling time (``Server-Timing``), the latency's baseline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    config = folder / "external.toml"
    config.write_text(f'[insurer]\nurl = "{url}"\n', encoding="utf-8")
    cashier = Path(sys.executable).with_name("cashier")
    command = [str(cashier), "sandbox", "--port", str(port), "--data-dir", str(folder / "insurer")]
    server = subprocess.Popen(
        command + (["--server-timing"] if server_timing else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # its answer on the port, not a time, says it is up
            if server.poll() is not None:
                raise RuntimeError("the sandbox insurer did not start")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield ExternalInsurer(url, config)
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_settings(data_dir: Path, *, kind: str = "clinic", insurer_url: str = "") -> Settings:
    """A training station in ``data_dir``; Pilot's keys as a scanner with a 300 ms gap
    (as in the Pilot tests: a loaded machine presses slower than a real scanner).
    ``insurer_url``: an insurer elsewhere (:func:`external_insurer`), not the sandbox inside."""
    raw = {"insurer": {"url": insurer_url}} if insurer_url else {}
    settings = settings_from_dict(raw, data_dir=data_dir)
    return replace(
        settings,
        kind=kind,
        scanner=ScannerSettings(max_gap_ms=300),
        low_spec=bool(env_flag("CASHIER_LOW_SPEC")),  # bench.onecore: the low-spec theme
    )


def key_event(app, key: str) -> events.Key:
    """The key event Pilot's ``press`` sends ``app`` for ``key`` (a character or a key name)."""
    import unicodedata

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char).set_sender(app)


def _queued(app) -> int:
    """Messages waiting in the app's and every screen's and widget's queue."""
    pumps = [app, *app.screen_stack]
    for screen in app.screen_stack:
        pumps.extend(screen.walk_children())
    return sum(pump._message_queue.qsize() for pump in pumps)


async def settle(pilot) -> None:
    """Wait until nothing is queued anywhere in the app and every worker that ends has
    ended (the insurer, the printer, the display), callbacks included.

    Pilot's own ``pause()`` waits for the process to look idle, in 20 ms steps, which
    adds many minutes to a thousand sales; this waits for exactly what it needs.
    """
    app = pilot.app
    quiet = 0
    while quiet < 2:  # twice in a row: a handler may post as the last queue empties
        await pilot.pause(0)
        running = [w for w in app.workers if w.group not in ENDLESS and not w.is_finished]
        if running:
            with contextlib.suppress(WorkerCancelled):  # a newer one took its place
                await app.workers.wait_for_complete(running)
            quiet = 0
        elif _queued(app):
            quiet = 0
        else:
            quiet += 1
            await asyncio.sleep(0.001)


class Till:
    """The app with a cashier logged in, counting the keys pressed since :meth:`start_count`."""

    def __init__(self, app, pilot) -> None:
        self.app, self.pilot = app, pilot
        self.keys = 0
        self.scans = 0

    @property
    def sale(self):
        """The sale screen (under any dialog or the payment screen)."""
        from cashier.ui.screens.sale import SaleScreen

        return next(s for s in self.app.screen_stack if isinstance(s, SaleScreen))

    @property
    def sandbox(self):
        """The training station's sandbox insurer (``RunningSandbox``); None when the
        insurer is another process."""
        return self.app.insurer.sandbox

    @property
    def insurer_url(self) -> str:
        """Where the insurer answers: the sandbox inside, or the configured one."""
        return self.sandbox.url if self.sandbox is not None else self.app.ctx.settings.insurer.url

    def start_count(self) -> None:
        self.keys = self.scans = 0

    async def burst(self, text: str) -> None:
        """A keyboard-wedge scanner's characters, back to back as a scanner sends them,
        and handled by the app; the Enter that ends the burst is :meth:`enter`."""
        for char in text:
            self.app.post_message(key_event(self.app, char))
        await self.pilot.pause(0)

    def enter(self) -> None:
        """The Enter that ends a scanner's burst."""
        self.app.post_message(key_event(self.app, "enter"))

    async def scan(self, text: str) -> None:
        """A scanner's burst and its Enter, and what it started finished; no key counted."""
        await self.burst(text)
        self.enter()
        await settle(self.pilot)
        self.scans += 1

    async def press(self, *keys: str) -> None:
        """Keys the cashier presses, counted; each handled, and what it started finished,
        before the next."""
        for key in keys:
            self.keys += 1
            self.app.post_message(key_event(self.app, key))
            await settle(self.pilot)

    async def pay_cash(self, how: str) -> tuple[str, ...]:
        """Take the sale in cash: ``exact`` (F10), or ``note``: F9, then ¥100 notes (F8)
        until the payment screen closes. The keys pressed."""
        from cashier.ui.screens.payment import PaymentScreen

        if how == "exact":
            await self.press("f10")
            return ("f10",)
        await self.press("f9")
        pressed = ["f9"]
        for _ in range(20):
            if not isinstance(self.app.screen, PaymentScreen):
                break
            await self.press("f8")
            pressed.append("f8")
        return tuple(pressed)

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The sandbox's admin endpoint (a fresh 医保码, a fault), as the tests use it."""
        request = urllib.request.Request(
            self.insurer_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def qr(self, person: str) -> str:
        """A fresh dynamic 医保码 for a sandbox person: the text the scanner types."""
        return self.admin("/sandbox/admin/qr", {"person": person})["payload"]


@asynccontextmanager
async def open_till(settings: Settings, *, insurer: bool = True) -> AsyncIterator[Till]:
    """A fresh app on ``settings`` at 80×24, the demo cashier logged in, and (``insurer``)
    its sandbox insurer up. Closes the station's and the sandbox's databases after."""
    from cashier.services.station import open_station
    from cashier.ui.app import CashierApp
    from cashier.ui.screens.sale import SaleScreen

    ctx = open_station(settings)
    app = CashierApp(ctx)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            till = Till(app, pilot)
            await till.press(*"1001", "enter", *"1234", "enter")
            if not isinstance(app.screen, SaleScreen):
                raise RuntimeError("the demo cashier 1001 could not log in")
            if insurer:
                for _ in range(400):
                    if app.insurer is not None:
                        break
                    await asyncio.sleep(0.025)
                if app.insurer is None:
                    raise RuntimeError("the training station's sandbox insurer did not start")
            till.start_count()
            yield till
    finally:
        ctx.close()
        from cashier_sandbox import state

        if state.sandbox_db.obj is not None and not state.sandbox_db.is_closed():
            state.sandbox_db.close()


def barcode(code: str) -> str:
    """The first barcode of a catalog item (the one a box carries)."""
    from cashier.store.models import Barcode, Item

    return Barcode.select().join(Item).where(Item.code == code).first().barcode


def new_order(certno: str, visit: str) -> None:
    """A copy of the demo clinic order of ``certno`` under a new visit number: pending again,
    so the next scan of that patient loads it (each visit bills its order)."""
    from cashier.services import orders

    demo = json.loads(orders.demo_orders_text())
    order = next(o for o in demo["orders"] if o["patient"]["certno"] == certno)
    orders.import_orders(
        text=json.dumps({"orders": [{**order, "visit": visit}]}), fmt="json", source="bench"
    )
