"""Resolving in-doubt insurer calls: ask (5203), never guess; reverse (2601) what cannot go on.

Run at start-up before any new sale, and after any call that ended in doubt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cashier import audit
from cashier.settlement import journal, protocol
from cashier.settlement.client import InsurerClient, InsurerInDoubt, InsurerUnavailable
from cashier.settlement.journal import Status
from cashier.store.models import InsurerCall


@dataclass(frozen=True)
class Resolution:
    msgid: str
    infno: str
    status: Status
    output: dict[str, Any] | None = None  # the settlement, when found committed


#: Decides whether a settlement found committed can still become a sale; if not, it is reversed.
CanContinue = Callable[[InsurerCall, dict[str, Any]], bool]


def never_continue(call: InsurerCall, output: dict[str, Any]) -> bool:
    return False


def resolve(
    client: InsurerClient, call: InsurerCall, can_continue: CanContinue = never_continue
) -> Resolution:
    """Find out what happened to one in-doubt call and settle its fate in the journal."""
    ctx = journal.context_of(call)
    operator = (call.operator or "system", ctx.get("operator_name", ""))
    psn_no = str(ctx.get("psn_no", ""))
    if call.infno == "2207":
        output = _lookup(client, operator, psn_no, mdtrt_id=str(ctx.get("mdtrt_id", "")))
        if output is None or output.get("msgid", call.msgid) != call.msgid:
            # Not there now; a reversal by msgid makes sure it never arrives late.
            _reverse(client, call, operator, psn_no)
            return _finish(call, Status.NOT_COMMITTED)
        if can_continue(call, output):
            return _finish(call, Status.COMMITTED, output)
        _reverse(client, call, operator, psn_no)
        return _finish(call, Status.REVERSED, output)
    if call.infno == "2102":
        # A pharmacy settlement's visit id came in the lost answer: reversal by msgid
        # is safe whether or not the insurer committed it.
        _reverse(client, call, operator, psn_no)
        return _finish(call, Status.REVERSED)
    if call.infno in ("2208", "2103"):
        output = _lookup(client, operator, psn_no, setl_id=str(ctx.get("setl_id", "")))
        return _finish(call, Status.NOT_COMMITTED if output is not None else Status.COMMITTED)
    if call.infno == "2601":
        _reverse(
            client,
            call,
            operator,
            psn_no,
            omsgid=str(ctx.get("omsgid", "")),
            oinfno=str(ctx.get("oinfno", "")),
        )
        return _finish(call, Status.COMMITTED)
    raise ValueError(f"not a journaled infno: {call.infno}")


def resolve_all(
    client: InsurerClient, station: str, can_continue: CanContinue = never_continue
) -> list[Resolution]:
    """Every unresolved call of this station, oldest first. Stops at the first that cannot be
    resolved now (insurer unreachable) by raising, so no new sale starts on unknown ground."""
    return [resolve(client, call, can_continue) for call in journal.unresolved(station)]


def _lookup(client, operator, psn_no, *, setl_id: str = "", mdtrt_id: str = "") -> dict | None:
    try:
        return client.call(
            "5203",
            protocol.input_5203(psn_no=psn_no, setl_id=setl_id, mdtrt_id=mdtrt_id),
            operator=operator,
        )
    except protocol.InsurerError:
        return None  # 未查询到结算信息


def _reverse(client, call, operator, psn_no, *, omsgid: str = "", oinfno: str = "") -> None:
    ctx = journal.context_of(call)
    try:
        client.call(
            "2601",
            protocol.input_2601(
                psn_no=psn_no, omsgid=omsgid or call.msgid, oinfno=oinfno or call.infno
            ),
            operator=operator,
            context={
                "psn_no": psn_no,
                "omsgid": omsgid or call.msgid,
                "oinfno": oinfno or call.infno,
                "sale_key": ctx.get("sale_key", ""),
            },
        )
    except InsurerInDoubt:
        raise InsurerUnavailable("冲正结果未知，稍后将再次核实") from None


def _finish(call: InsurerCall, status: Status, output: dict | None = None) -> Resolution:
    journal.finish(call.msgid, status, response=protocol.dumps(output) if output else call.response)
    audit.record(
        call.station,
        "insurer.resolve",
        operator=call.operator,
        subject=call.msgid,
        infno=call.infno,
        outcome=status.value,
    )
    return Resolution(call.msgid, call.infno, status, output)
