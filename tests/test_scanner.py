import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier.hardware.scanner import (
    BurstDetector,
    Pass,
    Scan,
    ScanKind,
    classify,
    gtin_check_digit,
    is_valid_id_number,
    mask_id_number,
    mask_name,
)


def feed(detector, events):
    """events: (key, char, time); returns all actions, expiring at the end."""
    out = []
    last = 0.0
    for key, char, t in events:
        out += detector.push(key, char, t)
        last = t
    out += detector.expire(last + 10)
    return out


def typed(text, start=0.0, gap=0.01):
    return [(c, c, start + i * gap) for i, c in enumerate(text)]


def test_fast_burst_with_enter_is_one_scan():
    d = BurstDetector()
    events = [*typed("6901234567892"), ("enter", "\r", 0.13)]
    assert feed(d, events) == [Scan("6901234567892")]


def test_slow_typing_passes_every_key_in_order():
    d = BurstDetector()
    events = [*typed("6901234567892", gap=0.2), ("enter", "\r", 3.0)]
    out = feed(d, events)
    assert all(isinstance(a, Pass) for a in out)
    assert [a.key for a in out] == [*"6901234567892", "enter"]


def test_short_fast_input_is_not_a_scan():
    d = BurstDetector()
    out = feed(d, [*typed("1234"), ("enter", "\r", 0.05)])
    assert [a.key for a in out] == ["1", "2", "3", "4", "enter"]


def test_function_key_releases_held_keys_first():
    d = BurstDetector()
    out = d.push("a", "a", 0.0) + d.push("f3", None, 0.01)
    assert out == [Pass("a", "a"), Pass("f3", None)]


def test_scan_right_after_typing_is_still_found():
    d = BurstDetector()
    events = typed("ab", gap=0.3) + typed("Y00001", start=1.0) + [("enter", "\r", 1.06)]
    out = feed(d, events)
    assert out == [Pass("a", "a"), Pass("b", "b"), Scan("Y00001")]


def test_deadline_and_expire():
    d = BurstDetector(max_gap=0.05)
    assert d.deadline() is None
    d.push("x", "x", 1.0)
    assert d.deadline() == pytest.approx(1.05, abs=1e-3)
    assert d.expire(1.02) == []
    assert d.expire(1.06) == [Pass("x", "x")]


keys = st.sampled_from([*"0123456789abcXY", "enter", "tab", "f3", "backspace"])


@given(st.lists(st.tuples(keys, st.floats(min_value=0.0, max_value=0.2)), max_size=60))
def test_no_key_is_lost_reordered_or_duplicated(events):
    d = BurstDetector()
    t, stream, out = 0.0, [], []
    for key, gap in events:
        t += gap
        char = key if len(key) == 1 else None
        stream.append(key)
        out += d.push(key, char, t)
    out += d.expire(t + 1)
    rebuilt = []
    for action in out:
        if isinstance(action, Pass):
            rebuilt.append(action.key)
        else:
            rebuilt.extend([*action.text, "enter"])
    assert rebuilt == stream


@given(st.text(alphabet="0123456789ABCDEF", min_size=6, max_size=40))
def test_any_fast_burst_is_exactly_one_scan(code):
    d = BurstDetector()
    events = [*typed(code, gap=0.01), ("enter", "\r", len(code) * 0.01)]
    assert feed(d, events) == [Scan(code)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("6901234567892", ScanKind.GTIN),
        ("96385074", ScanKind.GTIN),  # EAN-8
        ("036000291452", ScanKind.GTIN),  # UPC-A
        ("11010519491231002X", ScanKind.ID_NUMBER),
        ("11010519491231002x", ScanKind.ID_NUMBER),
        ("110105194912310021", ScanKind.PAYMENT_CODE),  # bad ID check: 18 digits from 11 = WeChat
        ("134567890123456789", ScanKind.PAYMENT_CODE),  # WeChat Pay
        ("281234567890123456", ScanKind.PAYMENT_CODE),  # Alipay
        ("6212345678901234567", ScanKind.PAYMENT_CODE),  # UnionPay
        ("110105ec0123456789abcdefghijklmnopqrst", ScanKind.EVOUCHER),
        ("ybm:Q2FzaGllclNhbmRib3hWb3VjaGVy", ScanKind.EVOUCHER),
        ("https://example.com/whatever", ScanKind.UNKNOWN),
        ("Y00001", ScanKind.CODE128),
        ("6901234567891", ScanKind.CODE128),  # bad check digit: an internal code
        ("", ScanKind.UNKNOWN),
        ("条码", ScanKind.UNKNOWN),
    ],
)
def test_classify(text, kind):
    assert classify(text).kind is kind


def test_helpers():
    assert gtin_check_digit("690123456789") == 2
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("11010520991231002X")  # born in the future
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
