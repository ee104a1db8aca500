"""The key bar: the screen's keys in one line at the bottom."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Static

from cashier.ui.text import quoted
from cashier.ui.widgets import put


class KeyBar(Static):
    """The active screen's shown bindings as one line of text, like Textual's ``Footer``.

    ``Footer`` builds a widget per key and builds them all again whenever the bindings
    change (every focus change and screen switch), and each rebuild leaves watchers
    behind on it (Textual issue #6666): some 0.5 MiB a sale at the counter, half a
    gigabyte over 1,000 sales (``bench.memory``). One line of text, redrawn only when it
    changes, says the same to a keyboard-first cashier and holds nothing.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: clip;
        color: $footer-description-foreground;
        background: $footer-background;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        shown: set[str] = set()
        keys: list[str] = []
        # A screen may show only the keys that matter now (the rest still work, and are in
        # F1 and the palette): 80 columns hold about a dozen.
        wanted = getattr(screen, "shows_key", None)
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in shown:
                continue
            if wanted is not None and not wanted(binding.action):
                continue
            shown.add(binding.action)
            key = self.app.get_key_display(binding)
            if key[:1] == "f" and key[1:].isdigit():
                key = key.upper()  # F9, as on the keyboard and in the README
            elif len(key) > 1 and key.isascii() and key.isalpha():
                key = key.capitalize()  # Esc, Delete
            elif key[:1] == "^":
                key = key.upper()  # ^S, as the cashier's F1 help writes Ctrl+S
            key, what = quoted(key), quoted(binding.description)
            # No space inside a key: the sale screen's ten keys then fit in 80 columns.
            keys.append(
                f"[b $footer-key-foreground]{key}[/]{what}" if enabled else f"[dim]{key}{what}[/]"
            )
        put(self, " ".join(keys))
