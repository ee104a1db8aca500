"""A buyer's 纳税人识别号: the 统一社会信用代码's check character (GB 32100-2015), and the
older registration numbers still accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cashier.domain import tax_number


@pytest.mark.parametrize(
    "number", ["9144030071526726XG", "91110000100006485K", "91110108551385082q"]
)
def test_published_codes_check_out(number):
    assert tax_number.valid(number)


@pytest.mark.parametrize(
    "number",
    ["9144030071526726XH",  # one character off: its check fails
     "9144030071526726IG",  # I is not in the alphabet
     "91440300715267",  # 14
     "",
     "914403007152672６XG"],  # a full-width digit
)  # fmt: skip
def test_a_wrong_one_is_refused(number):
    assert not tax_number.valid(number)


def test_older_registrations_are_accepted():
    assert tax_number.valid("110105123456789")  # 15
    assert tax_number.valid("11010519491231002X11")  # 20 (an individual's)


@given(st.text(alphabet=tax_number.ALPHABET, min_size=17, max_size=17))
def test_every_code_has_one_check_character(first17):
    good = first17 + tax_number.check_character(first17)
    assert tax_number.valid(good)
    for other in tax_number.ALPHABET:
        if other != good[-1]:
            assert not tax_number.valid(first17 + other)
