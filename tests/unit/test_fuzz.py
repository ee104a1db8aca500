"""Fuzzing every parser that takes outside input (issue 7): a clear error, never a crash.

Each test feeds a parser realistic-but-broken input (a valid message, file or
card with fields dropped, wrong types, huge, negative or float amounts, broken
sums, wrong lengths, odd encodings) and asserts that the parser either returns
a result that is valid, or raises its module's documented error (a
:class:`~cashier.errors.CashierError`) with a message: never another
exception. An import that refuses a file leaves the tables exactly as they
were (row counts and a checksum of every row).

``FUZZ_EXAMPLES`` sets the examples per test (default 200, so CI stays fast);
the closing note of issue 7 ran ``FUZZ_EXAMPLES=10000``. The pure parsers can
also run coverage-guided under atheris (not a project dependency; install it
beside the project)::

    python tests/unit/test_fuzz.py test_fuzz_money_parse -atheris_runs=100000
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import sys
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from peewee import BigIntegerField, CharField, IntegerField

from cashier.config import (
    DEFAULT_KEYMAP,
    KINDS,
    PAPERS,
    ConfigError,
    Settings,
    load_settings,
    settings_from_dict,
)
from cashier.devices.cardreader import CardData, CardError, read_records
from cashier.devices.scanner import (
    Action,
    BurstDetector,
    Pass,
    Scan,
    ScanKind,
    classify,
    gtin_check_digit,
    id_check_char,
    is_valid_gtin,
    is_valid_id_number,
)
from cashier.domain.money import MAX_INPUT_FEN, Fen, MoneyError
from cashier.errors import CashierError, InputError, NotAllowed
from cashier.insurer import protocol
from cashier.insurer.protocol import (
    SETLINFO_AMOUNTS,
    Caller,
    EcIdentity,
    FeeLineResult,
    InsurerError,
    PersonInfo,
    ProtocolError,
    SetlInfo,
    Settlement,
)
from cashier.services import catalog, orders
from cashier.services.checkout import MAX_QUANTITY, parse_quantity
from cashier.services.operators import Role, SignedIn
from cashier.services.patient import parse_id_number
from cashier.store.models import Barcode, ClinicOrder, ClinicOrderLine, Item, database
from cashier_sandbox.virtualcard import SocialSecurityCard

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The DB fixtures live for the whole test; each example snapshots the tables itself.
fuzz_db = settings(
    fuzz,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# Longer than CPython turns into an int by default (sys.int_info.default_max_str_digits).
HUGE_DIGITS = st.integers(min_value=4290, max_value=4400)


def attempt(call, errors: type[BaseException] | tuple[type[BaseException], ...]):
    """``(result, None)``, or ``(None, error)`` for one of ``errors`` with a message.

    Any other exception propagates: that is the bug the fuzzing looks for.
    """
    try:
        result = call()
    except errors as exc:
        assert isinstance(exc, CashierError), f"{type(exc).__name__} is not a CashierError"
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        event(f"refused: {type(exc).__name__}")
        return None, exc
    event("accepted")
    return result, None


# -- money typed at the counter ---------------------------------------------------------------------
_MONEY_CHARS = "0123456789０１２３４５６７８９..。,，-－+ ￥¥元RMBCNYrmbeE_\t\u3000\xa0\u200b٣۴①²⁵½"


@st.composite
def near_amounts(draw) -> str:
    """Text shaped like an amount, with the odd part a cashier or a paste brings in."""
    sign = draw(st.sampled_from(["", "", "-", "+", "--", "－", "+-"]))
    mark = draw(st.sampled_from(["", "", "￥", "¥", "元", "RMB", " CNY", "$"]))
    whole = draw(st.text("0123456789", max_size=14))
    if draw(st.booleans()) and len(whole) > 3:
        whole = f"{int(whole):,}"
    dot = draw(st.sampled_from(["", ".", ".", "。", "..", "．"]))
    frac = draw(st.text("0123456789", max_size=4))
    pad = draw(st.sampled_from(["", " ", "\u3000", "\t", "\n"]))
    if draw(st.booleans()):
        whole = whole.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return f"{pad}{mark}{sign}{whole}{dot}{frac}{pad}"


money_texts = st.one_of(
    near_amounts(),
    st.text(alphabet=_MONEY_CHARS, max_size=24),
    st.text(max_size=30),
    HUGE_DIGITS.map(lambda n: "1" * n),
    HUGE_DIGITS.map(lambda n: "0" * n + "12.50"),
    HUGE_DIGITS.map(lambda n: "-" + "9" * n + ".5"),
)


@fuzz
@given(money_texts, st.booleans(), st.booleans())
def test_fuzz_money_parse(text, allow_zero, allow_negative):
    fen, _ = attempt(
        lambda: Fen.parse(text, allow_zero=allow_zero, allow_negative=allow_negative), MoneyError
    )
    if fen is None:
        return
    assert isinstance(fen, Fen) and abs(fen.fen) <= MAX_INPUT_FEN
    assert allow_negative or fen.fen >= 0
    assert allow_zero or fen.fen != 0
    assert Fen.parse(str(fen), allow_negative=True) == fen  # what it shows reads back the same


# -- ID numbers, quantities ---------------------------------------------------------------------------
@st.composite
def id_numbers(draw) -> str:
    """A valid 18-character ID number (GB 11643)."""
    area = draw(st.integers(110000, 659999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today()))
    body = f"{area}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + id_check_char(body)


@st.composite
def broken_id_numbers(draw) -> str:
    """An ID number as typed or scanned: whole, or with one thing wrong."""
    text = draw(id_numbers())
    how = draw(
        st.sampled_from(
            ["as is", "lower", "char", "insert", "drop", "wide", "pad", "date", "swap", "any"]
        )
    )
    at = draw(st.integers(0, 17))
    if how == "lower":
        text = text.lower()
    elif how == "char":
        text = text[:at] + draw(st.characters()) + text[at + 1 :]
    elif how == "insert":
        text = text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    elif how == "drop":
        text = text[:at] + text[at + 1 :]
    elif how == "wide":
        text = text.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    elif how == "pad":
        text = draw(st.sampled_from([" ", "\t", "\u3000", "\n"])) + text + " "
    elif how == "date":  # a birth date that does not exist or is in the future, right check char
        day = draw(st.sampled_from(["19990230", "20000001", "19001301", "18991231", "29991231"]))
        body = text[:6] + day + text[14:17]
        text = body + id_check_char(body)
    elif how == "swap":
        text = text[:at] + text[at + 1 : at + 2] + text[at : at + 1] + text[at + 2 :]
    elif how == "any":
        text = draw(st.text(max_size=24))
    return text


@fuzz
@given(broken_id_numbers())
def test_fuzz_parse_id_number(text):
    number, _ = attempt(lambda: parse_id_number(text), InputError)
    if number is not None:
        assert len(number) == 18 and number == number.upper() and is_valid_id_number(number)


quantity_texts = st.one_of(
    st.integers(-5, 20000).map(str),
    st.text("0123456789０１２３４５６７８９-+. ,", max_size=8),
    st.text(max_size=10),
    HUGE_DIGITS.map(lambda n: "9" * n),
    HUGE_DIGITS.map(lambda n: "0" * n + "1"),
    st.sampled_from(["²", "①", "٣", "1e3", "0x10", "1_000", " 12 ", "１２", "1.0", "Ⅻ"]),
)


@fuzz
@given(quantity_texts)
def test_fuzz_parse_quantity(text):
    quantity, _ = attempt(lambda: parse_quantity(text), InputError)
    if quantity is not None:
        assert type(quantity) is int and 1 <= quantity <= MAX_QUANTITY


# -- scanned payloads ----------------------------------------------------------------------------------
@st.composite
def gtins(draw) -> str:
    size = draw(st.sampled_from([8, 12, 13, 14]))
    body = draw(st.text("0123456789", min_size=size - 1, max_size=size - 1))
    check = gtin_check_digit(body)
    if draw(st.booleans()):
        check = (check + draw(st.integers(1, 9))) % 10  # a misread check digit
    return body + str(check)


ec_tokens = st.builds(
    lambda area, rest: f"{area}ec{rest}",
    st.text("0123456789", min_size=6, max_size=6),
    st.text("0123456789abcdefghijklmnopqrstuvwxyz", min_size=30, max_size=30),
)


@st.composite
def scanned_texts(draw) -> str:
    """What a scanner types: the shapes the counter knows, each maybe a little wrong."""
    text = draw(
        st.one_of(
            gtins(),
            broken_id_numbers(),
            ec_tokens,
            ec_tokens.map(str.upper),
            st.builds(
                lambda p, s: p + s,
                st.sampled_from(["10", "13", "25", "28", "62"]),
                st.text("0123456789", min_size=14, max_size=22),
            ),
            st.builds(
                "{}://{}/{}".format,
                st.sampled_from(["https", "http", "HTTPS", "weixin", "ftp"]),
                st.sampled_from(["nhsa.gov.cn", "example.com", "hsecfc.local", "wx.qq.com"]),
                st.text(max_size=30),
            ),
            st.builds("ybm:{}".format, st.text(max_size=40)),
            st.text("ABCDEFabcdef0123456789+/=-_.", max_size=60),
            st.text(max_size=60),
            st.text("0123456789", max_size=30),
        )
    )
    pad = draw(st.sampled_from(["", "", " ", "\r", "\t", "\n", "\x00"]))
    return pad + text + pad


@fuzz
@given(scanned_texts())
def test_fuzz_classify(text):
    code = classify(text)
    assert code.kind in ScanKind
    expected = text.strip()
    assert code.text == (expected.upper() if code.kind is ScanKind.ID_NUMBER else expected)
    if code.kind is ScanKind.GTIN:
        assert is_valid_gtin(code.text)
    if code.kind is ScanKind.ID_NUMBER:
        assert is_valid_id_number(code.text)
    if code.kind is ScanKind.UNKNOWN and code.text:
        assert not re.fullmatch(r"[A-Za-z0-9._-]{4,40}", code.text)
    assert classify(code.text) == code  # what it found reads the same again


# -- keyboard-wedge bursts -------------------------------------------------------------------------------
_PRINTABLE = st.one_of(
    st.characters(codec="ascii", min_codepoint=32, max_codepoint=126),
    st.sampled_from(["中", "é", "😀", "\u3000", "\xa0"]),
)
_OTHER_KEYS = st.sampled_from(
    [
        ("f2", None),
        ("escape", "\x1b"),
        ("backspace", "\x08"),
        ("ctrl+c", "\x03"),
        ("up", None),
        ("delete", None),
        ("tab", "\t"),
        ("paste", "ab"),  # a multi-character char: never held
        ("zwsp", "\u200b"),  # not printable
        ("space", " "),
    ]
)


@st.composite
def key_events(draw) -> list[tuple[str, str, str | None, float]]:
    """``(what, key, char, gap)``: a key press or an ``expire`` call ``gap`` seconds after the last."""
    events = []
    for _ in range(draw(st.integers(0, 40))):
        gap = draw(
            st.one_of(
                st.floats(0, 0.02),  # a scanner
                st.floats(0.03, 0.4),  # a person
                st.sampled_from([0.0, 0.05, 0.0500000001, 0.05 + 1e-9, 1e-12]),
            )
        )
        kind = draw(st.sampled_from(["char", "char", "char", "char", "enter", "other", "expire"]))
        if kind == "char":
            char = draw(_PRINTABLE)
            events.append(("push", char, char, gap))
        elif kind == "enter":
            events.append(("push", draw(st.sampled_from(["enter", "tab"])), "\r", gap))
        elif kind == "other":
            key, char = draw(_OTHER_KEYS)
            events.append(("push", key, char, gap))
        else:
            events.append(("expire", "", None, gap))
    return events


@fuzz
@given(
    key_events(),
    st.sampled_from([0.01, 0.05, 0.3]),
    st.integers(1, 12),
    st.sampled_from([("enter",), ("enter", "tab"), ("tab",)]),
)
def test_fuzz_burst_detector(events, max_gap, min_length, terminators):
    detector = BurstDetector(max_gap=max_gap, min_length=min_length, terminators=terminators)
    now, out, presses = 0.0, [], []
    for what, key, char, gap in events:
        now += gap
        actions = detector.expire(now) if what == "expire" else detector.push(key, char, now)
        if what == "push":
            presses.append((key, char, now))
        out.extend(actions)
        deadline = detector.deadline()
        assert (deadline is None) == (not detector.holding)
    out.extend(detector.flush())
    assert not detector.holding
    # Every key comes back exactly once and in order; a scan is a burst of held printable
    # keys, fast enough, at least min_length long, ended by a swallowed terminator.
    i = 0
    for action in out:
        assert isinstance(action, Action)
        if isinstance(action, Pass):
            assert (action.key, action.char) == presses[i][:2]
            i += 1
            continue
        assert isinstance(action, Scan)
        run = presses[i : i + len(action.text) + 1]
        assert len(run) == len(action.text) + 1 and len(action.text) >= min_length
        *held, (end_key, _, _) = run
        assert end_key in terminators
        assert "".join(c for _, c, _ in held) == action.text
        assert all(k not in terminators and len(c) == 1 and c.isprintable() for k, c, _ in held)
        times = [t for _, _, t in run]
        assert all(b - a <= max_gap + 1e-9 for a, b in itertools.pairwise(times))
        i += len(run)
    assert i == len(presses)


# -- the social security card over APDUs -------------------------------------------------------------
_NAMES = ["张三", "欧阳小明", "王秀英", "李", "阿卜杜热合曼·买买提", "刘洋", "赵钱孙李周吴郑王冯陈"]


@st.composite
def cards(draw) -> SocialSecurityCard:
    issued = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
    return SocialSecurityCard(
        card_sn=draw(st.binary(min_size=16, max_size=16)).hex().upper(),
        card_no=draw(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=9, max_size=9)),
        social_security_no=draw(id_numbers()),
        name=draw(st.sampled_from(_NAMES)),
        issue_date=issued,
        expiry_date=draw(st.dates(min_value=issued, max_value=date(2045, 12, 31))),
        spec_version=draw(st.sampled_from(["3.00", "2.00", "1.00"])),
    )


def _mutated_answer(draw, answer: bytes) -> bytes:
    """One card answer (data + status word), as a worn card, a bad reader or another card says it."""
    how = draw(
        st.sampled_from(
            ["same"] * 12
            + ["empty", "short", "cut", "longer", "sw", "6C", "tag", "len", "value", "random"]
        )
    )
    data, sw = answer[:-2], answer[-2:]
    if how == "empty":
        return b""
    if how == "short":
        return answer[:1]
    if how == "cut":
        return answer[: draw(st.integers(0, max(0, len(answer) - 1)))]
    if how == "longer":
        return data + draw(st.binary(min_size=1, max_size=40)) + sw
    if how == "sw":
        return data + draw(
            st.sampled_from([b"\x6a\x82", b"\x6a\x83", b"\x69\x85", b"\x67\x00", b"\x62\x81"])
            | st.binary(min_size=2, max_size=2)
        )
    if how == "6C":
        return b"\x6c" + bytes([draw(st.integers(0, 255))])
    if how == "tag" and data:
        return bytes([draw(st.integers(0, 255))]) + data[1:] + sw
    if how == "len" and len(data) > 1:
        return data[:1] + bytes([draw(st.integers(0, 255))]) + data[2:] + sw
    if how == "value" and len(data) > 2:
        return data[:2] + draw(st.binary(min_size=len(data) - 2, max_size=len(data) - 2)) + sw
    if how == "random":
        return draw(st.binary(max_size=48))
    return answer


@fuzz
@given(cards(), st.dates(min_value=date(2000, 1, 1), max_value=date(2050, 1, 1)), st.data())
def test_fuzz_card_records(card, today, data):
    changed = []

    def transmit(command: bytes) -> bytes:
        answer = card.apdu(command)
        mutated = _mutated_answer(data.draw, answer)
        changed.append(mutated != answer)
        return mutated

    read, _ = attempt(lambda: read_records(transmit, today=today), CardError)
    if read is None:
        return
    assert isinstance(read, CardData)
    assert is_valid_id_number(read.social_security_no) and not read.expired(today)
    assert read.name and read.card_no and re.fullmatch(r"[0-9A-F]{32}", read.card_sn)
    if not any(changed):
        assert read == CardData(
            card_sn=card.card_sn,
            spec_version=card.spec_version,
            issue_date=card.issue_date,
            expiry_date=card.expiry_date,
            card_no=card.card_no,
            social_security_no=card.social_security_no,
            name=card.name,
        )


# -- JSON trees: breaking a valid message -------------------------------------------------------------
def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(tree: Any, path: tuple) -> Any:
    for step in path[:-1]:
        tree = tree[step]
    return tree


# Values an insurer or a clinic system sends where it should not: wrong types, huge or
# tiny numbers, too many decimals, floats, numbers as text, NaN and infinities.
_ODD_NUMBERS = [
    Decimal("1E+400"),
    Decimal("-1E+400"),
    Decimal("1E-400"),
    Decimal("9999999999999999999999999999.99"),
    Decimal("12345678901234567.89"),
    Decimal("99999999999999.99"),
    Decimal("-0.01"),
    Decimal("12.345"),
    Decimal("0.001"),
    Decimal("1E+2"),
    Decimal("-0"),
    Decimal("NaN"),
    Decimal("Infinity"),
    10**30,
    -(10**30),
    2**63,
    12.5,
    0.1,
    1e308,
    -12.5,
    float("nan"),
    float("inf"),
    "12.50",
    " 3.00 ",
    "１２.５",
    "NaN",
    "Infinity",
    "1e3",
    "-0",
    "",
    "abc",
    "12.50元",
]
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers().map(lambda n: 10 ** (abs(n) % 60)),
    st.sampled_from(_ODD_NUMBERS),
    st.decimals(places=2, min_value=-(10**9), max_value=10**9, allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(),
    st.text(max_size=12),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=2),
)


@st.composite
def broken(draw, tree: Any, values=json_values, max_changes: int = 4) -> tuple[Any, int]:
    """``tree`` with up to ``max_changes`` things wrong; also how many were made."""
    tree = copy.deepcopy(tree)
    changes = draw(st.integers(0, max_changes))
    for _ in range(changes):
        path = draw(st.sampled_from(_paths(tree)))
        how = draw(st.sampled_from(["drop", "set", "set", "nudge", "negate", "add", "wrap"]))
        if not path:
            if how in ("set", "wrap"):
                tree = draw(values) if how == "set" else [tree]
            continue
        parent, key = _parent(tree, path), path[-1]
        value = parent[key]
        if how == "drop":
            del parent[key]
        elif how == "set":
            parent[key] = draw(values)
        elif how == "nudge" and isinstance(value, Fen | Decimal | int) and value is not True:
            delta = draw(st.sampled_from([1, -1, 100, -100, 10**12]))
            parent[key] = value + (Fen(delta) if isinstance(value, Fen) else delta)
        elif how == "negate" and isinstance(value, Fen | Decimal | int | float):
            parent[key] = -value
        elif how == "add" and isinstance(value, dict):
            value[draw(st.sampled_from(["extra", "", "setl_id", "infcode", "数据"]))] = draw(values)
        elif how == "wrap":
            parent[key] = draw(st.sampled_from([[value], {"value": value}, json.dumps(str(value))]))
    return tree, changes


def _encode(obj: Any, out: list[str], ascii_only: bool) -> None:
    """JSON text as a sender might write it: Fen with two decimals, floats as Python's repr."""
    if isinstance(obj, Fen):
        out.append(str(obj))
    elif isinstance(obj, float):
        out.append(
            "NaN"
            if math.isnan(obj)
            else "Infinity"
            if obj > 0 and math.isinf(obj)
            else "-Infinity"
            if math.isinf(obj)
            else repr(obj)
        )
    elif isinstance(obj, Decimal):
        out.append(str(obj))  # 1E+400, NaN, Infinity and sNaN too: what the wire may carry
    elif isinstance(obj, dict):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            out.append(("," if i else "") + json.dumps(str(key), ensure_ascii=ascii_only) + ":")
            _encode(value, out, ascii_only)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, value in enumerate(obj):
            out.append("," if i else "")
            _encode(value, out, ascii_only)
        out.append("]")
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=ascii_only))
    else:
        out.append(json.dumps(obj))


