"""The receipt as ESC/POS bytes for a thermal printer, and those bytes read back as text.

Commands come from python-escpos (``Dummy`` collects them); text is written
by us, GB18030-encoded after ``FS &`` (Chinese mode), because python-escpos
sends hanzi without switching the printer to Chinese mode. In Chinese mode
every non-ASCII character prints two columns wide, so the layout counts East
Asian ambiguous characters (``×``, ``—``) as two.
"""

from __future__ import annotations

from cashier.receipts.layout import receipt_text_lines
from cashier.receipts.model import Receipt

__all__ = ["COLUMNS", "escpos_text", "render_escpos"]

#: Font A columns per paper width (12-dot characters on 384 / 576 dots).
COLUMNS: dict[int, int] = {58: 32, 80: 48}

_ESC, _FS, _GS = 0x1B, 0x1C, 0x1D
_CHINESE_MODE = b"\x1c\x26"  # FS &
_QR_DOT_SIZE = {58: 5, 80: 6}


def render_escpos(
    receipt: Receipt,
    paper_mm: int = 80,
    *,
    qr: bool = True,
    cut: bool = True,
    kick_drawer: bool = False,
) -> bytes:
    """The ESC/POS job printing ``receipt`` on a ``paper_mm`` (58 or 80) roll.

    ``qr`` prints the receipt's QR code natively (no image), ``cut`` feeds and
    cuts at the end, ``kick_drawer`` opens the cash drawer (pin 2) first.
    """
    if paper_mm not in COLUMNS:
        raise ValueError(f"paper must be 58 or 80 mm, not {paper_mm!r}")
    from escpos.printer import Dummy  # python-escpos is slow to import

    printer = Dummy()
    printer.hw("INIT")
    printer._raw(_CHINESE_MODE)
    printer.set(align="left")
    if kick_drawer:
        printer.cashdraw(2)

    for style, text in receipt_text_lines(receipt, COLUMNS[paper_mm], big_scale=2, ambiguous=2):
        if style == "qr":
            if qr:
                printer.set(align="center")
                printer.qr(text, native=True, size=_QR_DOT_SIZE[paper_mm])
                printer.set(align="left")
                printer._raw(b"\n")
            continue
        if style == "title":
            printer.set(bold=True, custom_size=True, width=1, height=2)
        elif style == "big":
            printer.set(bold=True, custom_size=True, width=2, height=2)
        elif style in ("bold", "notice"):
            printer.set(bold=True)
        printer._raw(text.encode("gb18030", errors="replace") + b"\n")
        if style in ("title", "big"):
            printer.set(bold=False, custom_size=True, width=1, height=1)
        elif style in ("bold", "notice"):
            printer.set(bold=False)

    if cut:
        printer.cut()
    return printer.output


# -- reading a job back ----------------------------------------------------------

# Fixed-length commands: the bytes after the prefix that are parameters.
_PARAMS: dict[bytes, int] = {
    b"\x1b@": 0,  # ESC @ initialise
    b"\x1b2": 0,  # ESC 2 default line spacing
    b"\x1b3": 1,  # ESC 3 n line spacing
    b"\x1ba": 1,  # ESC a n justification
    b"\x1bE": 1,  # ESC E n bold
    b"\x1b!": 1,  # ESC ! n print mode
    b"\x1b-": 1,  # ESC - n underline
    b"\x1bM": 1,  # ESC M n font
    b"\x1bd": 1,  # ESC d n print and feed n lines
    b"\x1bt": 1,  # ESC t n code page
    b"\x1b{": 1,  # ESC { n upside down
    b"\x1bp": 3,  # ESC p m t1 t2 drawer kick
    b"\x1c&": 0,  # FS & Chinese mode on
    b"\x1c.": 0,  # FS . Chinese mode off
    b"\x1c!": 1,  # FS ! n Chinese print mode
    b"\x1c-": 1,  # FS - n Chinese underline
    b"\x1d!": 1,  # GS ! n character size
    b"\x1dB": 1,  # GS B n reverse
    b"\x1db": 1,  # GS b n smoothing
    b"\x1d|": 1,  # GS | n density
}


def escpos_text(data: bytes) -> str:
    """The text an ESC/POS job prints: commands removed, the rest decoded as GB18030.

    Knows every command :func:`render_escpos` emits (and a few common others);
    an unknown command raises ``ValueError`` rather than leaking into the text.
    GB18030 never uses ESC, FS or GS bytes inside a character, so scanning
    for them is safe.
    """
    text = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte not in (_ESC, _FS, _GS):
            if byte != 0x0D:  # CR: the row ends at LF
                text.append(byte)
            i += 1
            continue
        head = data[i : i + 2]
        if head in _PARAMS:
            i += 2 + _PARAMS[head]
        elif head in (b"\x1d(", b"\x1d8"):
            i += _sized_command_length(data, i)
        elif head == b"\x1dV":  # GS V m [n]: modes 65, 66, 97, 98, 103, 104 take n
            mode = data[i + 2] if i + 2 < len(data) else 0
            i += 4 if mode in (65, 66, 97, 98, 103, 104) else 3
        else:
            raise ValueError(f"unknown ESC/POS command {data[i : i + 3]!r} at byte {i}")
    if i > len(data):
        raise ValueError("ESC/POS job ends inside a command")
    return text.decode("gb18030", errors="replace")


def _sized_command_length(data: bytes, i: int) -> int:
    """Length of ``GS ( fn pL pH ...`` (or ``GS 8 fn p1..p4 ...``) from byte ``i``."""
    if data[i + 1 : i + 2] == b"(":
        if i + 5 > len(data):
            raise ValueError(f"truncated GS ( command at byte {i}")
        return 5 + data[i + 3] + 256 * data[i + 4]
    if i + 7 > len(data):
        raise ValueError(f"truncated GS 8 command at byte {i}")
    return 7 + int.from_bytes(data[i + 3 : i + 7], "little")
