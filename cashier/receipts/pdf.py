"""The receipt as a PDF: an 80 mm roll page as long as its content, or A5.

The content and its order come from :func:`cashier.receipts.layout.receipt_layout`;
here it is drawn in a proportional CJK font with amounts flush right. The
font is a TrueType CJK font (WenQuanYi Micro Hei) embedded in the file:
reportlab cannot embed OpenType/CFF fonts such as Noto CJK, and its built-in
CID fonts are not embedded, so a PDF using them shows boxes elsewhere.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from cashier.errors import DeviceError
from cashier.messages import say
from cashier.receipts.layout import LayoutLine, receipt_layout, split_line
from cashier.receipts.model import Receipt

if TYPE_CHECKING:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

__all__ = ["FONT_CANDIDATES", "Paper", "cjk_font", "render_pdf"]

Paper = Literal["80mm", "a5", "a4"]

#: Where the CJK font is looked for, after ``$CASHIER_CJK_FONT``.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian, Ubuntu
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Fedora
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Arch
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
FONT_ENV = "CASHIER_CJK_FONT"
_FONT_NAME = "WQY"
_MISSING_FONT = "缺少中文字体：请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei）"

_font_lock = threading.Lock()
_font_file: str | None = None  # the registered font's file, once registered

_MM = 72 / 25.4  # points per millimetre


@dataclass(frozen=True)
class _PageSpec:
    width: float  # points
    height: float | None  # None: as long as the content
    margin: float
    size: float  # body font size
    qr: float  # QR code side


_PAPERS: dict[str, _PageSpec] = {
    "80mm": _PageSpec(80 * _MM, None, 4 * _MM, 8.5, 26 * _MM),
    "a5": _PageSpec(148 * _MM, 210 * _MM, 14 * _MM, 10.5, 32 * _MM),
    "a4": _PageSpec(210 * _MM, 297 * _MM, 20 * _MM, 11.5, 36 * _MM),
}
_SCALE = {"title": 1.3, "big": 1.35}  # font size of a style relative to the body
_LEADING = 1.45
_TRAINING = "培训模式"


def cjk_font() -> str:
    """Register the CJK TrueType font with reportlab once; its registered name.

    Raises :class:`DeviceError` with what to install when no font is found.
    """
    _register_font()
    return _FONT_NAME


def _register_font() -> str:
    """The registered font's file, registering it on the first call."""
    global _font_file
    with _font_lock:
        if _font_file is None:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            path = _find_font()
            try:
                pdfmetrics.registerFont(TTFont(_FONT_NAME, path, subfontIndex=0))
            except Exception as exc:  # reportlab raises TTFError, OSError, struct.error...
                raise DeviceError(say("receipts.pdf.font_unusable", path=path, exc=exc)) from exc
            _font_file = path
        return _font_file


def _find_font() -> str:
    configured = os.environ.get(FONT_ENV)
    if configured:
        if not os.path.isfile(configured):
            raise DeviceError(
                say("receipts.pdf.font_missing", configured=configured, FONT_ENV=FONT_ENV)
            )
        return configured
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    raise DeviceError(_MISSING_FONT)


@dataclass(frozen=True)
class _Row:
    line: LayoutLine
    left: str
    right: str
    size: float

    @property
    def height(self) -> float:
        return self.size * _LEADING


@dataclass(frozen=True)
class _Block:
    """One layout line as drawn: its rows (none for a rule or the QR code) and height."""

    line: LayoutLine
    rows: tuple[_Row, ...]
    height: float


def render_pdf(receipt: Receipt, path: str | os.PathLike[str], paper: Paper = "80mm") -> Path:
    """Write ``receipt`` as a PDF at ``path``; the path written.

    ``paper`` is ``"80mm"`` (a roll page exactly as long as the receipt), ``"a5"`` or
    ``"a4"`` (numbered pages when one is not enough). The file appears
    complete or not at all: it is written beside ``path`` and renamed over it.
    """
    if paper not in _PAPERS:
        raise ValueError(f"paper must be '80mm', 'a5' or 'a4', not {paper!r}")
    spec = _PAPERS[paper]
    font = cjk_font()
    blocks = [_block(line, font, spec) for line in receipt_layout(receipt)]
    pages = _paginate(blocks, spec)

    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _draw(receipt, out, pages, spec, font)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _block(line: LayoutLine, font: str, spec: _PageSpec) -> _Block:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if line.style == "rule":
        return _Block(line, (), spec.size * 0.8)
    if line.style == "qr":
        return _Block(line, (), spec.qr + spec.size)
    size = spec.size * _SCALE.get(line.style, 1.0)

    def measure(s: str) -> float:
        return stringWidth(s, font, size)

    width = spec.width - 2 * spec.margin
    pairs = split_line(line, width, measure, gap=size, indent=line.indent * size / 2)
    rows = tuple(_Row(line, left, right, size) for left, right in pairs)
    return _Block(line, rows, sum(row.height for row in rows))


def _paginate(blocks: list[_Block], spec: _PageSpec) -> list[list[_Block]]:
    """Blocks per page; a roll has one page, a sheet breaks between blocks."""
    if spec.height is None:
        return [blocks]
    room = spec.height - 2 * spec.margin - spec.size * _LEADING  # the last row: page number
    pages: list[list[_Block]] = [[]]
    used = 0.0
    for block in blocks:
        if pages[-1] and used + block.height > room:
            pages.append([])
            used = 0.0
        pages[-1].append(block)
        used += block.height
    return pages


