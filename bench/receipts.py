"""Receipt rendering per receipt: ESC/POS and PDF, next to a bare reportlab canvas.

    python -m bench.receipts [--runs N] [--quick]

The baseline draws the same text lines with a bare reportlab canvas and the
same embedded CJK font, so the figure shows what layout, QR and atomic
writing add. Medians; reported, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench.report import Figure, Section, median_seconds
from cashier.domain.money import Fen
from cashier.receipts import Receipt, ReceiptLine, ReceiptTender

#: Issue 22's budgets: a PDF receipt within 1.5x a bare canvas with the same text, the
#: ESC/POS bytes ready within 5 ms.
PDF_TARGET, ESCPOS_TARGET_MS = 1.5, 5.0


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


def run(quick: bool = False, runs: int | None = None) -> Section:
    from reportlab.pdfgen.canvas import Canvas

    from cashier.receipts.escpos import render_escpos
    from cashier.receipts.layout import receipt_text_lines
    from cashier.receipts.pdf import cjk_font, render_pdf

    runs = runs or (3 if quick else 30)
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

        renderers = {
            "escpos": lambda: render_escpos(receipt, 80),
            "pdf": lambda: render_pdf(receipt, out / "r.pdf"),
            "bare": bare,
        }
        for render in renderers.values():
            render()  # warm: fonts registered, modules imported
        # Interleaved, so that a noisy machine affects all three alike.
        samples: dict[str, list[float]] = {k: [] for k in renderers}
        for _ in range(runs):
            for key, render in renderers.items():
                samples[key].append(median_seconds(render, 1, warm=False))
    escpos, pdf, canvas = (statistics.median(samples[k]) * 1000 for k in ("escpos", "pdf", "bare"))
    figures = [
        Figure(
            "receipts",
            "PDF receipt, 80 mm roll",
            pdf,
            "ms",
            baseline=canvas,
            baseline_name="bare reportlab canvas",
            target=f"≤ {PDF_TARGET}× bare",
            met=pdf <= PDF_TARGET * canvas,
        ),
        Figure(
            "receipts",
            "ESC/POS receipt, 80 mm",
            escpos,
            "ms",
            digits=2,
            baseline=canvas,
            baseline_name="bare reportlab canvas",
            target=f"≤ {ESCPOS_TARGET_MS} ms",
            met=escpos <= ESCPOS_TARGET_MS,
        ),
    ]
    body = [
        f"Per receipt, median of {runs} runs (the three interleaved), ms; a five-line",
        "self-pay receipt.",
        "",
        "| rendering | ms | vs bare canvas |",
        "|---|---|---|",
        f"| ESC/POS 80 mm (bytes, GB18030, no transport) | {escpos:.2f} | {escpos / canvas:.2f}× |",
        f"| PDF 80 mm roll (file written) | {pdf:.1f} | {pdf / canvas:.2f}× |",
        f"| bare reportlab canvas, same text and font (baseline) | {canvas:.1f} | 1.00× |",
        "",
        "The baseline draws the receipt's own text lines with a bare reportlab canvas and the",
        "same embedded CJK TrueType font. The PDF adds the QR code, the",
        "training watermark, the layout and an fsync'd atomic write to what the bare canvas",
        "does; ESC/POS builds bytes only and does not touch reportlab.",
    ]
    return Section("receipts", "Receipt rendering", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="runs (default 30; quick 3)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(run(args.quick, args.runs).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
