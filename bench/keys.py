"""Keystrokes for a routine insured clinic visit and a three-item pharmacy cash sale.

    python -m bench.keys

Drives the real app with Pilot (headless, 80×24, training station, sandbox insurer on
loopback) the way ``tests/app/test_insured_app.py`` does, and counts the keys the cashier
presses after logging in; a scanner's burst is a scan, not keys. Each visit must end
as a completed sale in the database, or the count is refused.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.report import Figure, Section
from bench.till import (
    THREE_ITEMS,
    Till,
    barcode,
    bench_settings,
    new_order,
    open_till,
    without_card_reader,
)
from cashier.domain.money import Fen

#: The routine clinic patient: 刘洋 (城乡居民, no personal account) and her demo order.
CLINIC_PERSON, CLINIC_CERTNO = "P004", "110105199006070055"
#: The design's promise for the routine visit (design.md): a scan and two keys.
CLINIC_KEYS_TARGET = 2
#: How the cash part is taken: exact (F10), or a ¥100 note (F9, then F8 per note).
WAYS = ("exact", "note")


@dataclass(frozen=True)
class KeyCount:
    """One sale as the cashier did it: the keys pressed, the scans, how it was paid."""

    name: str
    keys: int
    scans: int
    pressed: tuple[str, ...]
    kind: str  # the completed sale's kind: insured / selfpay
    total: Fen
    paid: Fen
    change: Fen


def _completed(name: str, till: Till, pressed: tuple[str, ...]) -> KeyCount:
    from cashier.store.models import Sale
    from cashier.ui.screens.sale import SaleScreen

    sale = Sale.select().order_by(Sale.id.desc()).first()
    if sale is None or sale.status != "completed" or not isinstance(till.app.screen, SaleScreen):
        raise RuntimeError(f"{name}: the sale did not complete ({sale and sale.status})")
    return KeyCount(
        name,
        till.keys,
        till.scans,
        pressed,
        sale.kind,
        sale.total,
        sale.paid,
        sale.change,
    )


async def clinic_visits(data_dir: Path, ways: tuple[str, ...] = WAYS) -> list[KeyCount]:
    """The routine insured visit, paid each way: exact cash (F10), a ¥100 note (F9, F8)."""
    out = []
    async with open_till(bench_settings(data_dir, kind="clinic")) as till:
        for n, how in enumerate(ways):
            if n:
                new_order(CLINIC_CERTNO, f"BENCH-KEYS-{n}")
            till.start_count()
            await till.scan(till.qr(CLINIC_PERSON))  # identified; the order pre-settles itself
            part = till.sale.checkout.insured
            if part is None or part.presettlement is None:
                raise RuntimeError("the 医保码 scan did not pre-settle the visit")
            pressed = await till.pay_cash(how)
            label = "exact cash" if how == "exact" else "a ¥100 note"
            out.append(_completed(f"insured clinic visit, {label}", till, pressed))
    return out


async def pharmacy_sales(data_dir: Path, ways: tuple[str, ...] = WAYS) -> list[KeyCount]:
    """Three boxes scanned, paid in cash each way: exact (F10), a ¥100 note (F9, F8)."""
    out = []
    async with open_till(bench_settings(data_dir, kind="pharmacy"), insurer=False) as till:
        for how in ways:
            till.start_count()
            for code in THREE_ITEMS:
                await till.scan(barcode(code))
            if len(till.sale.checkout.lines) != len(THREE_ITEMS):
                raise RuntimeError("the three scans did not make three lines")
            pressed = await till.pay_cash(how)
            label = "exact cash" if how == "exact" else "a ¥100 note"
            out.append(_completed(f"three-item pharmacy cash sale, {label}", till, pressed))
    return out


def measure(workdir: Path, ways: tuple[str, ...] = WAYS) -> list[KeyCount]:
    """Every counted sale, clinic first; each station in its own data directory."""

    async def both() -> list[KeyCount]:
        return [
            *await clinic_visits(workdir / "clinic", ways),
            *await pharmacy_sales(workdir / "pharmacy", ways),
        ]

    return asyncio.run(both())


def run(quick: bool = False) -> Section:
    """The keystroke section; quick mode pays exact cash only."""
    with tempfile.TemporaryDirectory() as tmp:
        counts = measure(Path(tmp), WAYS[:1] if quick else WAYS)
    figures = [
        Figure(
            "keys",
            f"keystrokes, {c.name}",
            c.keys,
            "",
            digits=0,
            target=f"≤ {CLINIC_KEYS_TARGET} (design.md)" if c.kind == "insured" else "",
            met=c.keys <= CLINIC_KEYS_TARGET if c.kind == "insured" else None,
        )
        for c in counts
    ]
    rows = [
        f"| {c.name} | {c.scans} | {c.keys} | {' '.join(k.upper() for k in c.pressed)} "
        f"| {c.total} | {c.paid} | {c.change} |"
        for c in counts
    ]
    body = [
        "Counted by driving the real app with Pilot (headless, 80×24, training station, the",
        "sandbox insurer on loopback), as `tests/app/test_insured_app.py` does: keys pressed after",
        "the cashier is logged in, until the sale is completed in the database and the sale",
        "screen is back. A scanner's burst (医保码 or product barcode) is a scan, not keys.",
        "",
        "| sale | scans | keys | keys pressed | total ¥ | paid ¥ | change ¥ |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "The clinic visit is 刘洋 (城乡居民, no personal account) with her clinic order: the",
        "scan identifies her (ec.query, 1101), loads the order and pre-settles it by itself",
        "(2201, 2204, 2206); F10 settles (2207) and takes the cash part exactly; F9 settles and",
        "opens the payment screen, where F8 is a ¥100 note. The pharmacy sale scans three",
        f"boxes ({', '.join(THREE_ITEMS)}), then the same keys. design.md promises the routine",
        "visit in a scan and two keys.",
    ]
    return Section("keys", "Keystrokes per sale", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    without_card_reader()
    print(run().markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
