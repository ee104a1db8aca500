"""Receipt rendering per receipt: ESC/POS and PDF, next to a bare reportlab canvas.

    python -m bench.receipts [--runs N]

The baseline draws the same text lines with a bare reportlab canvas and the
same embedded CJK font, so the figure shows what layout, QR and atomic
writing add. Medians; reported, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from cashier.money import Fen
from receipts import Receipt, ReceiptLine, ReceiptTender


def sample() -> Receipt:
    lines = tuple(
        ReceiptLine(name, "0.25g*24粒", "盒", qty, Fen(price), Fen(price * qty), cat, "甲")
        for name, qty, price, cat in (
            ("阿莫西林胶囊", 2, 1250, "西药费"),
            ("头孢克肟分散片", 1, 2680, "西药费"),
            ("连花清瘟胶囊", 3, 1480, "中成药费"),
            ("血常规检查", 1, 2500, "化验费"),
            ("一次性注射器", 5, 80, "卫生材料费"),
        )
    )
    total = Fen.total(ln.amount for ln in lines)
    return Receipt(
        title="门诊收费票据",
        clinic_name="培训诊所（演示）",
        station_id="TRAIN-01",
        receipt_no="TRAIN-01-00000001",
        operator="1001 王小美",
        issued_at=datetime.now().astimezone(),
        lines=lines,
        total=total,
        tenders=(ReceiptTender("现金", Fen(20000)),),
        paid=Fen(20000),
        change=Fen(20000) - total,
    )


def median_ms(fn, runs: int) -> float:
    fn()  # warm: fonts registered, modules imported
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    from reportlab.pdfgen.canvas import Canvas

    from receipts.escpos import render_escpos
    from receipts.layout import receipt_text_lines
    from receipts.pdf import cjk_font, render_pdf

    receipt = sample()
    font = cjk_font()
    text = [t for _, t in receipt_text_lines(receipt, 48)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def bare() -> None:
            canvas = Canvas(str(out / "bare.pdf"), pagesize=(227, 20 + 12 * len(text)))
            canvas.setFont(font, 9)
            for i, row in enumerate(text):
                canvas.drawString(10, 10 + 12 * (len(text) - i), row)
            canvas.save()

        rows = [
            ("ESC/POS 80 mm", median_ms(lambda: render_escpos(receipt, 80), args.runs)),
            ("PDF 80 mm roll", median_ms(lambda: render_pdf(receipt, out / "r.pdf"), args.runs)),
            ("bare reportlab canvas, same text and font", median_ms(bare, args.runs)),
        ]
    print(f"| receipt rendering (median of {args.runs}) | ms |")
    print("|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
