"""Keyboard-wedge burst detection and classification of scanned codes."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier.devices.scanner import (
    BurstDetector,
    Pass,
    Scan,
    ScanKind,
    ScannedCode,
    classify,
    gtin_check_digit,
    id_check_char,
    is_ec_token,
    is_valid_gtin,
    is_valid_id_number,
    mask_id_number,
    mask_name,
    payment_code_issuer,
)

MAX_GAP = 0.05

# -- helpers --------------------------------------------------------------------------


def feed(detector, events, settle=True):
    """events: (key, char, time). Returns every action, expiring after the last key."""
    out = []
    last = 0.0
    for key, char, t in events:
        out += detector.push(key, char, t)
        last = t
    if settle:
        out += detector.expire(last + 10)
    return out


def typed(text, start=0.0, gap=0.01):
    return [(c, c, start + i * gap) for i, c in enumerate(text)]


def char_of(key):
    """What Textual reports as ``character`` for these test keys."""
    return {"enter": "\r", "tab": "\t", "space": " ", "backspace": "\x08", "escape": "\x1b"}.get(
        key, key if len(key) == 1 else None
    )


# -- burst detection: examples ----------------------------------------------------------


def test_fast_burst_with_enter_is_one_scan():
    d = BurstDetector()
    events = [*typed("6901234567892"), ("enter", "\r", 0.13)]
    assert feed(d, events) == [Scan("6901234567892")]


def test_scan_is_reported_at_the_terminator_not_later():
    d = BurstDetector()
    out = feed(d, typed("Y00001"), settle=False)
    assert out == []
    assert d.holding
    assert d.push("enter", "\r", 0.06) == [Scan("Y00001")]
    assert not d.holding
    assert d.deadline() is None


def test_slow_typing_passes_every_key_in_order():
    d = BurstDetector()
    events = [*typed("6901234567892", gap=0.2), ("enter", "\r", 3.0)]
    out = feed(d, events)
    assert out == [*(Pass(c, c) for c in "6901234567892"), Pass("enter", "\r")]


def test_slow_key_is_released_as_soon_as_the_next_key_comes():
    d = BurstDetector()
    assert d.push("1", "1", 0.0) == []
    assert d.push("2", "2", 0.5) == [Pass("1", "1")]


def test_short_fast_input_is_not_a_scan():
    d = BurstDetector()
    out = feed(d, [*typed("1234"), ("enter", "\r", 0.05)])
    assert out == [*(Pass(c, c) for c in "1234"), Pass("enter", "\r")]


def test_min_length_is_inclusive():
    d = BurstDetector(min_length=4)
    assert feed(d, [*typed("1234"), ("enter", "\r", 0.04)]) == [Scan("1234")]


def test_terminator_after_a_pause_is_not_part_of_the_burst():
    d = BurstDetector()
    out = feed(d, [*typed("Y00001"), ("enter", "\r", 0.05 + 0.2)])
    assert out == [*(Pass(c, c) for c in "Y00001"), Pass("enter", "\r")]


def test_gap_of_exactly_max_gap_still_belongs_to_the_burst():
    d = BurstDetector(max_gap=0.05)
    events = [(c, c, 0.1 + i * 0.05) for i, c in enumerate("A1B2C3")]
    assert feed(d, [*events, ("enter", "\r", 0.1 + 6 * 0.05)]) == [Scan("A1B2C3")]


def test_function_key_releases_held_keys_first():
    d = BurstDetector()
    out = d.push("a", "a", 0.0) + d.push("f3", None, 0.01)
    assert out == [Pass("a", "a"), Pass("f3", None)]


@pytest.mark.parametrize(
    ("key", "char"),
    [("backspace", "\x08"), ("escape", "\x1b"), ("up", None), ("ctrl+a", "\x01"), ("tab", "\t")],
)
def test_non_printable_keys_pass_through_in_order(key, char):
    d = BurstDetector()
    out = feed(d, [*typed("abc"), (key, char, 0.03), *typed("de", start=0.04)])
    assert out == [*(Pass(c, c) for c in "abc"), Pass(key, char), Pass("d", "d"), Pass("e", "e")]


def test_tab_terminator_when_configured():
    d = BurstDetector(terminators={"enter", "tab"})
    assert feed(d, [*typed("Y00001"), ("tab", "\t", 0.06)]) == [Scan("Y00001")]
    d = BurstDetector(terminators="tab")  # a single name is one terminator, not its letters
    assert d.terminators == frozenset({"tab"})
    assert feed(d, [*typed("Y00001"), ("enter", "\r", 0.06)])[-1] == Pass("enter", "\r")


def test_lone_terminator_passes():
    d = BurstDetector()
    assert d.push("enter", "\r", 5.0) == [Pass("enter", "\r")]


def test_scan_right_after_typing_is_still_found():
    d = BurstDetector()
    events = typed("ab", gap=0.3) + typed("Y00001", start=1.0) + [("enter", "\r", 1.06)]
    out = feed(d, events)
    assert out == [Pass("a", "a"), Pass("b", "b"), Scan("Y00001")]


def test_two_scans_back_to_back():
    d = BurstDetector()
    events = [
        *typed("6901234567892"),
        ("enter", "\r", 0.13),
        *typed("96385074", start=0.5),
        ("enter", "\r", 0.58),
    ]
    assert feed(d, events) == [Scan("6901234567892"), Scan("96385074")]


def test_space_is_printable_and_part_of_a_scan():
    d = BurstDetector()
    events = [*typed("AB"), ("space", " ", 0.02), *typed("1234", start=0.03)]
    assert feed(d, [*events, ("enter", "\r", 0.07)]) == [Scan("AB 1234")]


def test_deadline_and_expire():
    d = BurstDetector(max_gap=0.05)
    assert d.deadline() is None
    d.push("x", "x", 1.0)
    assert d.deadline() == pytest.approx(1.05, abs=1e-3)
    assert d.expire(1.02) == []
    assert d.expire(d.deadline()) == [Pass("x", "x")]
    assert d.deadline() is None
    assert d.expire(9.0) == []


def test_deadline_moves_with_each_key():
    d = BurstDetector(max_gap=0.05)
    d.push("x", "x", 1.0)
    d.push("y", "y", 1.04)
    assert d.deadline() == pytest.approx(1.09, abs=1e-3)
    assert d.expire(1.07) == []


def test_flush_releases_everything():
    d = BurstDetector()
    feed(d, typed("abc"), settle=False)
    assert d.flush() == [Pass("a", "a"), Pass("b", "b"), Pass("c", "c")]
    assert d.flush() == []


@pytest.mark.parametrize(
    "kwargs", [{"max_gap": 0}, {"max_gap": -1}, {"min_length": 0}, {"terminators": ()}]
)
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        BurstDetector(**kwargs)


# -- burst detection: properties ----------------------------------------------------------

printable_keys = [*"0123456789abcXY-.", "space"]
other_keys = ["f3", "backspace", "escape", "up", "ctrl+a"]
any_key = st.sampled_from([*printable_keys, *other_keys, "enter", "tab"])
terminator_sets = st.sampled_from([frozenset({"enter"}), frozenset({"enter", "tab"})])


@given(
    st.lists(st.tuples(any_key, st.floats(min_value=0.0, max_value=0.2)), max_size=80),
    terminator_sets,
)
def test_no_key_is_lost_reordered_or_duplicated(events, terminators):
    d = BurstDetector(max_gap=MAX_GAP, terminators=terminators)
    t, stream, out = 0.0, [], []
    for key, gap in events:
        t += gap
        stream.append((key, char_of(key)))
        actions = d.push(key, char_of(key), t)
        out += actions
        if char_of(key) is None or not char_of(key).isprintable():
            # a non-printable key never leaves anything held behind it
            assert not d.holding
        deadline = d.deadline()
        assert (deadline is None) == (not d.holding)
        if deadline is not None:
            assert deadline <= t + MAX_GAP + 1e-3  # held at most max_gap after the last key
    out += d.expire(t + MAX_GAP + 1e-3)
    assert not d.holding

    rebuilt = []
    for action in out:
        if isinstance(action, Pass):
            rebuilt.append((action.key, action.char))
        else:
            rebuilt.extend(("space" if c == " " else c, c) for c in action.text)
            rebuilt.append("<terminator>")
    expected = iter(stream)
    for item in rebuilt:
        key, char = next(expected)
        if item == "<terminator>":
            assert key in terminators  # a swallowed key is always a terminator
        else:
            assert item == (key, char)
    assert next(expected, None) is None


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=6, max_size=60
    ),
    st.lists(st.floats(min_value=0.0, max_value=MAX_GAP), min_size=61, max_size=61),
    st.lists(st.sampled_from(printable_keys), max_size=5),
    st.sampled_from(["enter", "tab"]),
)
def test_any_fast_burst_is_exactly_one_scan(code, gaps, before, terminator):
    d = BurstDetector(max_gap=MAX_GAP, min_length=6, terminators={"enter", "tab"})
    events, t = [], 100.0
    for key in before:  # a person typing slowly just before the scan
        events.append((key, char_of(key), t))
        t += 1.0
    for c, gap in zip(code, gaps, strict=False):
        events.append((c, c, t))
        t += gap
    events.append((terminator, char_of(terminator), t))  # within max_gap of the last char
    out = feed(d, events)
    scans = [a for a in out if isinstance(a, Scan)]
    assert scans == [Scan(code)]
    assert out[-1] == Scan(code)
    assert out[:-1] == [Pass(k, char_of(k)) for k in before]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([*printable_keys, *other_keys, "enter"]),
            st.floats(min_value=MAX_GAP * 1.01, max_value=2.0),
        ),
        max_size=60,
    )
)
def test_slow_keys_are_all_passed_and_never_held_long(events):
    d = BurstDetector(max_gap=MAX_GAP)
    t, out, stream = 0.0, [], []
    for key, gap in events:
        t += gap
        out += d.push(key, char_of(key), t)
        stream.append(Pass(key, char_of(key)))
        # everything typed before this key is already delivered
        assert out == stream or out == stream[:-1]
    out += d.expire(t + 1)
    assert out == stream


# -- GTIN -----------------------------------------------------------------------------


def reference_gs1_ok(code: str) -> bool:
    """Independent GS1 rule: weights 1, 3, 1… from the right, check digit included."""
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(code))) % 10 == 0


@pytest.mark.parametrize(
    "code",
    [
        "6901234567892",  # EAN-13, GS1 China prefix 690
        "6920202888883",  # EAN-13
        "4006381333931",  # EAN-13
        "96385074",  # EAN-8
        "036000291452",  # UPC-A
        "10614141000415",  # GTIN-14
    ],
)
def test_valid_gtins(code):
    assert reference_gs1_ok(code)
    assert is_valid_gtin(code)
    assert gtin_check_digit(code[:-1]) == int(code[-1])
    assert classify(code) == ScannedCode(ScanKind.GTIN, code)


@pytest.mark.parametrize("code", ["6901234567891", "96385075", "036000291453", "690123456789"])
def test_invalid_gtins(code):
    assert not is_valid_gtin(code)


def test_gtin_check_digit_refuses_non_digits():
    with pytest.raises(ValueError):
        gtin_check_digit("69012345678A")


@given(st.sampled_from([7, 11, 12, 13]), st.data())
def test_gtin_check_digit_round_trip(length, data):
    body = data.draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    check = gtin_check_digit(body)
    assert reference_gs1_ok(body + str(check))
    assert is_valid_gtin(body + str(check))
    wrong = (check + data.draw(st.integers(1, 9))) % 10
    assert not is_valid_gtin(body + str(wrong))


# -- ID numbers ------------------------------------------------------------------------------


def reference_id_check(body: str) -> str:
    """Independent GB 11643 rule: weight of position i is 2**(17 - i) mod 11."""
    return "10X98765432"[sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body)) % 11]


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example
        "11010519780312001X",
        "110105195807160028",
        "310104198202150075",
        "440308199901010012",
        "110105200002290013",  # 29 February of a leap year
    ],
)
def test_valid_id_numbers(number):
    assert reference_id_check(number[:17]) == number[17]
    assert is_valid_id_number(number)
    assert is_valid_id_number(number.lower())
    assert id_check_char(number[:17]) == number[17]
    assert classify(number) == ScannedCode(ScanKind.ID_NUMBER, number)


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character (should be X)
        "440308199901010014",  # wrong check digit (should be 2)
        "110105190002290017",  # right check digit, but 1900 was not a leap year
        "110105189912310015",  # right check digit, born before 1900
        "110105194913310013",  # right check digit, month 13
        "11010519491231002",  # 17 characters
        "1101051949123100 X",
        "",
    ],
)
def test_invalid_id_numbers(number):
    assert not is_valid_id_number(number)


def test_id_number_born_in_the_future_is_refused():
    year = date.today().year + 1
    body = f"110105{year}0101001"
    assert not is_valid_id_number(body + reference_id_check(body))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date.today()), st.integers(0, 999))
def test_id_check_round_trip(born, serial):
    body = f"440308{born:%Y%m%d}{serial:03d}"
    number = body + id_check_char(body)
    assert number[17] == reference_id_check(body)
    assert is_valid_id_number(number)
    for wrong in "0123456789X":
        if wrong != number[17]:
            assert not is_valid_id_number(body + wrong)


# -- classify ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # ID numbers win over payment codes only when checksum and birth date are valid
        ("11010519491231002x", ScanKind.ID_NUMBER),
        ("110105194912310021", ScanKind.PAYMENT_CODE),  # bad check: 18 digits from 11 = WeChat
        ("110105190002290017", ScanKind.PAYMENT_CODE),  # good check, no such date: WeChat
        ("134567890123456789", ScanKind.PAYMENT_CODE),  # WeChat Pay
        ("101234567890123456", ScanKind.PAYMENT_CODE),  # WeChat Pay
        ("281234567890123456", ScanKind.PAYMENT_CODE),  # Alipay, 18 digits
        ("2512345678901234", ScanKind.PAYMENT_CODE),  # Alipay, 16 digits
        ("301234567890123456789012", ScanKind.PAYMENT_CODE),  # Alipay, 24 digits
        ("6212345678901234567", ScanKind.PAYMENT_CODE),  # UnionPay
        ("161234567890123456", ScanKind.CODE128),  # 18 digits, no payment prefix
        ("621234567890123456", ScanKind.CODE128),  # 62 but 18 digits: not UnionPay
        # e-vouchers
        ("110105ec0123456789abcdefghijklmnopqrst", ScanKind.EVOUCHER),  # ecToken
        ("ybm:Q2FzaGllclNhbmRib3hWb3VjaGVy", ScanKind.EVOUCHER),
        ("ybm:Zx9-_a", ScanKind.EVOUCHER),  # the sandbox's scheme, even short
        ("YBM:Q2FzaGllclNhbmRib3g", ScanKind.EVOUCHER),
        ("Q2FzaGllclNhbmRib3hWb3VjaGVyMQ==", ScanKind.EVOUCHER),  # base64
        ("3f9a1c0b7e6d5a4c3b2a19f8e7d6c5b4", ScanKind.EVOUCHER),  # hex
        ("https://fuwu.nhsa.gov.cn/ec?qr=abcdef0123456789", ScanKind.EVOUCHER),
        ("https://example.com/hsecfc/qr/abc", ScanKind.EVOUCHER),
        # other things
        ("https://example.com/whatever", ScanKind.UNKNOWN),
        ("http://weixin.qq.com/r/abcdefghijklmnop", ScanKind.UNKNOWN),
        ("weixin://wxpay/bizpayurl?pr=abcdefg", ScanKind.UNKNOWN),
        ("Y00001", ScanKind.CODE128),
        ("ITEM-0042_b.1", ScanKind.CODE128),
        ("6901234567891", ScanKind.CODE128),  # bad check digit: an internal code
        ("12345678901234567890", ScanKind.CODE128),  # all digits, no known shape
        ("ABC", ScanKind.UNKNOWN),  # too short
        ("AB 12", ScanKind.UNKNOWN),
        ("some words that are long enough", ScanKind.UNKNOWN),
        ("", ScanKind.UNKNOWN),
        ("   ", ScanKind.UNKNOWN),
        ("条码", ScanKind.UNKNOWN),
        ("医保电子凭证医保电子凭证医保电子凭证医保电子凭证", ScanKind.UNKNOWN),
    ],
)
def test_classify(text, kind):
    assert classify(text).kind is kind


def test_classify_drops_surrounding_whitespace_and_normalises_x():
    assert classify(" 6901234567892\r\n") == ScannedCode(ScanKind.GTIN, "6901234567892")
    assert classify("11010519491231002x").text == "11010519491231002X"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=30, max_size=30))
def test_every_ec_token_is_an_evoucher(tail):
    token = "440300ec" + tail
    assert is_ec_token(token)
    assert classify(token) == ScannedCode(ScanKind.EVOUCHER, token)


@given(st.text(max_size=80))
def test_classify_never_fails(text):
    code = classify(text)
    assert isinstance(code.kind, ScanKind)
    assert code.text.upper() == text.strip().upper()


def test_payment_code_issuer():
    assert payment_code_issuer("134567890123456789") == "wechat"
    assert payment_code_issuer("281234567890123456") == "alipay"
    assert payment_code_issuer("6212345678901234567") == "unionpay"
    assert payment_code_issuer("6901234567892") is None
    assert payment_code_issuer("13456789012345678X") is None


# -- masking ---------------------------------------------------------------------------------


def test_mask_id_number():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("110105195807160028") == "1101**********0028"
    assert len(mask_id_number("110105195807160028")) == 18
    assert mask_id_number("12345678") == "********"
    assert mask_id_number("") == ""


def test_mask_name():
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("买买提·艾力") == "买****力"
    assert mask_name("李") == "李"
    assert mask_name("") == ""


def test_an_all_digit_evoucher_payload_is_not_a_product_code():
    payload = "6271001234567890123456" + "110105"  # 28 digits ending in the insured region
    assert len(payload) == 28
    assert classify(payload).kind is ScanKind.EVOUCHER
    assert classify("9" * 22 + "990000").kind is ScanKind.CODE128  # no real area code
    assert classify("1" * 40).kind is ScanKind.CODE128  # longer than any 医保码


def test_a_traceability_code_is_told_from_barcodes_ids_and_payment_codes():
    """Issue 20: a box's 追溯码 (20 digits from 8, or a serialised GS1 code) is its own kind."""
    from cashier.devices.scanner import ScanKind, classify

    assert classify("81234567890123456789").kind is ScanKind.TRACE
    assert classify("(01)06901234567892(17)271231(10)A123(21)XYZ789").kind is ScanKind.TRACE
    raw = "\x1d010690123456789217271231\x1d10L1\x1d21SER1"
    assert classify(raw).kind is ScanKind.TRACE
    assert classify("(01)06901234567891(21)X").kind is not ScanKind.TRACE  # check digit wrong
    assert classify("0106901234567892172712312112345").kind is not ScanKind.TRACE  # all digits
    assert classify("71234567890123456789").kind is not ScanKind.TRACE  # not from 8
    assert classify("6901234567892").kind is ScanKind.GTIN
    assert classify("134567890123456789").kind is ScanKind.PAYMENT_CODE
    # A clinic's own shape, configured ([inventory] trace_patterns).
    import re

    assert classify("TR-00012345", (re.compile(r"TR-\d{8}"),)).kind is ScanKind.TRACE
