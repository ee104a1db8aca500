"""Start-up to the login screen and idle memory, next to a bare Textual app, in one run.

    python -m bench.startup [--runs N] [--out docs/benchmarks.md]

Each figure is the median of N runs, cashier and bare app interleaved so a
noisy machine affects both alike. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def probe(kind: str, data_dir: Path) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, str(HERE / "_probe.py"), kind, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    return float(out[1]), int(out[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the table to this Markdown file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        probe("cashier", data_dir)  # first start seeds the training station; not counted
        samples: dict[str, list[tuple[float, int]]] = {"cashier": [], "bare": []}
        for _ in range(args.runs):
            for kind in samples:
                samples[kind].append(probe(kind, data_dir))
    med = {
        k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
        for k, v in samples.items()
    }
    (c_t, c_m), (b_t, b_m) = med["cashier"], med["bare"]
    rows = [
        ("start-up to login screen (s)", f"{c_t:.3f}", f"{b_t:.3f}", f"{c_t / b_t:.2f}×"),
        (
            "idle resident memory (MiB)",
            f"{c_m / 2**20:.1f}",
            f"{b_m / 2**20:.1f}",
            f"{c_m / b_m:.2f}×",
        ),
    ]
    table = [
        f"Median of {args.runs} runs each, interleaved, headless at 80×24, "
        "from process creation (interpreter start-up included).",
        "",
        "| measure | cashier | bare Textual app (one label) | ratio |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    print("\n".join(table))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Benchmarks\n\nMeasured by `python -m bench.startup` on the development machine "
            "(2 cores).\n\n## Start-up and idle memory\n\n" + "\n".join(table) + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
