"""上报队列: the 进销存 documents still to reach the insurer (3503 采购, 3505 销售, 3506
退货 …), why each waits, and what a supervisor does about one refused: send it again once
its cause is fixed (F6), or give it up with a reason (Del, audited). Sending happens in the
background by itself; F5 sends now."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import outbox, senders
from cashier.services.operators import Role
from cashier.ui.screens.base import WorkerErrors, kept_out, show_error
from cashier.ui.text import clipped, plain
from cashier.ui.widgets.keybar import KeyBar


class OutboxScreen(WorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    OutboxScreen #outbox-status { height: 2; padding: 0 1; }
    OutboxScreen #outbox-rows { height: 1fr; }
    """

    BINDINGS = [
        Binding("f5", "send", say("screen.outbox.key.send"), id="outbox_send"),
        Binding("f6", "retry", say("screen.outbox.key.retry"), id="outbox_retry"),
        Binding("delete", "drop", say("screen.outbox.key.drop"), id="outbox_drop"),
        Binding("escape", "app.pop_screen", say("screen.outbox.key.back"), id="back"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.outbox.training") if settings.training else ""
        yield Static(say("screen.outbox.topbar", training=training, station=settings.station_id),
                     id="topbar")  # fmt: skip
        yield Static("", id="outbox-status")
        yield DataTable(id="outbox-rows", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        if kept_out(self, Role.SUPERVISOR, "screen.outbox.needs_role"):
            return
        table = self.query_one(DataTable)
        table.add_column(say("screen.outbox.col.id"), key="id", width=5)
        table.add_column(say("screen.outbox.col.infno"), key="infno", width=8)
        table.add_column(say("screen.outbox.col.doc"), key="doc", width=24)
        table.add_column(say("screen.outbox.col.status"), key="status", width=8)
        table.add_column(say("screen.outbox.col.why"), key="why", width=30)
        self.refresh_rows()
        table.focus()

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        docs = outbox.waiting()
        for doc in docs:
            table.add_row(
                str(doc.id),
                f"{doc.infno}",
                plain(clipped(doc.doc_no, 24)),
                outbox.label(doc.status),
                plain(clipped(doc.last_error or "", 60)),
                key=str(doc.id),
            )
        counts = outbox.counts()
        waiting = counts["queued"] + counts["in_doubt"]
        summary = say("screen.outbox.summary", queued=waiting, refused=counts["refused"])
        self.query_one("#outbox-status", Static).update(
            summary if docs else say("screen.outbox.all_sent")
        )

    def _selected(self):
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key)

    def action_send(self) -> None:
        self.send_now()

    @work(thread=True, exclusive=True, exit_on_error=False, group="outbox-screen")
    def send_now(self) -> None:
        connection = self.app.insurer
        if connection is None and self.app.ebills is None:
            self.app.call_from_thread(self.notify, say("screen.outbox.insurer_away"),
                                      severity="warning")  # fmt: skip
            return
        client = connection.client if connection is not None else None
        report = outbox.send_due(senders.sender(client, **self.app.ebill_services()), station=None)
        self.app.call_from_thread(self._sent, report)

    def _sent(self, report) -> None:
        self.refresh_rows()
        self.notify(say("cli.outbox_sent", sent=report.sent, refused=report.refused,
                        waiting=report.waiting),
                    severity="error" if report.refused else "information")  # fmt: skip

    def action_retry(self) -> None:
        doc_id = self._selected()
        if doc_id is None:
            return
        try:
            outbox.retry(doc_id, self.app.settings.station_id, self.app.operator.code)
        except CashierError as exc:
            show_error(self, exc)
            return
        self.refresh_rows()
        self.send_now()

    def action_drop(self) -> None:
        from cashier.ui.dialogs.form import ReasonDialog

        doc_id = self._selected()
        if doc_id is None:
            return

        def done(answer) -> None:
            if answer is None:
                return
            try:
                outbox.drop(doc_id, self.app.settings.station_id, self.app.operator.code,
                            answer[0])  # fmt: skip
            except CashierError as exc:
                show_error(self, exc)
                return
            self.refresh_rows()

        self.app.push_screen(ReasonDialog(say("screen.outbox.drop_title", id=doc_id)), done)
