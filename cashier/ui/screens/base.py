"""What every screen shares: worker failures become notices, never tracebacks."""

from __future__ import annotations

from textual.app import App
from textual.message import Message
from textual.worker import Worker, WorkerState

from cashier import logs
from cashier.errors import BUSY_MESSAGE, CashierError, database_trouble, describe, internal
from cashier.messages import say


def describe_error(error: BaseException | None) -> str:
    """A worker's failure as the counter says it: the bill is still on screen."""
    if error is None:
        return internal(RuntimeError())
    trouble = None if isinstance(error, CashierError) else database_trouble(error)
    if trouble == BUSY_MESSAGE:
        return say("screen.base.db_busy", BUSY_MESSAGE=BUSY_MESSAGE)
    if trouble:
        return say("screen.base.trouble", trouble=trouble)
    return describe(error)


def show_error(screen, error: BaseException, *, timeout: float = 6) -> None:
    """The one way a screen tells the cashier something went wrong: a bell and a notice (and
    the log, through the app's notice)."""
    screen.app.bell()
    screen.notify(describe(error), severity="error", timeout=timeout)


#: The worker group of money work (settle, cancel a settlement, complete a sale, refund):
#: never exclusive, so no other action can cancel it, and one at a time by :func:`money_busy`.
MONEY = "money"


def kept_out(screen, role, message_key: str) -> bool:
    """On mounting a screen of a role: when the operator signed in is below ``role``, the
    screen closes and says why (``message_key`` with the role's ``label``); True then."""
    who = screen.app.operator
    if who is not None and who.role.at_least(role):
        return False
    screen.app.pop_screen()
    screen.app.notify(say(message_key, label=role.label), severity="error")
    return True


def money_busy(app) -> bool:
    """Whether money work is running: a second key press is then refused, never queued."""
    busy = any(w.group == MONEY and not w.is_finished for w in app.workers)
    if busy:
        app.notify(say("screen.base.busy"), severity="warning")
    return busy


def relay(screen, show, event) -> None:
    """A counter event to ``show`` on the screen's thread: at once when it happened there
    (a key), posted when a worker's call emitted it (never blocking the worker on the UI)."""
    import threading

    if not screen.is_attached:  # gone (a dismissed payment screen): nothing to show
        return
    if threading.get_ident() == screen.app._thread_id:
        show(event)
    else:
        screen.post_message(CounterRelayed(show, event))


class CounterRelayed(Message):
    def __init__(self, show, event) -> None:
        super().__init__()
        self.show, self.event = show, event


class WorkerErrors:
    """Mixin for screens: a failed worker shows its message in a notice."""

    app: App  # the cashier's app (screens never import it: it imports them)

    def on_counter_relayed(self, message: CounterRelayed) -> None:
        message.show(message.event)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, CashierError):  # unexpected: its traceback kept
                logs.shown(f"{type(self).__name__}.{event.worker.name}", error, where="unexpected")
            self.app.notify(describe_error(error), severity="error", timeout=8)
