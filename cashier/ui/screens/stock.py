"""库存: the pharmacy's batches, and what a supervisor does with them at the counter:
receive a delivery (typed box by box, F2, or its supplier's file, F3), send boxes back to
the supplier (F4), write off broken or spoiled ones (F6), count a batch (F7) and recall one
(F8). Each change is the stock service's (``cashier stock`` does the same), audited and
queued for the insurer's 进销存 with the change itself."""

from __future__ import annotations

from datetime import date

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import clock, stock
from cashier.services.operators import Role
from cashier.ui.screens.base import WorkerErrors, kept_out, show_error
from cashier.ui.text import clipped, plain
from cashier.ui.widgets.keybar import KeyBar

#: Batches shown at once (the search narrows them): a screen never loads a whole table.
SHOWN = 200


class StockScreen(WorkerErrors, Screen[None]):
    ACCEPTS_SCANS = True  # a box's barcode finds its item's batches
    DEFAULT_CSS = """
    StockScreen #stock-find { height: 3; }
    StockScreen #stock-status { height: 2; padding: 0 1; }
    StockScreen #stock-rows { height: 1fr; }
    """

    BINDINGS = [
        Binding("f2", "receive", say("screen.stock.key.receive"), id="stock_receive"),
        Binding("f3", "import_file", say("screen.stock.key.file"), id="stock_file"),
        Binding("f4", "send_back", say("screen.stock.key.return"), id="stock_return"),
        Binding("f6", "write_off", say("screen.stock.key.damage"), id="stock_damage"),
        Binding("f7", "count", say("screen.stock.key.count"), id="stock_count"),
        Binding("f8", "recall", say("screen.stock.key.recall"), id="stock_recall"),
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("escape", "app.pop_screen", say("screen.stock.key.back"), id="back"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        training = say("screen.outbox.training") if settings.training else ""
        yield Static(say("screen.stock.topbar", training=training, station=settings.station_id),
                     id="topbar")  # fmt: skip
        yield Input(placeholder=say("screen.stock.find"), id="stock-find", max_length=40)
        yield Static("", id="stock-status")
        yield DataTable(id="stock-rows", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        if kept_out(self, Role.SUPERVISOR, "screen.stock.needs_role"):
            return
        table = self.query_one(DataTable)
        for key, width in (("bchno", 16), ("code", 8), ("name", 14), ("lot", 10),
                           ("expy", 10), ("left", 5), ("state", 6)):  # fmt: skip
            table.add_column(say(f"screen.stock.col.{key}"), key=key, width=width)
        self.refresh_rows()
        self.query_one("#stock-find", Input).focus()

    # -- the list ----------------------------------------------------------------------
    def refresh_rows(self, keep: str | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        text = self.query_one("#stock-find", Input).value
        shown = stock.batches(text=text, limit=SHOWN + 1)
        today = clock.local_today()
        for batch in shown[:SHOWN]:
            table.add_row(
                batch.bchno,
                plain(batch.item.code),
                plain(clipped(batch.item.name, 14)),
                plain(clipped(batch.manu_lotnum, 10)),
                batch.expy_end.isoformat(),
                str(batch.quantity),
                self._state(batch, today),
                key=batch.bchno,
            )
        if keep is not None and keep in {b.bchno for b in shown[:SHOWN]}:
            table.move_cursor(row=table.get_row_index(keep))
        more = say("screen.stock.more", shown=SHOWN) if len(shown) > SHOWN else ""
        status = say("screen.stock.summary", batches=min(len(shown), SHOWN), more=more)
        self._say(status if shown else say("screen.stock.none"))

    def _state(self, batch, today: date) -> str:
        if batch.recalled:
            return say("screen.stock.state.recalled")
        if batch.expy_end < today:
            return say("screen.stock.state.expired")
        days = self.app.settings.inventory.expiry_warning_days
        if days and (batch.expy_end - today).days <= days:
            return say("screen.stock.state.near")
        return ""

    def _say(self, text: str) -> None:
        self.query_one("#stock-status", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "stock-find":
            self.refresh_rows()

    def handle_scan(self, code) -> None:
        item = stock.find_item(code.text)
        self.query_one("#stock-find", Input).value = item.code if item else code.text

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.cursor_row + step, table.row_count - 1)))

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify(say("screen.stock.pick"), severity="warning")
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    # -- changes ----------------------------------------------------------------------
    def _done(self, text: str, keep: str | None = None) -> None:
        self.app.poke_outbox()  # the change's 进销存 document goes now
        self.refresh_rows(keep)
        self._say(text)
        self.notify(text)

    def _run(self, change, keep: str | None = None) -> bool:
        """Make one change; its error said, nothing kept (the service's transaction)."""
        try:
            text = change()
        except CashierError as exc:
            show_error(self, exc)
            return False
        self._done(text, keep)
        return True

    def _who(self):
        s = self.app.settings
        return s.station_id, self.app.operator, s.reports_inventory

    def action_receive(self, values: dict[str, str] | None = None) -> None:
        from cashier.ui.dialogs.stock import RECEIVE_FIELDS, ReceiveDialog

        def done(answer) -> None:
            if answer is None:
                return
            typed = dict(zip(RECEIVE_FIELDS, answer, strict=True))
            station, who, reports = self._who()

            def change() -> str:
                got = stock.receive(station, [stock.delivery(typed)], who, reports=reports,
                                    source=say("screen.stock.typed"))  # fmt: skip
                return say("cli.stock_received", batches=len(got.batches), boxes=got.boxes)

            if not self._run(change):
                self.action_receive(typed)  # what was typed is kept: correct it

        self.app.push_screen(ReceiveDialog(values), done)

    def action_import_file(self) -> None:
        from cashier.ui.dialogs.form import ReasonDialog

        def done(answer) -> None:
            if answer is None:
                return
            path = answer[0]
            station, who, reports = self._who()
            try:
                with open(path, encoding="utf-8-sig", newline="") as f:
                    rows = stock.read_delivery(f, path)
            except stock.StockImportError as exc:
                shown = " / ".join(f"{line}: {message}" for line, message in exc.problems[:3])
                self._say(plain(f"{exc}\n{shown}"))
                show_error(self, exc)
                return
            except (OSError, UnicodeDecodeError) as exc:
                show_error(self, CashierError(say("screen.stock.unreadable", path=path,
                                                  why=type(exc).__name__)))  # fmt: skip
                return
            self._run(lambda: say("cli.stock_received", **self._received(
                stock.receive(station, rows, who, reports=reports, source=path))))  # fmt: skip

        self.app.push_screen(
            ReasonDialog(say("screen.stock.file_title"), say("screen.stock.file_hint")), done
        )

    @staticmethod
    def _received(got) -> dict:
        return {"batches": len(got.batches), "boxes": got.boxes}

    def _boxes(self, title_key: str, change, *, reason: bool = True) -> None:
        """Ask boxes (and why) for the chosen batch, then make the change with them."""
        from cashier.ui.dialogs.stock import BoxesDialog

        bchno = self._selected()
        if bchno is None:
            return

        def done(answer) -> None:
            if answer is None:
                return
            boxes = int(answer[0])
            why = answer[1] if reason else ""
            self._run(lambda: change(bchno, boxes, why), keep=bchno)

        self.app.push_screen(BoxesDialog(say(title_key, bchno=bchno), reason=reason), done)

    def _batch_said(self, batch) -> str:
        return say("cli.stock_batch", bchno=batch.bchno, quantity=batch.quantity)

    def action_send_back(self) -> None:
        station, who, reports = self._who()
        self._boxes("screen.stock.return_title", lambda bchno, boxes, why: self._batch_said(
            stock.return_to_supplier(station, bchno, boxes, why, who, reports=reports)))  # fmt: skip

    def action_write_off(self) -> None:
        station, who, reports = self._who()
        self._boxes("screen.stock.damage_title", lambda bchno, boxes, why: self._batch_said(
            stock.adjust(station, bchno, boxes, "damage", why, who, reports=reports)))  # fmt: skip

    def action_count(self) -> None:
        station, who, reports = self._who()

        def change(bchno: str, found: int, _why: str) -> str:
            [(_, books, counted)] = stock.count(station, {bchno: found}, who, reports=reports)
            return say("screen.stock.counted", bchno=bchno, books=books, counted=counted,
                       diff=f"{counted - books:+d}")  # fmt: skip

        self._boxes("screen.stock.count_title", change, reason=False)

    def action_recall(self) -> None:
        from cashier.ui.dialogs.form import ReasonDialog

        bchno = self._selected()
        if bchno is None:
            return
        station, who, _ = self._who()

        def done(answer) -> None:
            if answer is not None:
                self._run(lambda: self._batch_said(stock.recall(station, bchno, answer[0], who))
                          + say("screen.stock.recalled"), keep=bchno)  # fmt: skip

        self.app.push_screen(ReasonDialog(say("screen.stock.recall_title", bchno=bchno)), done)
