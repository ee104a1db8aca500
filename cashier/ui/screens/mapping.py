"""医保目录对照: the items without a valid mapping onto the insurer's catalog, each with
the catalog lines it may be (by 批准文号, name, 拼音); Enter uploads the chosen one (3301),
Del deletes an item's mapping (3302). Supervisors only; the catalogs are downloaded with
``cashier catalog sync`` (F5 here downloads what is newer)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import insurer_catalogs
from cashier.services.operators import Role
from cashier.store.models import Item
from cashier.ui.screens.base import WorkerErrors, kept_out, show_error
from cashier.ui.text import clipped, plain
from cashier.ui.widgets.keybar import KeyBar


class MappingScreen(WorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    MappingScreen #mapping-status { height: 2; padding: 0 1; }
    MappingScreen #mapping-tables { height: 1fr; }
    MappingScreen #mapping-items { width: 1fr; }
    MappingScreen #mapping-candidates { width: 1fr; }
    """

    BINDINGS = [
        Binding("enter", "map", say("screen.mapping.key.map"), id="mapping_map", priority=True),
        Binding("tab", "switch", say("screen.mapping.key.switch"), id="mapping_switch"),
        Binding("f5", "sync", say("screen.mapping.key.sync"), id="mapping_sync"),
        Binding("delete", "unmap", say("screen.mapping.key.unmap"), id="mapping_unmap"),
        Binding("escape", "app.pop_screen", say("screen.mapping.key.back"), id="back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(say("screen.mapping.topbar", station=self.app.settings.station_id),
                     id="topbar")  # fmt: skip
        yield Static("", id="mapping-status")
        with Horizontal(id="mapping-tables"):
            yield DataTable(id="mapping-items", cursor_type="row")
            yield DataTable(id="mapping-candidates", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        if kept_out(self, Role.SUPERVISOR, "screen.mapping.needs_role"):
            return
        items = self.query_one("#mapping-items", DataTable)
        items.add_column(say("screen.mapping.col.code"), key="code", width=8)
        items.add_column(say("screen.mapping.col.name"), key="name", width=18)
        candidates = self.query_one("#mapping-candidates", DataTable)
        candidates.add_column(say("screen.mapping.col.hilist"), key="hilist", width=24)
        candidates.add_column(say("screen.mapping.col.name"), key="name", width=14)
        self.refresh_items()
        items.focus()

    def refresh_items(self) -> None:
        table = self.query_one("#mapping-items", DataTable)
        table.clear()
        waiting = insurer_catalogs.unmapped_items()
        for item in waiting:
            table.add_row(plain(item.code), clipped(item.name, 18), key=item.code)
        self.query_one("#mapping-status", Static).update(
            say("screen.mapping.summary", count=len(waiting))
            if insurer_catalogs.synced()
            else say("screen.mapping.not_synced")
        )
        self.refresh_candidates()

    def _item(self) -> Item | None:
        table = self.query_one("#mapping-items", DataTable)
        if not table.row_count:
            return None
        code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return Item.get_or_none(Item.code == code)

    def refresh_candidates(self) -> None:
        table = self.query_one("#mapping-candidates", DataTable)
        table.clear()
        item = self._item()
        if item is None:
            return
        for c in insurer_catalogs.candidates(item):
            table.add_row(plain(c.med_list_codg), clipped(f"{c.name} {c.spec}", 14),
                          key=c.med_list_codg)  # fmt: skip

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "mapping-items":
            self.refresh_candidates()

    def action_switch(self) -> None:
        items = self.query_one("#mapping-items", DataTable)
        other = self.query_one("#mapping-candidates", DataTable)
        (other if self.focused is items else items).focus()

    def action_map(self) -> None:
        table = self.query_one("#mapping-candidates", DataTable)
        item = self._item()
        if item is None or not table.row_count:
            return
        if self.focused is not table:
            table.focus()  # Enter on an item: choose among its candidates
            return
        code = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.upload(item.code, code)

    def _insurer(self):
        """(the insurer's connection, who asks); (None, …) said when it is not reached."""
        if self.app.insurer is None:
            self.app.call_from_thread(self.notify, say("screen.mapping.insurer_away"),
                                      severity="warning")  # fmt: skip
        return self.app.insurer, self.app.operator

    @work(thread=True, exclusive=True, exit_on_error=False, group="mapping")
    def upload(self, item_code: str, code: str, delete: bool = False) -> None:
        connection, who = self._insurer()
        if connection is None:
            return
        item = Item.get(Item.code == item_code)
        try:
            if delete:
                insurer_catalogs.delete_mapping(connection.client, (who.code, who.name),
                                                self.app.settings.station_id, item)  # fmt: skip
                words = say("cli.catalog_unmapped_one", code=item_code)
            else:
                insurer_catalogs.upload_mapping(connection.client, (who.code, who.name),
                                                self.app.settings.station_id, item, code)  # fmt: skip
                words = say("cli.catalog_mapped", code=item_code, med_list_codg=code)
        except CashierError as exc:
            self.app.call_from_thread(show_error, self, exc)
            return
        self.app.call_from_thread(self._done, words)

    def _done(self, words: str) -> None:
        self.notify(words)
        self.refresh_items()
        self.query_one("#mapping-items", DataTable).focus()

    def action_unmap(self) -> None:
        item = self._item()
        if item is not None and item.med_list_codg:
            self.upload(item.code, item.med_list_codg, delete=True)

    def _progress(self, kind: str, read: int, expected: int | None) -> None:
        shown = (say("screen.mapping.progress_of", catalog=kind, read=f"{read:,}",
                     expected=f"{expected:,}", percent=min(100 * read // expected, 100))
                 if expected else say("screen.mapping.progress", catalog=kind, read=f"{read:,}"))  # fmt: skip
        self.query_one("#mapping-status", Static).update(shown)

    @work(thread=True, exclusive=True, exit_on_error=False, group="mapping")
    def action_sync(self) -> None:
        connection, who = self._insurer()
        if connection is None:
            return
        try:
            done = [
                insurer_catalogs.sync(
                    connection.client,
                    (who.code, who.name),
                    kind,
                    fixmedins_code=self.app.settings.clinic_code,
                    progress=lambda read, expected, kind=kind: self.app.call_from_thread(
                        self._progress, kind, read, expected
                    ),
                )
                for kind in insurer_catalogs.CATALOGS
            ]
        except CashierError as exc:
            self.app.call_from_thread(show_error, self, exc)
            return
        entries = sum(d.entries for d in done)
        self.app.call_from_thread(self._done, say("screen.mapping.synced", entries=entries))
