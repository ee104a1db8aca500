"""Start-up to the login screen and to a ready sale screen, and idle memory, next to a
bare Textual app, in one run.

    python -m bench.startup [--runs N] [--quick]

Each start is a fresh process (``bench/_probe.py``), headless at 80×24, timed from
process creation (interpreter start-up included) to the screen being ready. The three
kinds (bare, login, sale) are interleaved so that a noisy machine affects all alike;
each figure is the median of N runs. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.report import Figure, Section
from bench.till import external_insurer

HERE = Path(__file__).resolve().parent
KINDS = ("bare", "login", "sale", "external")
#: ``external``: the sale screen of a counter whose insurer is another process (a real
#: counter's set-up: ``[insurer] url``), where ``sale`` starts the training sandbox inside.
TIME_TARGETS = {"login": 1.2, "sale": 1.5}  # issue 22, against the bare app
MEMORY_TARGET = 1.4
MIB = 2**20


def probe(
    kind: str, data_dir: Path, idle: float = 1.0, config: Path | None = None
) -> tuple[float, int]:
    """One start of ``kind``: (seconds from process creation to ready, RSS bytes after
    ``idle`` seconds idle). ``external`` is ``sale`` with the settings of ``config``."""
    env = dict(os.environ)
    if kind == "external":
        kind, env["CASHIER_CONFIG"] = "sale", str(config)
    out = subprocess.run(
        [sys.executable, str(HERE / "_probe.py"), kind, str(data_dir), str(idle)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    ).stdout.split()
    return float(out[1]), int(out[2])


def compile_project() -> None:
    """Byte-compile the cashier's packages, as an installed counter has them.

    pip compiles what it installs (Textual included), but the cashier is installed
    editable, and where ``PYTHONDONTWRITEBYTECODE`` is set (as on this machine) every
    start would compile the cashier's own modules again: measured, that is start-up the
    bare app never pays. ``scripts/setup-env`` compiles them the same way.
    """
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("cashier", "cashier_sandbox"):
        compileall.compile_dir(root / package, quiet=1)


def seeded_station(data_dir: Path) -> None:
    """The training station a start opens, created and seeded (demo catalog, operators)."""
    from cashier.config import load_settings
    from cashier.services.station import open_station

    open_station(load_settings(None, data_dir)).close()


def measure(runs: int, *, together: bool = False) -> dict[str, tuple[float, float]]:
    """Median (seconds to ready, idle RSS bytes) per kind over ``runs`` interleaved starts;
    ``together``: the kinds of a round start at the same time (quick mode: faster, and the
    figures then say nothing)."""
    idle = 0.2 if together else 1.0
    compile_project()
    with tempfile.TemporaryDirectory() as tmp, external_insurer(Path(tmp)) as insurer:
        data_dir = Path(tmp) / "station"
        seeded_station(data_dir)  # here, once: seeding is not part of a start
        samples: dict[str, list[tuple[float, int]]] = {k: [] for k in KINDS}
        with ThreadPoolExecutor(max_workers=len(KINDS) if together else 1) as pool:
            for _ in range(runs):
                for kind, sample in zip(
                    KINDS,
                    pool.map(lambda k: probe(k, data_dir, idle, insurer.config), KINDS),
                    strict=True,
                ):
                    samples[kind].append(sample)
    return {
        k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
        for k, v in samples.items()
    }


def run(quick: bool = False, runs: int | None = None) -> Section:
    runs = runs or (1 if quick else 9)
    med = measure(runs, together=quick)
    bare_t, bare_m = med["bare"]
    figures = []
    for kind, label in (("login", "login screen"), ("sale", "ready sale screen")):
        t = med[kind][0]
        figures.append(
            Figure(
                "startup",
                f"start-up to {label}",
                t,
                "s",
                digits=3,
                baseline=bare_t,
                baseline_name="bare app",
                target=f"≤ {TIME_TARGETS[kind]}× bare",
                met=t <= TIME_TARGETS[kind] * bare_t,
            )
        )
    for kind, label in (
        ("login", "login screen"),
        ("external", "sale screen, external insurer"),
        ("sale", "sale screen, the training sandbox inside"),
    ):
        m = med[kind][1]
        budget = kind == "external"  # issue 22: a real counter's set-up; the rest beside it
        figures.append(
            Figure(
                "startup",
                f"idle resident memory, {label}",
                m / MIB,
                "MiB",
                baseline=bare_m / MIB,
                baseline_name="bare app",
                target=f"≤ {MEMORY_TARGET}× bare" if budget else "",
                met=m <= MEMORY_TARGET * bare_m if budget else None,
            )
        )
    rows = [
        f"| {label} | {med[kind][0]:.3f} | {med[kind][0] / bare_t:.2f}× "
        f"| {med[kind][1] / MIB:.1f} | {med[kind][1] / bare_m:.2f}× |"
        for kind, label in (
            ("bare", "bare Textual app (one label)"),
            ("login", "cashier: login screen"),
            ("sale", "cashier: ready sale screen (the training sandbox inside)"),
            ("external", "cashier: ready sale screen, external insurer"),
        )
    ]
    body = [
        f"Median of {runs} runs of each, interleaved, each a fresh process (`bench/_probe.py`),",
        *(
            ["(quick mode: the three started at once, so these figures mean nothing)"]
            if quick
            else []
        ),
        "headless at 80×24, timed from process creation (interpreter start-up included) to",
        "the screen being ready: the bare app's label mounted; the login screen mounted; the",
        "sale screen mounted with its entry focused. For the sale screen the demo cashier's",
        "code and PIN are typed as key events and the typing is not counted: the figure is",
        "the start to the login screen plus the Enter of the PIN to the ready sale screen",
        "(the PIN check, scrypt, and building the sale screen with its first imports). The",
        "code is typed once the insurer connection, started in the background half a second",
        "after the login screen, is up — as it is by the time a person has typed a code and a",
        "PIN. Memory is the resident set a second after ready, idle (0.2 s in quick mode).",
        "*External insurer*: the same start with `[insurer] url` set to a sandbox served by",
        "a process of its own (`cashier sandbox`), as a real counter's insurer is across the",
        "network; the training station starts its sandbox inside the cashier's process.",
        "",
        "| start | to ready (s) | ratio | idle RSS (MiB) | ratio |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "**What limits it.** Against the bare app, the login screen adds importing the",
        "cashier's modules, peewee and the widgets its screens use, and opening and migrating",
        "SQLite and checking the training station's seed data before the first screen. The",
        "ready sale screen adds the PIN check (scrypt with N = 2¹⁴, r = 8: some 50 ms by",
        "design, against brute force) and the sale screen's first imports (checkout, printing",
        "and the receipt documents, pyscard for the card watcher) and its composition. Idle",
        "memory adds the sandbox insurer and the in-doubt recovery, started half a second",
        "after the login screen in a worker (so they do not delay it), and at the sale screen",
        "the card, order-folder and printer workers (the training station's insurer is a",
        "sandbox in the same process; a real counter's is across the network).",
        "",
        "**What was tried.** Heavy modules are imported on first use, not at start:",
        "reportlab (PDF), pyzbar and pillow (camera), python-escpos, psycopg (PostgreSQL",
        "only), the report and reconciliation code (`tests/integration/test_startup_imports.py` keeps it",
        "so). The insurer connection and the in-doubt recovery start in a worker after the",
        "login screen is painted. The cashier's packages are byte-compiled at install",
        "(`scripts/setup-env`) and before this bench: the install is editable, and where",
        "`PYTHONDONTWRITEBYTECODE` is set every start used to compile the cashier's own",
        "modules again (measured: 1.26 s → 0.73 s to a ready sale screen in one probe). What",
        "is left at the sale screen is the PIN's scrypt (kept, on purpose), the insurer",
        "interface's message classes and the sandbox, and the sale screen's own widgets.",
        "",
        "**The profile.** `python -X importtime` of a start to the login screen (this",
        "session, 243 ms of imports in all): Textual 86 ms and rich 23 ms (the bare app",
        "imports most of them too), the cashier's own modules 35 ms (their own code:",
        "`cashier.config` 7 ms, `cashier.ui.app` 6 ms, `cashier.store.models` 5.7 ms, the",
        "dataclasses and peewee models built as they are imported), peewee 9 ms, asyncio",
        "with ssl 9 ms. The start's phases by the process clock (10 ms ticks, three starts):",
        "interpreter 20–60 ms, imports 170–250 ms, opening the station 0–20 ms, the app to",
        "its login screen 70–100 ms. *What it would take*: the cashier's own imports alone",
        "are some 25 % of the bare app's whole start, so 1.2× needs a first screen that",
        "paints before the cashier is imported (a login form importing Textual only, the",
        "cashier's modules, peewee and the station opened in the background while the code",
        "is typed), and the sale screen's modules imported then too; the PIN's scrypt stays.",
        "Idle memory: `tracemalloc` at the sale screen counts 34 MiB of Python objects",
        "against the bare app's 18, most of it code objects and the classes of the modules",
        "imported; the same split (imported when first needed) is what would lower it.",
        "",
        "The figures move with the machine's load: the bare app's own start has ranged from",
        "0.23 s to over 1.5 s on this shared 2-core machine; compare same-run ratios only.",
    ]
    return Section("startup", "Start-up and idle memory", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="starts of each kind (default 9; 1 quick)")
    parser.add_argument("--quick", action="store_true", help="one start of each kind")
    args = parser.parse_args(argv)
    print(run(args.quick, args.runs).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
