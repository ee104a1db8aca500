from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier.domain.money import MAX_INPUT_FEN, Fen, MoneyError

fens = st.integers(min_value=-MAX_INPUT_FEN, max_value=MAX_INPUT_FEN).map(Fen)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("１２.５０", 1250),
        ("１２．５", 1250),
        ("￥12.50", 1250),
        ("¥ 1,234.5", 123450),
        ("0.01", 1),
        (".5", 50),
        ("7.", 700),
        ("12元", 1200),
    ],
)
def test_parse_what_cashiers_type(text, fen):
    assert Fen.parse(text) == Fen(fen)


@pytest.mark.parametrize("text", ["", "abc", "1.234", "12.5.0", "--1", "1e3", "NaN", ".", "12a"])
def test_parse_refuses_what_is_not_money(text):
    with pytest.raises(MoneyError):
        Fen.parse(text)


def test_parse_refuses_negative_and_zero_when_asked():
    with pytest.raises(MoneyError, match="负数"):
        Fen.parse("-1")
    assert Fen.parse("-1", allow_negative=True) == Fen(-100)
    with pytest.raises(MoneyError, match="零"):
        Fen.parse("0.00", allow_zero=False)
    with pytest.raises(MoneyError, match="过大"):
        Fen.parse("100000000")


def test_floats_are_refused_everywhere():
    with pytest.raises(TypeError):
        Fen(12.5)
    with pytest.raises(TypeError):
        Fen(100) + 1.5
    with pytest.raises(TypeError):
        Fen(100) * 1.5
    with pytest.raises(TypeError):
        Fen.from_decimal(12.5)
    with pytest.raises(TypeError):
        Fen(100).mul_ratio(0.1)
    with pytest.raises(TypeError):
        Fen(True)


def test_format():
    assert str(Fen(1250)) == "12.50"
    assert Fen(5).display() == "￥0.05"
    assert Fen(-123456).display(grouping=True) == "-￥1,234.56"
    assert Fen(100).to_decimal() == Decimal("1.00")


def test_round_half_up():
    assert Fen(5).mul_ratio(Decimal("0.5")) == Fen(3)  # 2.5 fen -> 3
    assert Fen(-5).mul_ratio(Decimal("0.5")) == Fen(-3)
    assert Fen.from_decimal(Decimal("0.005")) == Fen(1)
    assert Fen.from_decimal(Decimal("0.0049")) == Fen(0)


def test_json_amounts():
    assert Fen.from_json(12.3) == Fen(1230)
    assert Fen.from_json("0.10") == Fen(10)
    assert Fen.from_json(0.07) == Fen(7)  # a float from json.loads is read by its text
    for bad in ("x", None, True, "1.234", "inf"):
        with pytest.raises(MoneyError):
            Fen.from_json(bad)


@given(fens)
def test_format_parse_round_trip(amount):
    assert Fen.parse(str(amount), allow_negative=True) == amount
    assert Fen.parse(amount.display(grouping=True), allow_negative=True) == amount


@given(fens)
def test_decimal_round_trip(amount):
    assert Fen.from_decimal(amount.to_decimal()) == amount
    assert Fen.from_json(str(amount.to_decimal())) == amount


@given(st.lists(fens, max_size=50))
def test_total_is_exact_sum(amounts):
    assert Fen.total(amounts).fen == sum(a.fen for a in amounts)
    assert sum(amounts, Fen(0)) == Fen.total(amounts)


@given(fens, fens)
def test_arithmetic_and_order(a, b):
    assert (a + b) - b == a
    assert (a < b) == (a.fen < b.fen)
    assert Fen(0) - (Fen(0) - a) == a == abs(a) * (1 if a >= Fen(0) else -1)
    assert a * 3 == a + a + a


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=99))
def test_parse_any_two_decimal_text(yuan, fen):
    assert Fen.parse(f"{yuan}.{fen:02d}") == Fen(yuan * 100 + fen)
