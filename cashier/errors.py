"""Errors that carry a message for the person at the counter.

Every failure the cashier can explain is a :class:`CashierError`; its text is
shown as it is (Chinese, in the cashier's words, saying what to do next). The
command line prints it on one line of stderr; screens show it in a notice.
"""

from cashier.messages import say


class CashierError(Exception):
    """A failure with a message fit to show to the operator, and a stable ``code`` that
    code switches on (advice, retries, tests): never the message's words, which are the
    catalogue's to change. A class gives its kind (``input``, ``not_allowed`` …); an
    instance may be more precise (``CashierError(message, code="evoucher.stale")``)."""

    code = "error"

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class InputError(CashierError):
    """Something typed, scanned or imported is not acceptable."""

    code = "input"


class NotAllowed(CashierError):
    """The logged-in operator's role does not allow this."""

    code = "not_allowed"


class DeviceError(CashierError):
    """A device (printer, reader, scanner) failed; the sale is not lost."""

    code = "device"


#: What a write that waited out ``busy_timeout`` says (SQLite) or a serialization failure.
BUSY_MESSAGE = say("errors.db_busy")


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is the database being busy (locked by another process)."""
    text = str(error).lower()
    return type(error).__name__ == "OperationalError" and ("locked" in text or "busy" in text)


DISK_FULL_MESSAGE = say("errors.disk_full")
DAMAGED_MESSAGE = say("errors.db_damaged")


def database_trouble(error: BaseException) -> str | None:
    """What a database failure means for the person at the counter (busy, disk full, a
    damaged file), or ``None`` when it is none of these."""
    text = str(error).lower()
    name = type(error).__name__
    if isinstance(error, OSError) and error.errno == 28:  # ENOSPC
        return DISK_FULL_MESSAGE
    if name not in ("OperationalError", "DatabaseError", "DiskFull", "InterfaceError"):
        return None
    if "disk is full" in text or "no space left" in text or name == "DiskFull":
        return DISK_FULL_MESSAGE
    if "malformed" in text or "not a database" in text or "disk i/o error" in text:
        return DAMAGED_MESSAGE
    if any(
        f in text
        for f in (
            "server closed the connection",
            "terminating connection",
            "the connection is closed",
            "connection refused",
        )
    ):
        return say("errors.db_reconnecting")
    if is_busy(error):
        return BUSY_MESSAGE
    return None


def internal(error: BaseException) -> str:
    """An error nobody foresaw, in the one wording the cashier ever reads for it (its
    traceback is in the log file)."""
    return say("errors.internal", name=type(error).__name__)


def describe(error: BaseException) -> str:
    """What the person at the counter reads for any error: its own words for a foreseen
    one, the database's trouble, or :func:`internal`."""
    if isinstance(error, CashierError):
        return str(error)
    trouble = database_trouble(error)
    return trouble or internal(error)
