"""The notice a terminal too small for the counter gets instead of a screen that silently
drops columns, keys and digits (issue 19, item 8)."""

from __future__ import annotations

from textual.widgets import Static

from cashier.messages import say

#: The counter's screens are laid out for this (design: "works in 80×24").
MIN_COLUMNS, MIN_ROWS = 80, 24


class TooSmall(Static):
    """Covers the whole screen and says what size is needed; keys wait until it is gone."""

    DEFAULT_CSS = """
    TooSmall {
        overlay: screen;
        position: absolute;
        offset: 0 0;
        width: 100%;
        height: 100%;
        content-align: center middle;
        text-align: center;
        background: $error-darken-2;
        color: $text;
        text-style: bold;
    }
    """

    def show_size(self, columns: int, rows: int) -> None:
        self.update(
            say(
                "widget.too_small.message",
                columns=columns,
                rows=rows,
                MIN_COLUMNS=MIN_COLUMNS,
                MIN_ROWS=MIN_ROWS,
            )
        )


def too_small(columns: int, rows: int) -> bool:
    return columns < MIN_COLUMNS or rows < MIN_ROWS
