"""What every screen shares: worker failures become notices, never tracebacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from cashier.errors import CashierError

if TYPE_CHECKING:
    from cashier.ui.app import CashierApp


def describe_error(error: BaseException | None) -> str:
    if isinstance(error, CashierError):
        return str(error)
    return f"内部错误：{type(error).__name__}，请联系管理员（本单未丢失）"


class WorkerErrors:
    """Mixin for screens: a failed worker shows its message in a notice."""

    app: CashierApp

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, CashierError):
                self.app.log.error(repr(error))
            self.app.notify(describe_error(error), severity="error", timeout=8)
