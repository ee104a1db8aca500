"""A full download of the insurer's 西药中成药 catalog (1301), next to its bare parts.

    python -m bench.catalog_sync [--rows N] [--quick]

The training station's sandbox insurer serves ``--rows`` catalog lines more than its own
(default 300,000: a real 1301's size, in versions of 5,000 lines, 97 tab-separated columns)
through 1301 + 9102; the counter downloads them all (``cashier catalog sync``) into a fresh
SQLite database. The baseline, in the same run: the same files fetched and unzipped and the
same rows inserted with one bare ``executemany`` per file (no reading of the layout, no
拼音). Reported, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Figure, Section


def run(quick: bool = False, rows: int | None = None) -> Section:
    from cashier.config import settings_from_dict
    from cashier.insurer import protocol
    from cashier.services import insurer_catalogs
    from cashier.services.station import connect_insurer, open_station
    from cashier.store.models import InsurerCatalogEntry, database
    from cashier_sandbox import state

    rows = rows or (12_000 if quick else 300_000)
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_from_dict({}, data_dir=Path(tmp))
        ctx = open_station(settings)
        connection = connect_insurer(settings)
        try:
            state.set_setting("catalog_rows", str(rows))
            operator = ("9001", "李组长")
            # The sandbox makes its catalog once, at the first ask: not the counter's time.
            connection.client.call("1301", {"data": {"ver": "99999999"}}, operator=operator)
            t0 = time.perf_counter()
            done = insurer_catalogs.sync(
                connection.client, operator, "1301", fixmedins_code=settings.clinic_code
            )
            t_sync = time.perf_counter() - t0
            held = InsurerCatalogEntry.select().count()
            # The baseline: the same files, unzipped, inserted bare.
            database.execute_sql("CREATE TABLE bare (code TEXT PRIMARY KEY, line TEXT)")
            t0 = time.perf_counter()
            ver = "0"
            for _ in range(done.files):
                out = connection.client.call("1301", {"data": {"ver": ver}}, operator=operator)
                data = connection.client.download(
                    protocol.input_9102(
                        file_qury_no=out["file_qury_no"],
                        filename=out["filename"],
                        fixmedins_code=settings.clinic_code,
                    ),
                    operator=operator,
                )
                lines = protocol.unzip_text(data).splitlines()
                with database.atomic():
                    database.cursor().executemany(
                        "INSERT OR REPLACE INTO bare VALUES (?, ?)",
                        [(ln.split("\t", 1)[0], ln) for ln in lines],
                    )
                ver = f"{int(ver) + 1:08d}"
            t_bare = time.perf_counter() - t0
        finally:
            connection.close()
            state.sandbox_db.close()
            ctx.close()
    ratio = t_sync / t_bare if t_bare else float("nan")
    body = f"""
A full first download of 1301 from the training sandbox: **{held:,}** catalog lines in
{done.files} files of up to 5,000 lines (97 tab-separated columns each), fetched with
1301 + 9102, read in their layout and kept with their 拼音 initials for mapping.

| | seconds | lines a second |
|---|---|---|
| `cashier catalog sync --kind 1301` | {t_sync:.1f} | {held / t_sync:,.0f} |
| the same files fetched, unzipped and inserted bare (`executemany`) | {t_bare:.1f} | {held / t_bare:,.0f} |

The sync takes {ratio:.1f}× its bare parts: the difference is reading each line's named
columns, computing its 拼音 initials (pypinyin) and an upsert by code; the network and the
sandbox's own work are in both. A later sync asks only for versions newer than the one held
(seconds, for a day's changes).
"""
    figures = (
        Figure("catalog_sync", f"1301 full download, {held:,} lines", t_sync, "s", 1,
               t_bare, "bare fetch + executemany"),
    )  # fmt: skip
    return Section("catalog_sync", "The insurer's catalog downloaded (1301)", body, figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="catalog lines (default 300,000; quick 12,000)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(run(args.quick, args.rows).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
