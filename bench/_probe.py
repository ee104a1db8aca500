"""One start-up, measured from inside: run headless, report when the first screen is up.

Usage: python bench/_probe.py cashier|bare DATA_DIR
Prints one line: ``ready <seconds since the process started> <rss bytes at idle>``.
"""

from __future__ import annotations

import os
import sys
import time


def process_age() -> float:
    """Seconds since this process was created (kernel clock), interpreter start-up included."""
    with open("/proc/self/stat") as fh:
        start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as fh:
        uptime = float(fh.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    kind, data_dir = sys.argv[1], sys.argv[2]
    wall0 = time.time()
    if kind == "bare":
        from textual.app import App
        from textual.widgets import Label

        class Bare(App):
            def compose(self):
                yield Label("收费台")

        app = Bare()

        def ready() -> bool:
            return bool(app.screen.query(Label))
    else:
        from cashier.app import CashierApp
        from cashier.config import load_settings
        from cashier.screens.login import LoginScreen
        from cashier.station import open_station

        app = CashierApp(open_station(load_settings(None, data_dir)))

        def ready() -> bool:
            return isinstance(app.screen, LoginScreen) and app.screen.is_mounted

    result: dict[str, float] = {}

    def poll() -> None:
        if "ready" not in result and ready():
            result["ready"] = process_age()
            app.set_timer(1.0, finish)  # idle for a second, then read memory

    def finish() -> None:
        result["rss"] = rss_bytes()
        app.exit()

    app.call_later(lambda: app.set_interval(0.002, poll))
    app.run(headless=True, size=(80, 24))
    print(f"ready {result['ready']:.4f} {int(result['rss'])} {time.time() - wall0:.3f}")


if __name__ == "__main__":
    main()
