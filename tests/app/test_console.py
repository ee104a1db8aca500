"""The supervisor console: supervisors only, no devices, served to a browser by textual-serve."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from cashier.services.station import open_station
from cashier.ui.console import ConsoleApp, ConsoleHome
from cashier.ui.screens.login import LoginScreen
from cashier.ui.screens.lookup import LookupScreen
from tests.support.pilot import settle


@pytest.mark.pilot
async def test_console_is_for_supervisors_and_has_no_devices(settings):
    app = ConsoleApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"1001", "enter", *"1234", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.operator is None
        # Refused: both fields empty and the code focused (issue 19, item 10), so the next
        # code is typed afresh, never appended to "1001".
        assert app.screen.query_one("#code").value == "" == app.screen.query_one("#pin").value
        assert app.focused is app.screen.query_one("#code")
        assert "收费组长" in str(app.screen.query_one("#login-message").render())
        await pilot.press(*"9001", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConsoleHome)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        groups = {w.group for w in app.workers}
        assert not groups & {"card-reader", "orders", "serial-scanner", "camera"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cashier_console_serves_a_browser_page(tmp_path):
    port = free_port()
    env = {**os.environ, "CASHIER_CONFIG": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cashier.cli", "--data-dir", str(tmp_path / "d"), "console",
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        page = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    page = r.read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"<html" in page.lower(), proc.stderr.read1() if proc.poll() is not None else page
        text = page.decode("utf-8")
        assert "组长控制台" in text and "已关闭" in text  # the page speaks Chinese
        assert "Session ended" not in text and "googleapis" not in text  # no foreign host
        hosts = {h for h in re.findall(r'(?:src|href)="(?:https?|wss?)://([^/"]+)', text)}
        assert hosts <= {f"127.0.0.1:{port}"}, hosts  # only the address the browser used
        assert f"ws://127.0.0.1:{port}/" in text
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_public_url_builds_the_page_behind_a_proxy():
    from aiohttp.test_utils import TestClient, TestServer

    from cashier.ui.console import console_server

    server = console_server("true", host="127.0.0.1", port=free_port(), title="组长控制台",
                            public_url="https://console.clinic.lan/")  # fmt: skip
    async with TestClient(TestServer(await server._make_app())) as client:
        response = await client.get("/", headers={"Host": "10.0.0.5:8765"})
        page = await response.text()
    assert "wss://console.clinic.lan/" in page and "10.0.0.5" not in page


@pytest.mark.pilot
async def test_repeated_wrong_pins_slow_the_next_try(settings):
    """The first wrong PIN may be a typo; from the second on the PIN field waits (1, 2, 4 …
    seconds) before it takes another: a guesser at the console is slowed."""
    app = ConsoleApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"9001", "enter", *"0000", "enter")
        await settle(pilot)
        pin = app.screen.query_one("#pin")
        assert not pin.disabled and "再错 4 次" in str(
            app.screen.query_one("#login-message").render()
        )
        await pilot.press(*"1111", "enter")
        await settle(pilot)
        message = str(app.screen.query_one("#login-message").render())
        assert pin.disabled and "请稍候 1 秒" in message and "再错 3 次" in message
        app.screen._retry_allowed()  # what the timer does when the wait is over
        await pilot.pause()
        assert not pin.disabled and app.focused is pin
