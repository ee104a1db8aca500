"""Receipt renderers: plain text, ESC/POS and PDF, checked with the real tools.

The PDF tests read the file back with poppler (``pdftotext``, ``pdffonts``,
``pdfinfo``, ``pdftoppm``) and the QR code with ``zbarimg``; when one is
missing they fail and say which package to install.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashier.domain.money import Fen
from cashier.errors import DeviceError
from cashier.receipts import InsuranceSummary, Receipt, ReceiptLine, ReceiptTender
from cashier.receipts import pdf as receipts_pdf
from cashier.receipts.escpos import escpos_text, render_escpos
from cashier.receipts.layout import (
    display_width,
    fit,
    pad_left,
    pad_right,
    receipt_text_lines,
    wrap,
)
from cashier.receipts.pdf import render_pdf
from cashier.receipts.text import render_text
from tests.support.tools import require_tool

LONG_NAME = "注射用头孢哌酮钠舒巴坦钠（舒普深）"  # 34 cells: wider than a 58 mm row
NAMES = (LONG_NAME, "阿莫西林胶囊", "静脉输液（第一组）")


def _receipt() -> Receipt:
    return Receipt(
        title="门诊收费票据",
        clinic_name="北京市朝阳区示例社区卫生服务中心",
        station_id="S01",
        receipt_no="S01-20240501-000123",
        operator="1001 王*",
        issued_at=datetime(2024, 5, 1, 9, 30, 5),
        lines=(
            ReceiptLine(LONG_NAME, "1.5g×1支", "支", 2, Fen(4850), Fen(9700), "西药费", "乙"),
            ReceiptLine(NAMES[1], "0.25g×24粒/盒", "盒", 1, Fen(1250), Fen(1250), "西药费", "甲"),
            ReceiptLine(NAMES[2], "", "次", 1, Fen(800), Fen(800), "治疗费"),
        ),
        total=Fen(11750),
        tenders=(
            ReceiptTender("微信支付", Fen(5000), "4200001234****5678"),
            ReceiptTender("现金", Fen(7000)),
        ),
        paid=Fen(12000),
        change=Fen(250),
        patient="张*三 110105********1234",
    )


def _insured_reprint() -> Receipt:
    return dataclasses.replace(
        _receipt(),
        insurance=InsuranceSummary(
            insutype_name="职工基本医疗保险",
            setl_id="110000202405010930050001",
            mdtrt_id="110000MDT20240501000077",
            fund_pay=Fen(6000),
            account_pay=Fen(2000),
            cash_part=Fen(3750),
            balance_after=Fen(123456),
            mutual_aid_pay=Fen(500),
        ),
        reprint=2,
        training=True,
    )


RECEIPTS = pytest.mark.parametrize(
    "receipt", [_receipt(), _insured_reprint()], ids=["plain", "insured"]
)


def _flat(text: str) -> str:
    """Text without any whitespace, so a name wrapped over rows still matches."""
    return "".join(text.split())


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


# -- layout ---------------------------------------------------------------------


def test_display_width_counts_wide_and_fullwidth_as_two() -> None:
    assert display_width("abc") == 3
    assert display_width("找零") == 4
    assert display_width("￥12.50") == 7  # U+FFE5 is full-width
    assert display_width("×—") == 2
    assert display_width("×—", ambiguous=2) == 4  # how a printer in Chinese mode prints them


def test_fit_and_pad_never_split_a_wide_character() -> None:
    assert fit("找零￥2.50", 5) == "找零"
    assert pad_right("找零", 7) == "找零   "
    assert pad_left("找零", 7) == "   找零"
    assert pad_left("中文很长的名字", 5) == " 中文"


@given(st.text(alphabet="ab 1.中文（）￥×", max_size=60), st.integers(min_value=2, max_value=40))
def test_wrap_keeps_every_character_within_the_width(text: str, width: int) -> None:
    rows = wrap(text, width)
    assert all(display_width(row) <= width for row in rows)
    assert _flat("".join(rows)) == _flat(text)


def test_wrap_does_not_start_a_row_with_a_closing_bracket() -> None:
    rows = wrap(f"{LONG_NAME} 1.5g×1支", 32)
    assert not any(row.startswith("）") for row in rows)


def test_subtotals_only_with_more_than_one_fee_category() -> None:
    grouped = render_text(_receipt())
    assert "【西药费】" in grouped and "西药费小计" in grouped and "￥109.50" in grouped
    one = dataclasses.replace(_receipt(), lines=_receipt().lines[:2], total=Fen(10950))
    assert "小计" not in render_text(one) and "【" not in render_text(one)


# -- plain text -------------------------------------------------------------------


@RECEIPTS
@pytest.mark.parametrize("columns", [32, 40, 48, 64])
def test_text_rows_never_exceed_the_width(receipt: Receipt, columns: int) -> None:
    text = render_text(receipt, columns)
    assert all(display_width(row) <= columns for row in text.splitlines())
    for name in NAMES:
        assert name in text.replace("\n", "")
    assert receipt.total.display() in text
    assert "找零" in text and receipt.change.display() in text
    assert "2024-05-01 09:30:05" in text


def test_text_shows_training_reprint_and_insurance() -> None:
    text = render_text(_insured_reprint())
    for expected in (
        "培训模式 — 非正式票据",
        "重打（第2次）",
        "110000202405010930050001",
        "110000MDT20240501000077",
        "职工基本医疗保险",
        "共济",
        "￥5.00",
        "现金部分",
        "￥37.50",
        "￥1234.56",
    ):
        assert expected in text
    plain = render_text(_receipt())
    assert "重打" not in plain and "培训模式" not in plain and "医保统筹" not in plain


_TEXT = st.text(alphabet="aZ9 .-*×—（）【】，。￥中文药品名称规格", max_size=50)
_FEN = st.integers(min_value=0, max_value=10_000_000_00).map(Fen)


@st.composite
def _any_receipt(draw: st.DrawFn) -> Receipt:
    line = st.builds(
        ReceiptLine, _TEXT, _TEXT, _TEXT, st.integers(1, 9999), _FEN, _FEN, _TEXT, _TEXT
    )
    insurance = st.none() | st.builds(
        InsuranceSummary, _TEXT, _TEXT, _TEXT, _FEN, _FEN, _FEN, st.none() | _FEN, _FEN
    )
    return Receipt(
        title=draw(_TEXT),
        clinic_name=draw(_TEXT),
        station_id=draw(_TEXT),
        receipt_no=draw(_TEXT),
        operator=draw(_TEXT),
        issued_at=datetime(2024, 5, 1, 9, 30, 5),
        lines=tuple(draw(st.lists(line, max_size=4))),
        total=draw(_FEN),
        tenders=tuple(draw(st.lists(st.builds(ReceiptTender, _TEXT, _FEN, _TEXT), max_size=3))),
        paid=draw(_FEN),
        change=draw(_FEN),
        patient=draw(_TEXT),
        insurance=draw(insurance),
        reprint=draw(st.integers(0, 3)),
        training=draw(st.booleans()),
        footer=tuple(draw(st.lists(_TEXT, max_size=2))),
    )


@settings(deadline=None)  # the first example imports python-escpos
@given(_any_receipt(), st.sampled_from([32, 48]))
def test_any_receipt_fits_its_width_on_screen_and_paper(receipt: Receipt, columns: int) -> None:
    assert all(display_width(row) <= columns for row in render_text(receipt, columns).splitlines())
    printed = escpos_text(render_escpos(receipt, 58 if columns == 32 else 80))
    assert all(display_width(row, ambiguous=2) <= columns for row in printed.splitlines())
    assert receipt.change.display() in printed


def test_text_refuses_fewer_than_32_columns() -> None:
    with pytest.raises(ValueError):
        render_text(_receipt(), 31)


def test_amounts_are_flush_right() -> None:
    rows = render_text(_receipt(), 48).splitlines()
    total = next(row for row in rows if row.startswith("合计"))
    change = next(row for row in rows if row.startswith("找零"))
    assert display_width(total) == display_width(change) == 48


# -- ESC/POS ----------------------------------------------------------------------


@RECEIPTS
@pytest.mark.parametrize(("paper", "columns"), [(58, 32), (80, 48)])
def test_escpos_reads_back_with_every_item_and_amount(
    receipt: Receipt, paper: int, columns: int
) -> None:
    raw = render_escpos(receipt, paper)
    text = escpos_text(raw)
    for name in NAMES:
        assert name in text.replace("\n", "")
    assert receipt.total.display() in text
    assert "找零" in text and receipt.change.display() in text
    # A printer in Chinese mode prints every non-ASCII character two columns wide.
    assert all(display_width(row, ambiguous=2) <= columns for row in text.splitlines())
    assert raw.startswith(b"\x1b@\x1c\x26")  # ESC @, then FS & before any text
    assert "找零".encode("gb18030") in raw
    assert b"\x1dV" in raw  # GS V: cut
    assert b"\x1d(k" in raw and receipt.qr_payload.encode() in raw  # native QR
    assert b"\x1d!\x11" in raw  # GS ! double width and height for the totals


def test_escpos_big_rows_fit_at_double_width() -> None:
    rows = receipt_text_lines(_receipt(), 32, big_scale=2, ambiguous=2)
    big = [text for style, text in rows if style == "big"]
    assert len(big) == 2 and all(display_width(t, ambiguous=2) <= 16 for t in big)


def test_escpos_options() -> None:
    receipt = _receipt()
    bare = render_escpos(receipt, 58, qr=False, cut=False)
    assert b"\x1d(k" not in bare and b"\x1dV" not in bare and b"\x1bp" not in bare
    kicked = render_escpos(receipt, 80, kick_drawer=True)
    assert b"\x1bp\x00" in kicked  # ESC p 0: drawer pin 2
    assert "找零" in escpos_text(bare) and "找零" in escpos_text(kicked)
    with pytest.raises(ValueError):
        render_escpos(receipt, 76)


def test_escpos_text_strips_commands_with_their_parameters() -> None:
    job = (
        b"\x1b@\x1c&\x1ba\x01\x1bE\x01\x1b!\x00\x1d!\x11"
        + "合计".encode("gb18030")
        + b"\x1d(k\x05\x001P0AB"  # GS ( k with 5 bytes of parameters
        + b"\n\x1bd\x06\x1dVB\x00\x1bp\x00\x32\x32\x1bt\x00\x1c."
    )
    assert escpos_text(job) == "合计\n"
    with pytest.raises(ValueError):
        escpos_text(b"\x1b\x99")


# -- PDF --------------------------------------------------------------------------


@RECEIPTS
@pytest.mark.parametrize("paper", ["80mm", "a5"])
def test_pdf_text_reads_back(receipt: Receipt, paper: str, tmp_path: Path) -> None:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    out = render_pdf(receipt, tmp_path / "r.pdf", paper=paper)
    assert out == tmp_path / "r.pdf"
    text = _run(pdftotext, "-layout", str(out), "-")
    flat = _flat(text)
    for name in NAMES:
        assert name in flat
    assert receipt.total.display() in text
    assert "找零" in text and receipt.change.display() in text
    assert ("重打（第2次）" in text) == (receipt.reprint == 2)
    assert ("培训模式" in text) == receipt.training
    assert os.listdir(tmp_path) == ["r.pdf"]  # no temp file left behind


@pytest.mark.parametrize("paper", ["80mm", "a5"])
def test_pdf_font_is_embedded(paper: str, tmp_path: Path) -> None:
    pdffonts = require_tool("pdffonts", "poppler-utils")
    out = render_pdf(_insured_reprint(), tmp_path / "r.pdf", paper=paper)
    rows = _run(pdffonts, str(out)).splitlines()[2:]
    assert rows, "the PDF uses no font"
    assert any("WenQuanYi" in row for row in rows)
    for row in rows:
        # columns: name type encoding emb sub uni object ID (type may be two words)
        assert row.split()[-5] == "yes", f"font not embedded: {row}"


def test_pdf_roll_is_one_page_80mm_wide_with_metadata(tmp_path: Path) -> None:
    pdfinfo = require_tool("pdfinfo", "poppler-utils")
    out = render_pdf(_insured_reprint(), tmp_path / "r.pdf")
    info = dict(
        (key.strip(), value.strip())
        for key, _, value in (row.partition(":") for row in _run(pdfinfo, str(out)).splitlines())
    )
    assert info["Pages"] == "1"
    width, height = (float(v) for v in info["Page size"].split()[0:3:2])
    assert abs(width - 80 * 72 / 25.4) < 0.1
    assert 150 * 72 / 25.4 < height < 400 * 72 / 25.4  # as long as the content, no tail
    assert info["Title"] == "门诊收费票据 S01-20240501-000123"
    assert info["Author"] == "北京市朝阳区示例社区卫生服务中心"


def test_pdf_qr_code_carries_the_receipt_payload(tmp_path: Path) -> None:
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    zbarimg = require_tool("zbarimg", "zbar-tools")
    receipt = _insured_reprint()  # with the training watermark behind it
    out = render_pdf(receipt, tmp_path / "r.pdf")
    _run(pdftoppm, "-png", "-r", "200", str(out), str(tmp_path / "page"))
    (png,) = tmp_path.glob("page*.png")
    decoded = _run(zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png))
    assert decoded.strip() == receipt.qr_payload


def test_pdf_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.pdf"
    target.write_bytes(b"the previous receipt")

    def broken_qr(*args: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(receipts_pdf, "_qr", broken_qr)
    with pytest.raises(RuntimeError):
        render_pdf(_receipt(), target)
    assert target.read_bytes() == b"the previous receipt"
    assert os.listdir(tmp_path) == ["r.pdf"]


def test_pdf_refuses_unknown_paper(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_pdf(_receipt(), tmp_path / "r.pdf", paper="a3")  # type: ignore[arg-type]


def test_missing_cjk_font_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipts_pdf, "_font_file", None)
    monkeypatch.setattr(receipts_pdf, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.delenv("CASHIER_CJK_FONT", raising=False)
    with pytest.raises(DeviceError, match="apt-get install fonts-wqy-microhei"):
        receipts_pdf.cjk_font()
    monkeypatch.setenv("CASHIER_CJK_FONT", "/nonexistent/other.ttf")
    with pytest.raises(DeviceError, match="CASHIER_CJK_FONT"):
        receipts_pdf.cjk_font()
