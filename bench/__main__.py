"""The benchmark suite: every benchmark, one summary table, ``docs/benchmarks.md``.

    python -m bench [--quick] [--only NAME ...] [--out FILE | --no-write]

Runs each benchmark of :data:`SUITE` (each measures its baseline in the same run),
prints each section and then one table — figure, baseline, ratio, target, met — and
writes ``docs/benchmarks.md``. ``--quick`` uses small sizes and one or two runs so
that CI can run it in well under a minute; it writes nothing unless ``--out`` is
given. A missed target is reported, never an error: the exit status is non-zero
only when a benchmark crashed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

from bench.report import Figure, Section, summary, write_document
from bench.till import without_card_reader

#: Every benchmark, in the order of the document: a module ``bench.<name>`` with ``run(quick)``.
SUITE = (
    "startup",
    "memory",
    "latency",
    "paycode",
    "keys",
    "receipts",
    "eod",
    "counters",
    "growth",
    "search",
    "imports",
    "onecore",
    "camera",
    "catalog_sync",
)
DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    """One line on where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.metadata import version

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} × {cpu}, Python {platform.python_version()}, "
        f"Textual {version('textual')}, load average {load:.1f} at the start"
    )


def intro(quick: bool) -> str:
    mode = "quick mode (small sizes, one or two runs)" if quick else "full mode"
    return f"""# Benchmarks

Written by `python -m bench` ({mode}) on {datetime.now():%Y-%m-%d}: {machine()}.
Each figure stands next to its baseline, measured in the same run, because the
machine is shared and noisy — absolute figures move with its load, same-run ratios
much less. Timings are reported here, never asserted in tests; `./scripts/test`
runs `python -m bench --quick` so that the suite cannot rot, and fails only if a
benchmark crashes. Re-run one part with `python -m bench --only NAME` (it replaces
that section and its rows here); each part also runs alone as `python -m bench.NAME`.

The targets are issue 22's budgets for a cheap two-core counter PC: start-up at most
1.2× the bare app to the login screen and 1.5× to a ready sale screen; idle memory at
most 1.4× the bare app; less than 10 MB growth over 1,000 sales; at most 20 ms (median)
and 40 ms (95th percentile) added by the cashier on top of the insurer, scan to
breakdown, and 30 ms scan of a 付款码 to paid; a PDF receipt at most 1.5× a bare canvas,
ESC/POS bytes in 5 ms; a catalog search at 50,000 items 5 ms a keystroke (15 ms the
slowest); the end-of-day report at most 1.2× bare SQL; imports at most 2× a bare
`executemany`; and, as the sales pile up to ten years, each daily operation within 1.5×
of its figure at 10,000 sales. The routine visit's keys are held to design.md's "a scan
and two keys". A target missed is marked **no** and its section says what limits it and what was tried."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument(
        "--only", action="append", choices=SUITE, metavar="NAME", help=f"one of {SUITE}"
    )
    parser.add_argument("--out", type=Path, help=f"write here (default: {DOCUMENT})")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    names = [n for n in SUITE if n in (args.only or SUITE)]
    out = None if args.no_write else args.out or (None if args.quick else DOCUMENT)
    without_card_reader()  # before any app asks pcsc-lite for its socket

    sections: list[Section] = []
    failed: list[str] = []
    for name in names:
        started = time.perf_counter()
        print(f"== bench.{name}", flush=True)
        try:
            section = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        print(section.markdown())
        print(f"(bench.{name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
        sections.append(section)

    figures: list[Figure] = [f for s in sections for f in s.figures]
    print(summary(figures))
    if out is not None and sections:
        write_document(out, intro(args.quick), sections, SUITE)
        print(f"\nwritten: {out}")
    if failed:
        print(f"\ncrashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
