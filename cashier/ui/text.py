"""Data on screen is text: never read as markup, never a terminal code.

Catalog names, patients' names, insurer messages and order fields come from outside. Textual
reads a ``str`` given to a table cell, an option, a label or a notice as markup, so
``[/]坏名字`` would crash the screen and ``[@click=app.quit]`` would be a live action; a
control character (ESC, say) would reach the terminal. Every such string goes through here.
"""

from __future__ import annotations

import re

from rich.text import Text

#: A "[" with the backslashes before it: every one is escaped, not only those that look like
#: a tag (Textual reads a lone "[" as the start of one, across lines, up to the next "]").
_OPEN = re.compile(r"(\\*)\[")
#: C0 and C1 control characters, DEL included: shown as "?" (imports refuse them already).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: object, *, lines: bool = False) -> str:
    """The value as plain characters: one line, or (``lines``) keeping its line breaks."""
    text = str(value)
    if lines:
        return "\n".join(_CONTROL.sub("?", part) for part in text.split("\n"))
    return _CONTROL.sub("?", text)


def plain(value: object, **style) -> Text:
    """A table cell or an option: the value, shown as it is."""
    return Text(printable(value), **style)


def clipped(value: object, cells: int, **style) -> Text:
    """A table cell at most ``cells`` wide: a value too long ends in "…", so the cashier
    sees it was cut (0.3g*2… never passes for 0.3g*2)."""
    from rich.cells import cell_len, set_cell_size

    text = printable(value)
    if cells <= 0 or cell_len(text) <= cells:
        return Text(text, **style)
    return Text(set_cell_size(text, cells - 1).rstrip() + "…", **style)


def quoted(value: object) -> str:
    """The value inside a string that is read as markup (a notice, a label)."""
    return _OPEN.sub(lambda m: m.group(1) * 2 + "\\[", printable(value))
