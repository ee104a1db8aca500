"""Answers in the shapes real gateways send, per transaction.

The sandbox computes one complete ``setlinfo`` (every amount of the interface's field
table); real gateways do not send that for every transaction. What they send instead,
learnt from answers captured at real gateways (field names, ``null`` s, signs):

- **2208 / 2103** (cancellations): every amount negated except ``balc`` (the balance
  after); ``psn_part_amt``, ``hosp_part_amt`` and ``acct_mulaid_pay`` are ``null``.
  2103 names the person's part ``psn_pay`` and the cash part ``cash_payamt``.
- **5203** (settlement lookup): ``psn_pay`` and ``cash_payamt`` instead of
  ``psn_part_amt`` and ``psn_cash_pay``; no ``hosp_part_amt``; ``refd_setl_flag``
  ``"1"`` when the settlement has been cancelled (退费), ``"0"`` otherwise. No msgid.
- **2101 / 2102** (pharmacy): no ``hosp_part_amt``.

The cashier's reader (:meth:`cashier.insurer.protocol.SetlInfo.from_json`) must read
every one of them; the sandbox sends them so that every test against it does.
"""

from __future__ import annotations

from typing import Any

from cashier.insurer import protocol

#: Sent as ``null`` in a cancellation's answer.
_NULL_IN_CANCELLATION = ("psn_part_amt", "hosp_part_amt", "acct_mulaid_pay")


def _renamed(setlinfo: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names.get(k, k): v for k, v in setlinfo.items()}


def cancellation(original: dict[str, Any], infno: str, *, balc: Any) -> dict[str, Any]:
    """2208 / 2103's ``setlinfo`` for the settlement ``original`` (as first answered)."""
    negated: dict[str, Any] = {}
    for key, value in original.items():
        if key in protocol.SETLINFO_AMOUNTS and key != "balc" and value is not None:
            negated[key] = -protocol.money(value)
        else:
            negated[key] = value
    negated["balc"] = balc
    for key in _NULL_IN_CANCELLATION:
        negated[key] = None
    if infno == "2103":
        negated["psn_pay"] = -(
            protocol.money(original.get("acct_pay") or 0)
            + protocol.money(original.get("psn_cash_pay") or 0)
        )
        negated = _renamed(negated, {"psn_cash_pay": "cash_payamt"})
    return negated


def lookup(setlinfo: dict[str, Any], *, cancelled: bool) -> dict[str, Any]:
    """5203's ``setlinfo``: the settlement as committed, in 5203's names."""
    shown = _renamed(setlinfo, {"psn_part_amt": "psn_pay", "psn_cash_pay": "cash_payamt"})
    shown.pop("hosp_part_amt", None)
    shown["refd_setl_flag"] = "1" if cancelled else "0"
    return shown


def pharmacy(setlinfo: dict[str, Any]) -> dict[str, Any]:
    """2101 / 2102's ``setlinfo``: no hospital share."""
    return {k: v for k, v in setlinfo.items() if k != "hosp_part_amt"}
