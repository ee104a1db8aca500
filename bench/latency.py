"""Scan-to-breakdown latency of an insured clinic visit, next to the insurer's own
handling time for the same calls, in one run.

    python -m bench.latency [--visits N] [--quick]

The real app, headless at 80×24 under Pilot, a training station whose sandbox insurer
serves on loopback. For each visit a fresh clinic order for 刘洋 is imported and a fresh
医保码 issued; its characters are sent as a scanner's burst; the clock starts as the
Enter that ends the burst is sent and stops when the screen has been refreshed after
the breakdown panel first shows the pre-settlement (``call_after_refresh``). Meanwhile
the app identifies the patient (ec.query, 1101), loads the order and pre-settles it
(2201, 2203, 2204, 2206). The baseline is the sum of the sandbox's own handling times for
those calls: ``SandboxInsurer.handling_ms`` for the national interface, and the same
clock around ``ec_query`` for the e-voucher service (which ``handling_ms`` does not
cover). Each visit is then settled and paid (F10) before the next. The first visit
is a warm-up (sign-in 9001, first imports) and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Figure, Section
from bench.till import Till, bench_settings, new_order, open_till, settle, without_card_reader

PERSON, CERTNO = "P004", "110105199006070055"  # 刘洋, with a demo clinic order
ADDED_TARGET_MS, ADDED_P95_TARGET_MS = 20, 40  # issue 22


@dataclass(frozen=True)
class Visit:
    """One scan, timed: the app's latency and what the insurer spent of it."""

    latency_ms: float  # Enter → breakdown drawn
    insurer_ms: float  # the sandbox's handling of the calls in between
    round_trip_ms: float  # the client's HTTP round trips for those calls (loopback)
    calls: tuple[str, ...]  # infno of each call, in order (ec.query for the e-voucher)
    client_ms: float = 0.0  # the client's calls (ec_query, call) including their round trips
    refresh_ms: float = 0.0  # the sale screen redrawing its widgets (refresh_sale), UI thread
    busy_ms: float = 0.0  # workers waiting for the UI thread to show / hide "loading"
    frame_ms: float = 0.0  # the breakdown updated → the screen refresh that draws it

    @property
    def parts(self) -> dict[str, float]:
        """The latency cut into consecutive parts (they add up to it)."""
        parts = {
            "insurer": self.insurer_ms,
            "http": self.round_trip_ms - self.insurer_ms,
            "client": self.client_ms - self.round_trip_ms,
            "refresh": self.refresh_ms,
            "busy": self.busy_ms,
            "frame": self.frame_ms,
        }
        parts["rest"] = self.latency_ms - sum(parts.values())
        return parts

    @property
    def added_ms(self) -> float:
        return self.latency_ms - self.insurer_ms


def _timed(method, times: list[float]):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            times.append((time.perf_counter() - started) * 1000)

    return timed


class Meter:
    """Records, per insurer call, what the sandbox spent handling it and what the client's
    round trip took, and the time the sale screen spent redrawing and waiting for its
    loading indicator; wraps methods on those instances only."""

    def __init__(self, sandbox, client, screen) -> None:
        self.handled: list[tuple[bytes | str, float]] = []  # (request body | "ec.query", ms)
        self.round_trips: list[float] = []
        self.spent: dict[str, list[float]] = {"refresh_sale": [], "_busy": [], "client": []}
        call, ec_query, post = sandbox.call, sandbox.ec_query, client._post
        for name in ("refresh_sale", "_busy"):
            setattr(screen, name, _timed(getattr(screen, name), self.spent[name]))
        for name in ("call", "ec_query"):
            setattr(client, name, _timed(getattr(client, name), self.spent["client"]))

        def timed_call(headers, body, *path):
            reply = call(headers, body, *path)
            self.handled.append((body, sandbox.handling_ms[-1]))  # measured by the sandbox
            return reply

        def timed_ec_query(body, headers=None):
            started = time.perf_counter()
            try:
                return ec_query(body, headers)
            finally:
                self.handled.append(("ec.query", (time.perf_counter() - started) * 1000))

        def timed_post(base_url, path, body, **kw):
            started = time.perf_counter()
            try:
                return post(base_url, path, body, **kw)
            finally:
                self.round_trips.append((time.perf_counter() - started) * 1000)

        sandbox.call, sandbox.ec_query, client._post = timed_call, timed_ec_query, timed_post

    def reset(self) -> None:
        self.handled.clear()
        self.round_trips.clear()
        for times in self.spent.values():
            times.clear()

    def calls(self) -> tuple[str, ...]:
        return tuple(b if isinstance(b, str) else json.loads(b)["infno"] for b, _ in self.handled)


