"""Errors that carry a message for the person at the counter.

Every failure the cashier can explain is a :class:`CashierError`; its text is
shown as it is (Chinese, in the cashier's words, saying what to do next). The
command line prints it on one line of stderr; screens show it in a notice.
"""


class CashierError(Exception):
    """A failure with a message fit to show to the operator."""


class InputError(CashierError):
    """Something typed, scanned or imported is not acceptable."""


class NotAllowed(CashierError):
    """The logged-in operator's role does not allow this."""


class DeviceError(CashierError):
    """A device (printer, reader, scanner) failed; the sale is not lost."""


#: What a write that waited out ``busy_timeout`` says (SQLite) or a serialization failure.
BUSY_MESSAGE = "数据库忙，请稍后重试"


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is the database being busy (locked by another process)."""
    text = str(error).lower()
    return type(error).__name__ == "OperationalError" and ("locked" in text or "busy" in text)