def _draw(
    receipt: Receipt, out: BinaryIO, pages: list[list[_Block]], spec: _PageSpec, font: str
) -> None:
    from reportlab.pdfgen.canvas import Canvas

    page_height = spec.height or sum(b.height for b in pages[0]) + 2 * spec.margin
    canvas = Canvas(
        out,
        pagesize=(spec.width, page_height),
        pageCompression=1,
        initialFontName=font,  # else every page refers to Helvetica, which is not embedded
    )
    canvas.setTitle(f"{receipt.title} {receipt.receipt_no}")
    canvas.setAuthor(receipt.clinic_name)
    canvas.setSubject(f"{receipt.clinic_name} {receipt.title} {receipt.receipt_no}")
    canvas.setCreator("cashier")

    left_x = spec.margin
    right_x = spec.width - spec.margin
    for number, blocks in enumerate(pages, start=1):
        if receipt.training:
            _watermark(canvas, spec, page_height)
        y = page_height - spec.margin
        for block in blocks:
            y -= block.height
            if block.line.style == "rule":
                canvas.setLineWidth(0.5)
                canvas.setDash(2, 2)
                canvas.line(left_x, y + block.height / 2, right_x, y + block.height / 2)
                canvas.setDash()
            elif block.line.style == "qr":
                _qr(canvas, block.line.left, spec.width / 2, y + spec.size / 2, spec.qr, font)
            else:
                row_y = y + block.height
                for row in block.rows:
                    row_y -= row.height
                    _text_row(canvas, row, font, left_x, right_x, row_y)
        if len(pages) > 1:
            canvas.setFont(font, spec.size * 0.85)
            canvas.drawCentredString(
                spec.width / 2,
                spec.margin,
                f"{receipt.receipt_no}  第 {number} / {len(pages)} 页",
            )
        canvas.showPage()
    canvas.save()


_THICK = ("title", "bold", "big", "notice")


def _text_row(
    canvas: Canvas, row: _Row, font: str, left_x: float, right_x: float, bottom: float
) -> None:
    line = row.line
    white = line.style == "notice"
    if white:
        # A dark band with white text: training and reprint marks cannot be missed.
        canvas.setFillGray(0.15)
        canvas.rect(left_x, bottom, right_x - left_x, row.height, stroke=0, fill=1)
    baseline = bottom + (row.height - row.size) / 2 + 0.2 * row.size
    if line.align == "center":
        x = (left_x + right_x - canvas.stringWidth(row.left, font, row.size)) / 2
    else:
        x = left_x + (line.indent * row.size / 2 if row.left else 0)
    _string(canvas, x, baseline, row.left, font, row.size, line.style in _THICK, white)
    if row.right:
        x = right_x - canvas.stringWidth(row.right, font, row.size)
        _string(canvas, x, baseline, row.right, font, row.size, line.style in _THICK, white)


def _string(
    canvas: Canvas, x: float, y: float, s: str, font: str, size: float, thick: bool, white: bool
) -> None:
    canvas.saveState()
    canvas.setFillGray(1 if white else 0)
    canvas.setStrokeGray(1 if white else 0)
    text = canvas.beginText(x, y)
    text.setFont(font, size)
    if thick:
        # The font has no bold face: fill and stroke the glyphs to thicken them.
        canvas.setLineWidth(size / 28)
        text.setTextRenderMode(2)
    text.textOut(s)
    canvas.drawText(text)
    canvas.restoreState()


def _qr(
    canvas: Canvas, payload: str, center_x: float, bottom: float, side: float, font: str
) -> None:
    """The QR code as one bitmap of its modules, drawn straight on the canvas. (reportlab's
    QR widget builds a shape per module and encodes the code twice: three quarters of a
    receipt's time, bench.receipts.)"""
    modules = qr_modules(payload)
    # A white quiet zone, so a training watermark underneath cannot spoil the scan.
    quiet = side / 10
    left = center_x - side / 2
    canvas.saveState()
    canvas.setFillGray(1)
    canvas.rect(left - quiet, bottom - quiet, side + 2 * quiet, side + 2 * quiet, stroke=0, fill=1)
    # One bitmap of the modules, scaled without smoothing: a handful of bytes and one
    # drawing operation, where a rectangle per run of modules was hundreds of numbers.
    canvas.drawImage(_qr_image(modules), left, bottom, side, side)
    canvas.restoreState()


def _qr_image(modules: list[list[bool]]) -> ImageReader:
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    size = len(modules)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in modules for dark in row])
    return ImageReader(image.convert("L"))


#: The QR mask: fixed. Choosing the "best" of the eight (scoring each, pure Python) took
#: two thirds of the code's time for a few points of module balance; every mask is the
#: standard's, and a short payload at level M reads at any (tests decode each receipt).
MASK = 2


def qr_modules(payload: str) -> list[list[bool]]:
    """The QR code's modules (no border), error correction M, mask :data:`MASK`."""
    import qrcode

    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=MASK
    )
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


def _watermark(canvas: Canvas, spec: _PageSpec, page_height: float) -> None:
    """Faint diagonal 培训模式 marks down the page, under the content.

    They are an image, not text, so copying or extracting the receipt's text
    is not interleaved with stray watermark characters.
    """
    image = _watermark_image()
    width = spec.width * 0.8
    height = width * image.getSize()[1] / image.getSize()[0]
    step = max(height * 1.4, spec.width)
    y = page_height - step / 2
    while y > -height / 2:
        canvas.drawImage(
            image, (spec.width - width) / 2, y - height / 2, width, height, mask="auto"
        )
        y -= step


@functools.cache
def _watermark_image() -> ImageReader:
    """The watermark as a reportlab image: rotated grey text on transparent."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader

    font = ImageFont.truetype(_register_font(), 160, index=0)
    left, top, right, bottom = font.getbbox(_TRAINING)
    pad = 20
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((pad - left, pad - top), _TRAINING, font=font, fill=(0, 0, 0, 34))
    return ImageReader(image.rotate(30, expand=True, resample=Image.Resampling.BICUBIC))
