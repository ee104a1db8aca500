"""One start-up, measured from inside: run headless, report when the screen is ready.

Usage: python bench/_probe.py bare|login|sale DATA_DIR [IDLE_SECONDS]

``bare``: a Textual app showing one label. ``login``: the cashier up to its login
screen. ``sale``: the cashier up to a ready sale screen (mounted, its entry focused),
the demo cashier's code and PIN typed as key events; the time typing is not counted:
the figure is the start to the login screen plus the Enter of the PIN to the ready
sale screen, typed once the insurer connection started in the background is up (as it
is by the time a person has typed a code and a PIN).

Prints one line: ``ready <seconds> <rss bytes after a second idle (or IDLE_SECONDS)> <wall
seconds in main>``, seconds counted from process creation (interpreter start-up included).
"""

from __future__ import annotations

import os
import sys
import time

# Run as a script, this file's folder comes first on sys.path, and bench/receipts.py would
# shadow top-level modules of the same name (a ``camera``, a ``receipts``) that libraries import.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


def process_age() -> float:
    """Seconds since this process was created (kernel clock), interpreter start-up included."""
    with open("/proc/self/stat") as fh:
        start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as fh:
        uptime = float(fh.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bare_app():
    """The baseline: a Textual app that shows one label."""
    from textual.app import App
    from textual.widgets import Label

    class Bare(App):
        def compose(self):
            yield Label("收费台")

    return Bare()


def main() -> None:
    kind, data_dir = sys.argv[1], sys.argv[2]
    idle = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    # No PC/SC: the card watcher must not read cards another run puts in the shared reader.
    os.environ.setdefault("PCSCLITE_CSOCK_NAME", "/nonexistent/bench-no-pcscd.comm")
    wall0 = time.time()
    if kind == "bare":
        from textual.widgets import Label

        app = bare_app()

        def ready() -> float | None:
            return process_age() if app.screen.query(Label) else None
    else:
        from textual import events

        from cashier.config import load_settings
        from cashier.services.station import open_station
        from cashier.ui.app import CashierApp
        from cashier.ui.screens.login import LoginScreen

        app = CashierApp(open_station(load_settings(None, data_dir), check_beside=True))
        # sale: (login screen ready: process age) + (Enter of the PIN → sale screen ready).
        marks: dict[str, float] = {}

        def type_keys(*keys: str) -> None:
            """Keys as the terminal sends them, at once."""
            for key in keys:
                char = None if key == "enter" else key
                app.post_message(events.Key(key, char).set_sender(app))

        def ready() -> float | None:
            screen = app.screen
            focused = app.focused
            if isinstance(screen, LoginScreen) and screen.is_mounted:
                marks.setdefault("login", process_age())
                marks.setdefault("login_clock", time.perf_counter())
                if kind == "login":
                    return marks["login"]
                # A person takes seconds to type a code and a PIN: the insurer connection
                # started in the background is up by then, so wait for it, then type.
                waited = time.perf_counter() - marks["login_clock"]
                if app.insurer is None and waited < 10:
                    return None
                if focused is not None and focused.id == "code" and "code" not in marks:
                    marks["code"] = 0
                    type_keys(*"1001", "enter")
                elif focused is not None and focused.id == "pin" and "pin" not in marks:
                    marks["pin"] = time.perf_counter()
                    type_keys(*"1234", "enter")
                return None
            if (
                "pin" in marks
                and type(screen).__name__ == "SaleScreen"
                and screen.is_mounted
                and focused is not None
                and focused.id == "entry"
            ):
                return marks["login"] + time.perf_counter() - marks["pin"]
            return None

    result: dict[str, float] = {}

    def poll() -> None:
        if "ready" in result:
            return
        at = ready()
        if at is not None:
            result["ready"] = at
            app.set_timer(idle, finish)  # idle for a second, then read memory

    def finish() -> None:
        result["rss"] = rss_bytes()
        app.exit()

    app.call_later(lambda: app.set_interval(0.002, poll))
    app.run(headless=True, size=(80, 24))
    print(f"ready {result['ready']:.4f} {int(result['rss'])} {time.time() - wall0:.3f}")


if __name__ == "__main__":
    main()