def to_json_text(obj: Any, ascii_only: bool = False) -> str:
    out: list[str] = []
    _encode(obj, out, ascii_only)
    return "".join(out)


@st.composite
def on_the_wire(draw, tree: Any) -> tuple[str | bytes | dict, bool]:
    """A message as it reaches the parser (text, bytes, maybe not UTF-8, a dict, or garbled),
    and whether it still says exactly what ``tree`` says."""
    text = to_json_text(tree, ascii_only=draw(st.booleans()))
    form = draw(
        st.sampled_from(
            ["text", "text", "bytes", "bytes", "bom", "gbk", "dict", "floats", "cut", "junk"]
        )
    )
    if form == "bytes":
        return text.encode("utf-8"), True
    if form == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8"), True
    if form == "gbk":
        return text.encode("gbk", errors="replace"), text.isascii()
    if form == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))], False
    if form == "junk":
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from(["\x00", "}", '"', "\ud800", "NaN", "9" * 4400, "[" * 2000, "\\"])
        )
        return text[:at] + junk + text[at:], False
    if form in ("dict", "floats"):
        try:
            return (protocol.loads(text) if form == "dict" else json.loads(text)), True
        except (ValueError, ProtocolError):
            return text, True
    return text, True


def _no_floats(doc: Any) -> bool:
    """No float anywhere in a parsed document (walked without recursion: it may be deep)."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            return False
        if isinstance(node, dict):
            if not all(isinstance(k, str) for k in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


# -- insurer answers ------------------------------------------------------------------------------------
WHEN = datetime(2026, 3, 14, 9, 30, 15)
amounts = st.integers(0, 10**9)  # fen: up to ten million yuan


@st.composite
def fee_lines(draw, n: int) -> list[FeeLineResult]:
    lines = []
    for i in range(n):
        det = Fen(draw(st.integers(0, 10**7)))
        prop = draw(st.sampled_from(["0", "0.10", "0.2", "0.05", "1", "0.333"]))
        fulamt = Fen(draw(st.integers(0, det.fen)))
        overlmt = Fen(draw(st.integers(0, det.fen - fulamt.fen)))
        rest = det - fulamt - overlmt
        base = (
            draw(st.sampled_from([rest, det])) if (det.mul_ratio(Decimal(prop)) <= rest) else rest
        )
        pre = base.mul_ratio(Decimal(prop))
        lines.append(
            FeeLineResult(
                feedetl_sn=f"{i + 1:04d}",
                det_item_fee_sumamt=det,
                selfpay_prop=Decimal(prop),
                fulamt_ownpay_amt=fulamt,
                overlmt_amt=overlmt,
                preselfpay_amt=pre,
                inscp_scp_amt=rest - pre,
                chrgitm_lv=draw(st.sampled_from(["01", "02", "03"])),
            )
        )
    return lines


@st.composite
def settlements(draw) -> Settlement:
    """A settlement answer that keeps every invariant of insurer-interface.md."""
    lines = draw(fee_lines(draw(st.integers(0, 4))))
    medfee = Fen.total(line.det_item_fee_sumamt for line in lines) if lines else Fen(draw(amounts))
    fund = draw(st.integers(0, medfee.fen))
    hosp = draw(st.integers(0, medfee.fen - fund))
    person = medfee.fen - fund - hosp
    acct = draw(st.integers(0, person))
    hifp = draw(st.integers(0, fund))
    cvlserv = draw(st.integers(0, fund - hifp))
    info = SetlInfo(
        setl_id=draw(st.none() | st.text("0123456789", min_size=1, max_size=20)),
        mdtrt_id=draw(st.none() | st.text("0123456789", min_size=1, max_size=20)),
        psn_no=draw(st.text("0123456789", min_size=1, max_size=20)),
        psn_name=draw(st.sampled_from(_NAMES)),
        insutype=draw(st.sampled_from(["310", "390"])),
        med_type=draw(st.sampled_from(["11", "41"])),
        age=draw(st.none() | st.integers(0, 120).map(Decimal)),
        medfee_sumamt=medfee,
        fulamt_ownpay_amt=Fen(draw(amounts)),
        overlmt_selfpay=Fen(draw(amounts)),
        preselfpay_amt=Fen(draw(amounts)),
        inscp_scp_amt=Fen(draw(amounts)),
        act_pay_dedc=Fen(draw(amounts)),
        hifp_pay=Fen(hifp),
        pool_prop_selfpay=Decimal(draw(st.sampled_from(["0", "0.1", "0.45"]))),
        cvlserv_pay=Fen(cvlserv),
        hifes_pay=Fen(0),
        hifmi_pay=Fen(0),
        hifob_pay=Fen(0),
        maf_pay=Fen(0),
        oth_pay=Fen(fund - hifp - cvlserv),
        fund_pay_sumamt=Fen(fund),
        psn_part_amt=Fen(person),
        acct_pay=Fen(acct),
        psn_cash_pay=Fen(person - acct),
        hosp_part_amt=Fen(hosp),
        balc=Fen(draw(amounts)),
        acct_mulaid_pay=Fen(draw(amounts)),
    )
    detail = [
        protocol.SetlDetail(
            fund_pay_type="310100", fund_pay_type_name="职工统筹基金", fund_payamt=Fen(hifp)
        ),
        protocol.SetlDetail(fund_pay_type="320100", fund_payamt=Fen(cvlserv)),
    ]
    return Settlement(setlinfo=info, setldetail=tuple(detail), detlcutinfo=tuple(lines))


def answer(output: Any) -> dict[str, Any]:
    return protocol.build_response(output, inf_refmsgid="110105202603140930150000000001", when=WHEN)


@st.composite
def settlement_answers(draw):
    settlement = draw(settlements())
    negated = draw(st.booleans())
    if negated:  # a 2208/2103 cancellation: setlinfo negated, the lines as they were
        settlement = Settlement(
            setlinfo=settlement.setlinfo.negated(),
            setldetail=settlement.setldetail,
            detlcutinfo=settlement.detlcutinfo,
        )
    tree, changes = draw(broken(answer(settlement.to_json())))
    return settlement, negated, tree, changes, draw(on_the_wire(tree))


_FUNDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")


def assert_line_keeps_invariants(line: FeeLineResult) -> None:
    assert Decimal(0) <= line.selfpay_prop <= 1
    parts = (line.fulamt_ownpay_amt, line.overlmt_amt, line.preselfpay_amt, line.inscp_scp_amt)
    assert all(isinstance(a, Fen) and a.fen >= 0 for a in (line.det_item_fee_sumamt, *parts))
    assert line.det_item_fee_sumamt == Fen.total(parts)


@fuzz
@given(settlement_answers(), st.sampled_from(["2206", "2207", "2208", "2101", "2102", "5203"]))
def test_fuzz_settlement_answer(case, infno):
    original, negated, _, changes, (body, intact) = case
    got, error = attempt(
        lambda: Settlement.from_json(protocol.parse_response(body, infno), negated=negated),
        (ProtocolError, InsurerError),
    )
    if changes == 0 and intact:
        assert got == original, f"a valid answer was refused: {error}"
    if got is None:
        return
    # What is shown as a bill keeps every invariant (checked here independently of check()).
    info, sign = got.setlinfo, (-1 if negated else 1)
    for name in SETLINFO_AMOUNTS:
        value = getattr(info, name)
        assert isinstance(value, Fen)
        assert value.fen * sign >= 0 or (name == "balc" and negated), name
    assert info.fund_pay_sumamt == Fen.total(getattr(info, k) for k in _FUNDS)
    assert info.medfee_sumamt == info.fund_pay_sumamt + info.psn_part_amt + info.hosp_part_amt
    assert info.psn_part_amt == info.acct_pay + info.psn_cash_pay
    for line in got.detlcutinfo:
        assert_line_keeps_invariants(line)
    if got.detlcutinfo:
        lines = Fen.total(line.det_item_fee_sumamt for line in got.detlcutinfo)
        assert lines == info.medfee_sumamt * sign


@st.composite
def fee_line_nodes(draw):
    (line,) = draw(fee_lines(1))
    node, changes = draw(broken(line.to_json()))
    return line, changes, draw(on_the_wire(node))


@fuzz
@given(fee_line_nodes())
def test_fuzz_fee_line_result(case):
    original, changes, (body, intact) = case

    def read() -> FeeLineResult:
        line = FeeLineResult.from_json(body if isinstance(body, dict) else protocol.loads(body))
        line.check()
        return line

    got, error = attempt(read, ProtocolError)
    if changes == 0 and intact:
        assert got == original, f"a valid line was refused: {error}"
    if got is not None:
        assert_line_keeps_invariants(got)


@st.composite
def person_answers(draw):
    person = PersonInfo(
        baseinfo=protocol.BaseInfo(
            psn_no=draw(st.text("0123456789", min_size=1, max_size=20)),
            psn_cert_type="01",
            certno=draw(id_numbers()),
            psn_name=draw(st.sampled_from(_NAMES)),
            gend=draw(st.sampled_from(["1", "2"])),
            age=draw(st.none() | st.integers(0, 120).map(Decimal)),
        ),
        insuinfo=tuple(
            protocol.InsuInfo(
                balc=Fen(draw(amounts)),
                insutype=draw(st.sampled_from(["310", "390", "320"])),
                psn_type=draw(st.sampled_from(["11", "12", "21"])),
                psn_insu_stas="1",
                insuplc_admdvs=draw(st.sampled_from(["110105", "310101"])),
            )
            for _ in range(draw(st.integers(0, 3)))
        ),
        idetinfo=tuple({"psn_idet_type": "2301"} for _ in range(draw(st.integers(0, 2)))),
    )
    tree, changes = draw(broken(answer(person.to_json())))
    return person, changes, draw(on_the_wire(tree))


@fuzz
@given(person_answers())
def test_fuzz_person_info(case):
    original, changes, (body, intact) = case
    got, error = attempt(
        lambda: PersonInfo.from_json(protocol.parse_response(body, "1101")),
        (ProtocolError, InsurerError),
    )
    if changes == 0 and intact:
        assert got == original, f"a valid answer was refused: {error}"
    if got is None:
        return
    assert isinstance(got.baseinfo.psn_no, str) and got.baseinfo.psn_no
    age = got.baseinfo.age
    assert age is None or (isinstance(age, Decimal) and 0 <= age <= 150)  # a person's age
    for insu in got.insuinfo:
        assert isinstance(insu.balc, Fen) and isinstance(insu.insutype, str) and insu.insutype
    assert all(isinstance(i, dict) for i in got.idetinfo)


@st.composite
def ec_answers(draw):
    identity = EcIdentity(
        idNo=draw(id_numbers()),
        idType="01",
        userName=draw(st.sampled_from(_NAMES)),
        ecToken=draw(ec_tokens),
        insuOrg="110105",
        ecIndexNo=draw(st.text("0123456789abcdef", max_size=32)),
        gender=draw(st.sampled_from(["1", "2"])),
        birthday="1978-03-12",
    )
    tree = identity.to_json()
    tree["code"] = draw(st.sampled_from([0, "0", " 0 "]))
    tree, changes = draw(broken(tree))
    if isinstance(tree, dict) and isinstance(tree.get("data"), dict) and draw(st.booleans()):
        tree["data"] = to_json_text(tree["data"])  # some services send data as a JSON string
    return identity, changes, draw(on_the_wire(tree))


@fuzz
@given(ec_answers())
def test_fuzz_ec_identity(case):
    original, changes, (body, intact) = case
    got, error = attempt(
        lambda: EcIdentity.from_json(body if isinstance(body, dict) else protocol.loads(body)),
        (ProtocolError, InsurerError),
    )
    if changes == 0 and intact:
        assert got == original, f"a valid answer was refused: {error}"
    if got is not None:
        assert re.fullmatch(r"[0-9]{6}ec[0-9a-z]{30}", got.ecToken)
        assert all(isinstance(getattr(got, f.name), str) for f in fields(EcIdentity))


CALLER = Caller(fixmedins_code="H11010500001", fixmedins_name="某诊所", mdtrtarea_admvs="110105")


@st.composite
def requests(draw):
    infno = draw(st.sampled_from(sorted(protocol.TRANSACTIONS)))
    msgid = protocol.make_msgid(CALLER.fixmedins_code, WHEN, draw(st.integers(0, 9999)))
    payload = {"data": {"psn_no": draw(st.text(max_size=10)), "medfee_sumamt": Fen(draw(amounts))}}
    tree = protocol.build_request(CALLER, infno, payload, msgid=msgid, when=WHEN, sign_no="S1")
    tree, changes = draw(broken(tree))
    return infno, msgid, changes, draw(on_the_wire(tree))


@fuzz
@given(requests())
def test_fuzz_parse_request(case):
    infno, msgid, changes, (body, intact) = case
    got, error = attempt(lambda: protocol.parse_request(body), ProtocolError)
    if changes == 0 and intact:
        assert got is not None and (got.infno, got.msgid) == (infno, msgid), error
    if got is not None:
        assert len(got.msgid) == 30 and got.infno and got.fixmedins_code
        assert isinstance(got.input, dict)
        assert all(isinstance(getattr(got, k), str) for k in ("sign_no", "opter", "inf_time"))


@st.composite
def envelopes(draw):
    """A whole answer envelope, success or refusal, with odd infcodes and outputs."""
    infcode = draw(st.sampled_from([0, -1]))
    output = draw(st.none() | st.just({"data": {"mdtrt_id": "M1"}}))
    err_msg = "参保人不存在" if infcode else ""
    tree = protocol.build_response(
        output, infcode=infcode, err_msg=err_msg, inf_refmsgid="1" * 30, when=WHEN
    )
    tree["infcode"] = draw(
        st.sampled_from([infcode, str(infcode), f" {infcode} ", infcode]) | json_values
    )
    tree, _ = draw(broken(tree))
    return draw(on_the_wire(tree))


@fuzz
@given(envelopes(), st.sampled_from(["2201", "9001", "0000", ""]))
def test_fuzz_parse_response(case, infno):
    body, _ = case
    output, error = attempt(
        lambda: protocol.parse_response(body, infno), (ProtocolError, InsurerError)
    )
    if output is not None:
        assert isinstance(output, dict)
    if isinstance(error, InsurerError):
        assert error.err_msg.strip()


json_texts = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60),
    st.recursive(
        json_values,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=12,
    )
    .flatmap(on_the_wire)
    .map(lambda pair: pair[0]),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    HUGE_DIGITS.map(lambda n: "[" + "7" * n + "]"),
    HUGE_DIGITS.map(lambda n: '{"x": 1e' + "9" * n + "}"),
)


@fuzz
@given(json_texts)
def test_fuzz_loads(text):
    doc, _ = attempt(lambda: protocol.loads(text), ProtocolError)
    assert _no_floats(doc)  # numbers are int or Decimal, never float


@fuzz
@given(json_values | money_texts, st.sampled_from(["medfee_sumamt", "balc"]))
def test_fuzz_money_field(value, name):
    fen, error = attempt(lambda: protocol.money(value, name), ProtocolError)
    if error is not None:
        assert name in str(error)
        return
    assert isinstance(fen, Fen)
    assert Decimal(fen.fen) == Decimal(str(value).strip()) * 100  # exact, never rounded


# -- catalog and order imports ---------------------------------------------------------------------------
def table_state(*models) -> tuple[tuple[int, ...], str]:
    """Row counts and a checksum of every row of the tables, in primary-key order."""
    digest, counts = hashlib.sha256(), []
    for model in models:
        rows = list(model.select().order_by(model._meta.primary_key).tuples())
        counts.append(len(rows))
        digest.update(repr(rows).encode("utf-8", "surrogatepass"))
    return tuple(counts), digest.hexdigest()


def assert_fits_schema(*models) -> None:
    """Every stored value fits its column as declared: PostgreSQL enforces what SQLite does not."""
    for model in models:
        by_column = {f.column_name: f for f in model._meta.sorted_fields}
        cursor = database.execute_sql(f'SELECT * FROM "{model._meta.table_name}"')
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            for name, value in zip(names, row, strict=True):
                column = by_column[name]
                if value is None:
                    continue
                where = f"{model.__name__}.{name} = {value!r}"
                if isinstance(column, CharField) and column.max_length:
                    assert len(value) <= column.max_length, where
                elif isinstance(column, BigIntegerField):
                    assert -(2**63) <= value < 2**63, where
                elif isinstance(column, IntegerField):
                    assert -(2**31) <= value < 2**31, where


# Cells a spreadsheet, a clinic system or a hand edit puts where they do not belong.
bad_cells = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "abc",
            "12.345",
            "-1",
            "1e5",
            "NaN",
            "Infinity",
            "１２.５０",
            "￥12.50",
            "0x10",
            "1,234.5",
            "99999999999",
            "9" * 30,
            "-" + "9" * 20,
            "3000000000",
            "丁",
            "1.5",
            "-0.1",
            "0.1.2",
            "0.12345678901234",
            "1E-999999",
            "6901234567893",
            "123|",
            "|",
            "a b",
            "x" * 41,
            "名" * 250,
            "\x00",
            "\t",
            "=1+1",
            "\u200b12",
            "0",
            "10000",
            "１",
            "11010519780312001x",
            "11010519780312001",
        ]
    ),
    st.text(max_size=20),
    HUGE_DIGITS.map(lambda n: "7" * n),
)


def gtin13(number: int) -> str:
    body = f"20{number:010d}"  # in-store numbers: never the demo catalog's
    return body + str(gtin_check_digit(body))


@st.composite
def catalog_rows(draw) -> dict[str, str]:
    cap = draw(st.none() | st.integers(0, 10**6).map(Fen))
    barcodes = [gtin13(draw(st.integers(0, 10**10 - 1))) for _ in range(draw(st.integers(0, 2)))]
    return {
        "code": f"F{draw(st.integers(0, 999)):05d}",
        "barcode": "|".join(barcodes),
        "name": draw(
            st.sampled_from(["阿莫西林胶囊", "血常规检查", "维生素C泡腾片", "Ibuprofen 0.3g"])
        ),
        "spec": draw(st.sampled_from(["", "0.25g*24粒", "10ml"])),
        "unit": draw(st.sampled_from(["盒", "支", "次", ""])),
        "price": str(Fen(draw(st.integers(0, 10**6)))),
        "med_list_codg": draw(st.sampled_from(["", "XJ01CAA870A002937171150", "001102000010000"])),
        "list_class": draw(st.sampled_from(["甲", "乙", "丙", ""])),
        "selfpay_prop": draw(st.sampled_from(["", "0", "0.10", "0.2", "1"])),
        "price_cap": "" if cap is None else str(cap),
        "fee_category": draw(st.sampled_from(["西药费", "化验费", ""])),
        "stock": str(draw(st.integers(-5, 10**5))),
    }


@st.composite
def csv_texts(draw, columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    """Rows as a CSV file, with its header and cells broken in the ways files break."""
    header = list(columns)
    how = draw(
        st.sampled_from(
            ["same"] * 4 + ["shuffle", "drop", "extra", "double", "pad", "upper", "none"]
        )
    )
    if how == "shuffle":
        header = draw(st.permutations(header))
    elif how == "drop":
        header.remove(draw(st.sampled_from(header)))
    elif how == "extra":
        header.insert(
            draw(st.integers(0, len(header))), draw(st.sampled_from(["备注", "", "colour"]))
        )
    elif how == "double":
        header.append(draw(st.sampled_from(header)))
    rows = [dict(row) for row in rows]
    for _ in range(draw(st.integers(0, 3)) if rows else 0):
        row = draw(st.sampled_from(rows))
        row[draw(st.sampled_from([*header, "code"]))] = draw(bad_cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if how != "none":
        names = [f" {h} " for h in header] if how == "pad" else header
        writer.writerow([h.upper() for h in names] if how == "upper" else names)
    for row in rows:
        cells = [row.get(h, "") for h in header]
        shape = draw(st.sampled_from(["same"] * 6 + ["more", "fewer", "blank"]))
        if shape == "more":
            cells.append(draw(bad_cells))
        elif shape == "fewer" and cells:
            cells.pop()
        elif shape == "blank":
            writer.writerow([])
        writer.writerow(cells)
    text = out.getvalue()
    if draw(st.integers(0, 4)) == 0:  # the raw text broken too
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(['"', "\x00", "\r", "\n\n", ",,,", '"a""b', "x" * 140_000]))
        text = text[:at] + junk + text[at:]
    return text


@st.composite
def file_forms(draw, text: str) -> tuple[str, str | bytes]:
    """How the file arrives: as text, or as the bytes of a file in some encoding."""
    form = draw(
        st.sampled_from(["text", "text", "utf-8", "utf-8", "bom", "gbk", "utf-16", "mojibake"])
    )
    if form == "text":
        return "text", text
    if form == "mojibake":  # UTF-8 read as Latin-1 somewhere upstream
        return "text", text.encode("utf-8", "surrogatepass").decode("latin-1")
    if form == "utf-8":
        return "file", text.encode("utf-8", "surrogatepass")
    if form == "bom":
        return "file", b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return "file", text.encode(form, errors="replace")


SUPERVISOR = SignedIn("9001", "李组长", Role.SUPERVISOR)


@st.composite
def catalog_files(draw):
    rows = draw(st.lists(catalog_rows(), max_size=6))
    return draw(file_forms(draw(csv_texts(catalog.COLUMNS, rows))))


@fuzz_db
@given(catalog_files(), st.sampled_from([SUPERVISOR, SUPERVISOR, None]))
def test_fuzz_import_catalog(empty_station, tmp_path, case, by):
    form, content = case
    before = table_state(Item, Barcode)
    path = tmp_path / "catalog.csv"
    if form == "file":
        path.write_bytes(content)
    source = {"text": content} if form == "text" else {"path": path}
    result, error = attempt(
        lambda: catalog.import_catalog(**source, by=by, station_id="TRAIN-01"),
        (InputError, NotAllowed),
    )
    after = table_state(Item, Barcode)
    if error is not None:
        assert after == before, "a refused catalog changed the tables"
        for line, message in getattr(error, "problems", []):
            assert line >= 1 and message.strip()
        return
    assert after[0][0] == before[0][0] + result.created
    assert_fits_schema(Item, Barcode)


_DEMO_CODES = ["Y00001", "Y00025", "Y00060", "S00001", "S00004", "S00052", "C00019"]


@st.composite
def clinic_orders(draw) -> dict[str, Any]:
    return {
        "visit": f"FZ{draw(st.integers(0, 999)):06d}",
        "patient": {"name": draw(st.sampled_from(_NAMES[:3])), "certno": draw(id_numbers())},
        "doctor": {"code": "D001", "name": "李医生"},
        "department": {"code": "A03", "name": "内科"},
        "diagnosis": {"code": "J06.900", "name": "急性上呼吸道感染"},
        "med_type": draw(st.sampled_from(["11", "13", "14"])),
        "lines": [
            {"code": draw(st.sampled_from(_DEMO_CODES)), "quantity": draw(st.integers(1, 20))}
            for _ in range(draw(st.integers(1, 3)))
        ],
    }


order_values = st.one_of(
    json_values,
    bad_cells,
    st.sampled_from(["Y00001\x00", "\ud800", "Y0000\udc81", "１", "9" * 4400, 10**4, 0, -1, 1.0]),
)


@st.composite
def order_files(draw):
    batch = draw(st.lists(clinic_orders(), min_size=1, max_size=3))
    if draw(st.booleans()):  # JSON
        tree, _ = draw(broken({"orders": batch} if draw(st.booleans()) else batch, order_values))
        text = to_json_text(tree, ascii_only=draw(st.booleans()))
        if any("\ud800" <= c <= "\udfff" for c in text):
            text = to_json_text(
                tree, ascii_only=True
            )  # a file holds lone surrogates only as \\u escapes
        if draw(st.integers(0, 4)) == 0:
            at = draw(st.integers(0, len(text)))
            junk = draw(
                st.sampled_from(["}", ",", '"', "\x00", "9" * 4400, "1e" + "9" * 30, "[" * 5000])
            )
            text = text[:at] + junk + text[at:]
        return "json", draw(file_forms(text))
    columns = (*orders.CSV_COLUMNS, "med_type")
    rows = [
        {
            "visit": o["visit"],
            "patient_name": o["patient"]["name"],
            "certno": o["patient"]["certno"],
            "doctor_code": "D001",
            "doctor_name": "李医生",
            "dept_code": "A03",
            "dept_name": "内科",
            "diag_code": "J06.900",
            "diag_name": "急性上呼吸道感染",
            "med_type": o["med_type"],
            "code": line["code"],
            "quantity": str(line["quantity"]),
        }
        for o in batch
        for line in o["lines"]
    ]
    return "csv", draw(file_forms(draw(csv_texts(columns, rows))))


@fuzz_db
@given(order_files())
def test_fuzz_import_orders(station, tmp_path, case):
    fmt, (form, content) = case
    before = table_state(ClinicOrder, ClinicOrderLine, Item)
    path = tmp_path / f"orders.{fmt}"
    if form == "file":
        path.write_bytes(content)
    result, error = attempt(
        lambda: (
            orders.import_orders(text=content, fmt=fmt)
            if form == "text"
            else orders.import_orders(path)
        ),
        InputError,
    )
    after = table_state(ClinicOrder, ClinicOrderLine, Item)
    if error is not None:
        assert after == before, "a refused orders file changed the tables"
        for line, message in getattr(error, "problems", []):
            assert line >= 1 and message.strip()
        return
    assert result.total >= 1 and result.lines >= result.total
    assert after[0][0] == before[0][0] + result.added and after[0][2] == before[0][2]
    assert_fits_schema(ClinicOrder, ClinicOrderLine)


# -- configuration files ---------------------------------------------------------------------------------
BASE_CONFIG: dict[str, Any] = {
    "station_id": "C-01",
    "station_name": "一号收费台",
    "clinic_code": "H11010500001",
    "clinic_name": "某诊所",
    "admvs": "110105",
    "kind": "clinic",
    "training": False,
    "idle_lock_seconds": 300,
    "console_port": 8765,
    "printer": {"url": "tcp://127.0.0.1:9100", "paper": "80mm", "kick_drawer": True},
    "scanner": {"max_gap_ms": 50, "min_length": 6, "terminator": "enter", "serial_baud": 9600},
    "insurer": {"url": "http://127.0.0.1:8080", "paasid": "p", "secret": "s", "timeout_s": 30},
    "display": {"url": ""},
    "keymap": {"pay": "f9", "void": "f12"},
}
# What a TOML file can hold where it should not (TOML has no null).
toml_values = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(max_size=12),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(0, 9), max_size=2),
    st.sampled_from(["", "pharmacy", "58mm", "tab", "f9", "0", "true", "~", "~nosuchuser/x"]),
)


@st.composite
def config_tables(draw) -> dict[str, Any]:
    raw, _ = draw(broken(BASE_CONFIG, toml_values))
    if not isinstance(raw, dict):
        raw = {"station_id": raw}
    if draw(st.integers(0, 3)) == 0:
        raw["data_dir"] = draw(toml_values)
    return raw


def assert_settings_typed(got: Settings) -> None:
    """Every setting has the type its field declares, and the closed choices hold."""
    kinds = {"str": str, "int": int, "bool": bool}
    for owner in (got, got.printer, got.scanner, got.insurer, got.display):
        for f in fields(owner):
            if f.type in kinds:
                value = getattr(owner, f.name)
                assert isinstance(value, kinds[f.type]), f.name
                assert f.type == "bool" or not isinstance(value, bool), f.name
    assert got.kind in KINDS and got.printer.paper in PAPERS
    assert got.scanner.terminator in ("enter", "tab")
    assert set(got.keymap) <= set(DEFAULT_KEYMAP) and all(
        isinstance(v, str) for v in got.keymap.values()
    )
    assert isinstance(got.data_dir, Path)


@fuzz_db
@given(config_tables(), st.booleans())
def test_fuzz_settings_from_dict(tmp_path, raw, with_data_dir):
    data_dir = tmp_path / "data" if with_data_dir else None
    got, _ = attempt(lambda: settings_from_dict(raw, data_dir=data_dir), ConfigError)
    if got is not None:
        assert_settings_typed(got)


@st.composite
def config_files(draw) -> bytes:
    import tomlkit

    text = tomlkit.dumps(draw(config_tables()))
    how = draw(st.sampled_from(["same", "same", "cut", "junk", "any", "huge"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "junk":
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from(["[", "]]", "=", '"', "\x00", "\n[printer]\n", "'''", "a.b.c = 1\n"])
        )
        text = text[:at] + junk + text[at:]
    elif how == "any":
        text = draw(st.text(max_size=80))
    elif how == "huge":
        text += f"console_port = {'9' * draw(HUGE_DIGITS)}\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "gbk", "utf-16"]))
    return text.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")


@fuzz_db
@given(config_files())
def test_fuzz_load_settings(tmp_path, monkeypatch, content):
    for name in ("CASHIER_CONFIG", "CASHIER_DATA_DIR", "CASHIER_DATABASE_URL", "CASHIER_LOW_SPEC"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "cashier.toml"
    path.write_bytes(content)
    got, _ = attempt(lambda: load_settings(path, tmp_path / "data"), ConfigError)
    if got is not None:
        assert_settings_typed(got)
        assert got.config_path == path


# -- coverage-guided, under atheris ------------------------------------------------------------------------
def _atheris_main(argv: list[str]) -> None:
    """``python tests/unit/test_fuzz.py TEST [libFuzzer options]``: one pure test, coverage-guided.

    atheris drives the test's Hypothesis strategies (``fuzz_one_input``), so the
    inputs are the same realistic-but-broken shapes, chosen by coverage instead of
    at random; a failing input stops the run with its traceback. The tests that
    need a database fixture are not offered here.
    """
    import atheris  # not a project dependency: pip install atheris

    pure = {
        name: test
        for name, test in globals().items()
        if name.startswith("test_fuzz_")
        and not {"empty_station", "station", "tmp_path"}
        & set(test.hypothesis.inner_test.__code__.co_varnames)
    }
    if len(argv) < 2 or argv[1] not in pure:
        sys.exit(
            f"usage: {argv[0]} TEST [libFuzzer options]; TEST one of: {', '.join(sorted(pure))}"
        )
    test = pure[argv[1]]
    atheris.instrument_all()
    atheris.Setup([argv[0], *argv[2:]], test.hypothesis.fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    _atheris_main(sys.argv)
