"""Reusable widgets."""

from __future__ import annotations

from textual.widgets import Static


def put(widget: Static, text: str) -> None:
    """``widget.update(text)`` only when the text changed: an update costs the screen a
    layout and a repaint, and the sale screen refreshes its side panel after every step."""
    if widget.content != text:
        widget.update(text)