async def visits(data_dir: Path, count: int, warm_up: bool = True) -> list[Visit]:
    """``count`` timed visits (after one uncounted, ``warm_up``) on a fresh training station."""
    out: list[Visit] = []
    async with open_till(bench_settings(data_dir, kind="clinic")) as till:
        meter = Meter(till.sandbox.insurer, till.app.insurer.client, till.sale)
        drawn = asyncio.Event()
        stopped: list[float] = []  # [shown, drawn]
        breakdown = till.sale.query_one("#breakdown")
        show = breakdown.show

        def mark() -> None:
            stopped.append(time.perf_counter())
            drawn.set()

        def timed_show(part, message: str = "") -> None:
            show(part, message)
            if part is not None and part.presettlement is not None and not stopped:
                stopped.append(time.perf_counter())
                till.sale.call_after_refresh(mark)

        breakdown.show = timed_show
        first = 0 if warm_up else 1
        for n in range(first, count + 1):
            if n:  # the demo order serves the first visit; each visit bills its order
                new_order(CERTNO, f"BENCH-LATENCY-{n}")
            visit = await _one(till, meter, drawn, stopped)
            if n:
                out.append(visit)
    return out


async def _one(till: Till, meter: Meter, drawn: asyncio.Event, stopped: list[float]) -> Visit:
    await till.burst(till.qr(PERSON))
    meter.reset()
    drawn.clear()
    stopped.clear()
    started = time.perf_counter()
    till.enter()
    await asyncio.wait_for(drawn.wait(), timeout=60)
    shown, drawn_at = stopped
    visit = Visit(
        (drawn_at - started) * 1000,
        sum(ms for _, ms in meter.handled),
        sum(meter.round_trips),
        meter.calls(),
        client_ms=sum(meter.spent["client"]),
        refresh_ms=sum(meter.spent["refresh_sale"]),
        busy_ms=sum(meter.spent["_busy"]),
        frame_ms=(drawn_at - shown) * 1000,
    )
    await settle(till.pilot)
    part = till.sale.checkout.insured
    if part is None or part.presettlement is None:
        raise RuntimeError("the visit was not pre-settled")
    await till.pay_cash("exact")  # settle (2207) and take the cash part: the next visit
    if till.sale.checkout.insured is not None:
        raise RuntimeError("the visit did not complete")
    return visit


def measure(workdir: Path, count: int, warm_up: bool = True) -> list[Visit]:
    return asyncio.run(visits(workdir, count, warm_up))


