"""The cashier's log file: what went wrong in the field, kept where a technician finds it.

Standard :mod:`logging` to a rotating file (1 MiB × 5) — in the user log directory for the
station in its default place, else in ``logs/`` of its data directory — with every error the
cashier is shown, and its traceback. Nothing personal is written: ID numbers, 付款码 and any
other long run of digits are masked (first and last four kept) in messages and tracebacks
alike, by a filter on the handler, so no caller can forget it.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

log = logging.getLogger("cashier")
# Until a station's log file is set up (a command refused before it opens one), a record
# goes nowhere: never to stderr through logging's last resort (one line of error, always).
log.addHandler(logging.NullHandler())

#: 15 or more digits (an ID number, with its X; a 付款码; a card number): never whole.
_LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{7,}(\d{3}[\dXx])(?![0-9A-Za-z])")
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
_installed: logging.Handler | None = None


def mask(text: str) -> str:
    return _LONG_DIGITS.sub(lambda m: f"{m[1]}{'*' * (len(m[0]) - 8)}{m[2]}", text)


class _Masked(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def log_dir(settings) -> Path:
    """Where the log goes: ``log_dir`` when set; the user log directory for the station in
    its default data directory; else ``logs`` beside that station's data."""
    from cashier.config import default_data_dir

    if getattr(settings, "log_dir", ""):
        return Path(settings.log_dir).expanduser()
    if settings.data_dir == default_data_dir():
        from platformdirs import user_log_dir

        return Path(user_log_dir("cashier"))
    return settings.data_dir / "logs"


def setup(settings) -> Path | None:
    """Send the cashier's log to its file (once per process; a second station's settings
    move it). The path, or None when the directory cannot be written (never fatal)."""
    global _installed
    folder = log_dir(settings)
    path = folder / "cashier.log"
    if _installed is not None and getattr(_installed, "baseFilename", "") == str(path):
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1024 * 1024, backupCount=5, encoding="utf-8", delay=True
        )
    except OSError:
        return None
    handler.setFormatter(_Masked(_FORMAT))
    handler.setLevel(logging.INFO)
    if _installed is not None:
        log.removeHandler(_installed)
        _installed.close()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    _installed = handler
    return path


def shown(message: str, error: BaseException | None = None, *, where: str = "") -> None:
    """An error the cashier was shown: its words, and (for an unexpected one) its traceback."""
    from cashier.errors import CashierError

    prefix = f"{where}: " if where else ""
    if error is None or isinstance(error, CashierError):
        log.warning("%s%s", prefix, message)
    else:
        log.error("%s%s", prefix, message, exc_info=(type(error), error, error.__traceback__))
