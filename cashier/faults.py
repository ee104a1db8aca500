"""Crash points for the fault-injection tests (tests/integration/test_crash.py): nothing in production.

``crash_point(name)`` does nothing unless the environment variable
``CASHIER_CRASH_AT`` names this point, in which case the process kills itself
with SIGKILL on the spot, as a power cut would: no ``finally``, no ``atexit``,
no flushing. The variable is read once, at import; an unarmed point costs one
comparison with ``None``.

A point may be qualified (``crash_point("before_send", infno)`` is armed by
``CASHIER_CRASH_AT=before_send:2207``); a qualifier that is costly to work out
can be passed as a callable, which is called only when some point is armed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

ENV = "CASHIER_CRASH_AT"

_AT: str | None = os.environ.get(ENV) or None


def crash_point(name: str, qualifier: str | Callable[[], str] = "") -> None:
    """Die here (SIGKILL) when ``CASHIER_CRASH_AT`` is ``name`` or ``name:qualifier``."""
    if _AT is None:
        return
    if callable(qualifier):
        try:
            qualifier = qualifier()
        except Exception:  # a point must never fail the code it sits in
            qualifier = ""
    if _AT == name or (qualifier and _AT == f"{name}:{qualifier}"):
        os.kill(os.getpid(), signal.SIGKILL)


def armed() -> str | None:
    """The crash point this process is armed with, if any."""
    return _AT