def run(quick: bool = False, count: int | None = None) -> Section:
    count = count or (1 if quick else 21)
    with tempfile.TemporaryDirectory() as tmp:
        measured = measure(Path(tmp), count, warm_up=not quick)

    def med(attr: str) -> float:
        return statistics.median(getattr(v, attr) for v in measured)

    latency, insurer, added = (med(a) for a in ("latency_ms", "insurer_ms", "added_ms"))
    parts = {k: statistics.median(v.parts[k] for v in measured) for k in measured[0].parts}
    calls = sorted({" ".join(v.calls) for v in measured})
    figures = [
        Figure(
            "latency",
            "scan-to-breakdown latency (median)",
            latency,
            "ms",
            baseline=insurer,
            baseline_name="sandbox handling, same calls",
        ),
        Figure(
            "latency",
            "added by the cashier on top of the insurer (median)",
            added,
            "ms",
            target=f"≤ {ADDED_TARGET_MS} ms",
            met=added <= ADDED_TARGET_MS,
        ),
    ]
    if len(measured) >= 2:
        p95 = statistics.quantiles([v.added_ms for v in measured], n=20)[18]
        figures.append(
            Figure(
                "latency",
                "added by the cashier on top of the insurer (95th percentile)",
                p95,
                "ms",
                target=f"≤ {ADDED_P95_TARGET_MS} ms",
                met=p95 <= ADDED_P95_TARGET_MS,
            )
        )
    body = [
        f"{count} visits {'(quick: no warm-up)' if quick else 'after a warm-up'}; medians, ms. "
        "The calls of each visit: " + "; ".join(f"`{c}`" for c in calls) + ".",
        "",
        "| Enter → breakdown drawn | sandbox handling (baseline) | added by the cashier |",
        "|---|---|---|",
        f"| {latency:.1f} | {insurer:.1f} | {added:.1f} |",
        "",
        "Where the time goes, in consecutive parts (medians of each part, so their sum is",
        "near the median latency, not equal to it):",
        "",
        "| part | ms |",
        "|---|---|",
        f"| the sandbox handling the calls (the baseline) | {parts['insurer']:.1f} |",
        f"| HTTP on loopback: the round trips less the sandbox's handling | {parts['http']:.1f} |",
        "| the client around the round trips: messages built, signed and checked; today's "
        f"sign-in and the next message number from SQLite | {parts['client']:.1f} |",
        "| the workers telling the UI thread they wait for the insurer and stop (`_busy`, "
        f"posted, not waited for) | {parts['busy']:.1f} |",
        "| the sale screen redrawing its widgets after identification and after the "
        f"pre-settlement (`refresh_sale`, UI thread) | {parts['refresh']:.1f} |",
        "| the breakdown updated → the screen refresh that draws it (Textual's frame) "
        f"| {parts['frame']:.1f} |",
        "| the rest: the burst detector, two workers started and their results handed to the "
        f"UI thread, the clinic order loaded, layout and paint in between | {parts['rest']:.1f} |",
        "",
        "Per visit, latency/sandbox: "
        + ", ".join(f"{v.latency_ms:.0f}/{v.insurer_ms:.0f}" for v in measured)
        + ".",
        "",
        "**What limits it, what was tried.** The insurer interface is six calls from the",
        "scan to the breakdown (ec.query, 1101, 2201, 2203, 2204, 2206), each a POST on a new",
        "connection: Python's `http.client` against the sandbox's `http.server`, some 3–4 ms",
        "a call on loopback before any handling (measured alone: 3.3–3.9 ms for an empty",
        "answer). Keeping the connection open was tried and dropped: on a reused connection",
        "a failure no longer tells *sent* from *not sent*, which the journal relies on, and",
        "`http.client` on a kept-alive connection met the 40 ms delayed-ACK stall (44 ms a",
        "call, measured). Done, from 186 ms added before this work: the workers no longer",
        "wait for the UI thread to show and hide the spinner (53 ms), and the spinner shows",
        "only after 0.3 s, so a quick answer does not flash it; the lines table is rebuilt",
        "only when its rows change and the panels only when their text changes; the",
        "`-insured` class moved from the screen to the side panel, so toggling it restyles",
        "six widgets, not the whole screen (32 ms a visit in pyinstrument); msgids come from",
        "a block reserved in one commit instead of one committed write per call. What is",
        "left is the client's own work per call (message built and checked, the journal),",
        "the HTTP round trips, and one Textual frame to draw the result.",
        "",
        "The sandbox serves from the app's own process (the training station), so both share",
        "one interpreter and its GIL, as they do at a training counter; the HTTP part is a new",
        "connection per call through the sandbox's `ThreadingHTTPServer` (a thread per",
        "connection). The clock stops at the refresh that draws the pre-settlement, so the",
        "wait for Textual's next frame is in the figure, as it is for the cashier's eyes.",
    ]
    return Section("latency", "Scan-to-breakdown latency", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    without_card_reader()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, help="timed visits (default 21; quick 1)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(run(args.quick, args.visits).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
