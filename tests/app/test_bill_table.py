"""Issue 19, item 7: the bill table. A cut name or spec ends in "…" (0.3g*20粒 never passes
for 0.3g*2); at 120×40 the name and spec columns widen and show both packs whole; ↑↓ choose
the line while the scan field keeps the focus; the chosen line is marked in the low-spec
theme too."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.services.station import open_station
from cashier.ui.app import CashierApp
from tests.support.pilot import barcode, login, until

pytestmark = pytest.mark.pilot


def cells(screen, row: int) -> list[str]:
    return [str(c) for c in screen.query_one("#lines").get_row_at(row)]


async def ring_up(app, pilot) -> None:
    """Three lines through the counter, as a scan makes them (a scan's keys are another
    test's subject, and a loaded machine may split them)."""
    await login(pilot)
    for code in ("Y00038", "Y00039", "Y00001"):  # 布洛芬缓释胶囊 0.3g*20粒 and 0.3g*10粒
        app.screen.counter.scan(barcode(code))
    await until(pilot, lambda: app.screen.query_one("#lines").row_count == 3)


@pytest.mark.parametrize("insured", [False, True])  # an insured bill's panel is wider
async def test_cut_values_end_in_an_ellipsis_and_a_wide_terminal_shows_them_whole(
    settings, insured
):
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await ring_up(app, pilot)
        if insured:
            app.screen.query_one("#side").set_class(True, "-insured")
            await pilot.pause()
            app.screen.on_resize()  # the table narrower: the columns laid out again
            await pilot.pause()
            assert app.screen.query_one("#lines").columns["spec"].width == 9
        first, second = cells(app.screen, 0), cells(app.screen, 1)
        assert (first[2], second[2]) == ("0.3g*20粒", "0.3g*10粒")  # the packs told apart
        assert first[1] == "布洛芬缓释胶囊" or (
            first[1].endswith("…") and first[1].startswith("布洛芬")
        )  # a cut name says so
    app = CashierApp(open_station(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await ring_up(app, pilot)
        first = cells(app.screen, 0)
        assert first[1] == "布洛芬缓释胶囊" and first[2] == "0.3g*20粒"


@pytest.mark.parametrize("low_spec", [False, True])
async def test_arrows_choose_the_line_while_the_scan_field_has_the_focus(settings, low_spec):
    app = CashierApp(open_station(replace(settings, low_spec=low_spec)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ring_up(app, pilot)
        table = app.screen.query_one("#lines")
        assert app.focused is app.screen.query_one("#entry")
        assert table.cursor_row == 2  # the last scanned
        await pilot.press("up", "up")
        await until(pilot, lambda: table.cursor_row == 0)
        assert app.focused is app.screen.query_one("#entry")
        await pilot.press("down")
        await until(pilot, lambda: table.cursor_row == 1)
        style = table.get_component_rich_style("datatable--cursor")
        plain = table.get_component_rich_style("datatable--odd-row")
        assert style != plain and (style.reverse or style.bgcolor != plain.bgcolor)
