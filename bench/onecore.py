"""One slow core: the start-up, latency and search figures measured twice in one run, as
they are and with every process pinned to one core (``taskset -c 0``) on the low-spec
theme (``CASHIER_LOW_SPEC=1``, docs/low-spec.md), side by side.

    python -m bench.onecore [--quick]

Each half runs in a child process (``taskset`` pins it, and the app processes the start-up
benchmark spawns inherit the pin); each figure keeps its own same-run baseline, so a
figure is read against its baseline on the same core. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from bench.report import Figure, Section

PARTS = ("startup", "latency", "search")


def child(quick: bool) -> list[dict]:
    """The figures of :data:`PARTS` in this process, as plain data."""
    import importlib

    out = []
    for name in PARTS:
        section = importlib.import_module(f"bench.{name}").run(quick=quick)
        out.extend(
            {"name": f.name, "value": f.value, "unit": f.unit, "digits": f.digits,
             "baseline": f.baseline, "baseline_name": f.baseline_name}
            for f in section.figures
        )  # fmt: skip
    return out


def _half(quick: bool, pinned: bool) -> list[dict]:
    cmd = [sys.executable, "-m", "bench.onecore", "--child"] + (["--quick"] if quick else [])
    env = dict(os.environ)
    if pinned:
        cmd = ["taskset", "-c", "0", *cmd]
        env["CASHIER_LOW_SPEC"] = "1"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> Section:
    if shutil.which("taskset") is None:
        raise RuntimeError("taskset (util-linux) is needed to pin a process to one core")
    normal = _half(quick, pinned=False)
    one = {f["name"]: f for f in _half(quick, pinned=True)}
    rows, figures = [], []
    for f in normal:
        g = one.get(f["name"])
        if g is None:
            continue

        def cell(x: dict) -> str:
            ratio = f" ({x['value'] / x['baseline']:.2f}×)" if x["baseline"] else ""
            return f"{x['value']:,.{x['digits']}f} {x['unit']}{ratio}"

        rows.append(f"| {f['name']} | {cell(f)} | {cell(g)} |")
        figures.append(
            Figure("onecore", f"one core, low-spec: {f['name']}", g["value"], g["unit"],
                   g["digits"], g["baseline"], g["baseline_name"])
        )  # fmt: skip
    cores = os.cpu_count()
    body = f"""
The same figures, measured as they are ({cores} cores) and then with every process of
the benchmark pinned to one core (`taskset -c 0`) on the low-spec theme, in one run;
in brackets each figure against its own baseline measured beside it (the bare app, the
sandbox's handling, the raw SQL).{" Quick mode: small sizes, one run." if quick else ""}

| figure | as is | one core, low-spec |
|---|---|---|
{chr(10).join(rows)}
"""
    return Section("onecore", "One slow core", body, tuple(figures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        from bench.till import without_card_reader

        without_card_reader()
        figures = child(args.quick)
        print(json.dumps(figures))
        return 0
    print(run(args.quick).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
