"""Low-spec mode (docs/low-spec.md): ``low_spec = true`` or ``CASHIER_LOW_SPEC=1`` gives the
terminal's own 16 colours, no animation, no blinking cursor and a slower drop-folder poll; read
from the TOML and the environment, seen through Pilot at 80×24 and in the real `cashier`
command in tmux at 80×24 with ``TERM=linux`` (no true colour)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from rich.color import ColorType
from textual.app import App
from textual.filter import ANSIToTruecolor

from cashier.config import ConfigError, load_settings
from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from cashier.ui.screens.login import LoginScreen
from cashier.ui.screens.sale import SaleScreen
from tests.support.pilot import login, settle
from tests.support.tmux import CASHIER, Tmux
from tests.support.tools import require_tool


# -- the setting ---------------------------------------------------------------------------
def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cashier.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_low_spec_is_off_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("CASHIER_LOW_SPEC", raising=False)
    path = write_config(tmp_path, 'station_id = "MZ-01"\n')
    assert load_settings(path, tmp_path / "data").low_spec is False


def test_low_spec_from_the_toml(tmp_path, monkeypatch):
    monkeypatch.delenv("CASHIER_LOW_SPEC", raising=False)
    path = write_config(tmp_path, "low_spec = true\n")
    assert load_settings(path, tmp_path / "data").low_spec is True
    with pytest.raises(ConfigError, match="low_spec 应为true/false"):
        load_settings(write_config(tmp_path, 'low_spec = "yes"\n'), tmp_path / "data")


@pytest.mark.parametrize(
    ("toml", "env", "expected"),
    [
        ("", "1", True),
        ("", "true", True),
        ("", "ON", True),
        ("low_spec = true\n", "0", False),  # the environment wins, both ways
        ("low_spec = true\n", "false", False),
        ("low_spec = true\n", "", True),  # empty: not set
    ],
)
def test_low_spec_from_the_environment(tmp_path, monkeypatch, toml, env, expected):
    monkeypatch.setenv("CASHIER_LOW_SPEC", env)
    path = write_config(tmp_path, toml)
    assert load_settings(path, tmp_path / "data").low_spec is expected


def test_a_wrong_environment_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CASHIER_LOW_SPEC", "maybe")
    with pytest.raises(ConfigError, match="CASHIER_LOW_SPEC"):
        load_settings(write_config(tmp_path, ""), tmp_path / "data")


# -- the app through Pilot at 80×24 --------------------------------------------------------
def colour_types(app) -> set[ColorType]:
    """The kinds of colour in what the current screen would send to the terminal."""
    kinds = set()
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if segment.style is not None:
                for colour in (segment.style.color, segment.style.bgcolor):
                    if colour is not None:
                        kinds.add(colour.type)
    return kinds


def assert_low_spec_look(app) -> None:
    assert app.current_theme.ansi, app.theme
    assert app.animation_level == "none"
    # Only the terminal's own colours: nothing in RGB or 256 colours, nothing converted.
    assert colour_types(app) <= {ColorType.DEFAULT, ColorType.STANDARD}, colour_types(app)
    assert ColorType.STANDARD in colour_types(app)  # still coloured, just the 16 of the terminal
    assert not any(isinstance(f, ANSIToTruecolor) for f in app.get_line_filters())
    focused = app.focused
    assert focused is not None and focused.cursor_blink is False
    assert not focused._blink_timer._active.is_set()  # the 0.5 s blink timer is paused


@pytest.mark.pilot
async def test_login_and_sale_screens_in_low_spec_mode(settings, monkeypatch):
    from cashier.services import orders

    intervals: list[float] = []

    def watch_folder(folder, stop, on_result, interval=2.0):
        intervals.append(interval)

    monkeypatch.setattr(orders, "watch_folder", watch_folder)
    app = CashierApp(open_station(replace(settings, low_spec=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert app.theme == "ansi-dark"
        assert_low_spec_look(app)  # the 工号 field has the focus
        await pilot.press(*"1001", "enter")
        await pilot.pause()
        assert_low_spec_look(app)  # now the PIN field
        await pilot.press(*"1234", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert_low_spec_look(app)  # the entry field
        assert str(app.screen.query_one("#total-caption").render()) == "应收"
    assert intervals == [5.0]  # the clinic's drop folder: every 5 s instead of every 2 s


@pytest.mark.pilot
async def test_an_ansi_theme_named_by_textual_theme_is_kept(settings, monkeypatch):
    # What TEXTUAL_THEME=ansi-light does (Textual reads it once, on import): the default theme.
    monkeypatch.setattr(App.__dict__["theme"], "_default", "ansi-light")
    app = CashierApp(open_station(replace(settings, low_spec=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "ansi-light"
        assert_low_spec_look(app)


@pytest.mark.pilot
async def test_without_low_spec_nothing_changes(settings, monkeypatch):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert not app.current_theme.ansi
        assert ColorType.TRUECOLOR in colour_types(app)
        assert app.focused.cursor_blink is True


# -- the real command in tmux at 80×24, TERM=linux -----------------------------------------
class PlainTerminal(Tmux):
    """The cashier in a terminal without true colour (TERM=linux, no COLORTERM), low-spec on."""

    def start(self) -> None:
        env = (
            f"-u COLORTERM CASHIER_DATA_DIR={self.data_dir} CASHIER_CONFIG= "
            "CASHIER_LOW_SPEC=1 TERM=linux"
        )
        subprocess.run(
            [self.tmux, "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
             f"env {env} {CASHIER}"],
            check=True,
        )  # fmt: skip

    def screen_with_colours(self) -> str:
        return subprocess.run(
            [self.tmux, "capture-pane", "-t", self.name, "-p", "-e"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def output_while_idle(self, seconds: float, into: Path) -> int:
        """Bytes the app sends to the terminal while nobody touches it."""
        subprocess.run([self.tmux, "pipe-pane", "-o", "-t", self.name, f"cat > {into}"], check=True)
        time.sleep(seconds)
        subprocess.run([self.tmux, "pipe-pane", "-t", self.name], check=True)
        time.sleep(0.2)
        return into.stat().st_size if into.exists() else 0


@pytest.fixture
def plain_terminal(tmp_path):
    session = PlainTerminal(require_tool("tmux", "tmux"), tmp_path / "data")
    yield session
    session.stop()


def demo_item() -> dict[str, str]:
    text = resources.files("cashier").joinpath("data/demo_catalog.csv").read_text("utf-8")
    return next(csv.DictReader(io.StringIO(text)))


def assert_no_rgb(screen: str) -> None:
    """No 24-bit (38;2 / 48;2) or 256-colour (38;5 / 48;5) colour reached the terminal."""
    for sequence in ("38;2;", "48;2;", "38;5;", "48;5;"):
        assert sequence not in screen, screen


def test_low_spec_sale_in_tmux_with_term_linux(plain_terminal, tmp_path):
    assert os.path.exists(CASHIER)
    plain_terminal.start()
    plain_terminal.wait_for("演示工号")
    assert_no_rgb(plain_terminal.screen_with_colours())
    plain_terminal.keys(
        "1001", "Enter", "1234", "Enter"
    )  # typed in one go: the PIN goes to its field
    screen = plain_terminal.wait_for("请扫码")
    assert "应收" in screen and "┏━┓" in screen  # the caption and its big figure (0.00)
    assert_no_rgb(plain_terminal.screen_with_colours())
    item = demo_item()
    plain_terminal.keys(item["barcode"], literal=True)
    plain_terminal.keys("Enter")
    screen = plain_terminal.wait_for(item["name"])
    assert "应收" in screen and item["price"] in screen, screen
    assert_no_rgb(plain_terminal.screen_with_colours())
    time.sleep(1)  # let the screen settle
    # No blinking cursor: an idle sale screen sends next to nothing (a blink is ~1 KB a time).
    assert plain_terminal.output_while_idle(2, tmp_path / "tty.out") < 512
