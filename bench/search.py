"""Catalog search per keystroke on a large catalog (default 50,000 items).

    python -m bench.search [--items N]

Builds a synthetic catalog from the demo names, then times ``catalog.search``
for the prefixes a cashier types. Median of several runs; reported, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cashier import catalog
from cashier.config import settings_from_dict
from cashier.station import open_station


def synthetic_catalog(n: int) -> str:
    demo = list(csv.DictReader(io.StringIO(catalog.demo_catalog_text())))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=catalog.COLUMNS)
    writer.writeheader()
    for i in range(n):
        row = dict(demo[i % len(demo)])
        row["code"] = f"B{i:06d}"
        row["barcode"] = ""
        row["spec"] = f"{row['spec']} #{i // len(demo)}"
        writer.writerow(row)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = open_station(settings_from_dict({}, data_dir=Path(tmp)), seed=False)
        t0 = time.perf_counter()
        catalog.import_catalog(text=synthetic_catalog(args.items))
        imported = time.perf_counter() - t0
        print(f"import of {args.items} items: {imported:.1f} s")
        print("| query | median ms | hits |")
        print("|---|---|---|")
        for query in ("a", "am", "amx", "amxl", "阿莫", "阿莫西林", "B0123", "B012345", "头孢"):
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                hits = catalog.search(query)
                times.append(time.perf_counter() - t0)
            print(f"| {query} | {statistics.median(times) * 1000:.1f} | {len(hits)} |")
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
