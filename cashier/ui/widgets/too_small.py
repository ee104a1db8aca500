"""The notice a terminal too small for the counter gets instead of a screen that silently
drops columns, keys and digits (issue 19, item 8)."""

from __future__ import annotations

from textual.widgets import Static

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
            f"终端窗口太小（现为 {columns}×{rows}）\n"
            f"收费界面需要至少 {MIN_COLUMNS}×{MIN_ROWS}\n"
            "请放大窗口或调小字体；放大后自动恢复，本单不受影响"
        )


def too_small(columns: int, rows: int) -> bool:
    return columns < MIN_COLUMNS or rows < MIN_ROWS
