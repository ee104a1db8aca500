"""Resolving in-doubt insurer calls: ask (5203), never guess; reverse (2601) only what the
insurer says it committed and cannot go on. Cancelling (2208 / 2103) settlements the counter
never finished.

An answer that arrived but could not be read is no reason to reverse: the call is looked up
(5203) by the numbers the counter knows (the visit's ``mdtrt_id``; for a pharmacy sale the
``setl_id`` / ``mdtrt_id`` of the unreadable answer, when it names our person). When the
lookup cannot be made or read either, :class:`Unresolvable` is raised: the bill stays held,
the cashier is told to ask the 医保科 about the msgid, and nothing is sent on its own.
2601 goes out for a settlement the insurer says it committed that cannot go on, and by
msgid where the insurer has nothing (so a late original is refused) or, for a 2102 that got
no answer at all, as the 冲正 the interface prescribes for a timeout.

Run at start-up before any new sale, and after any call that ended in doubt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from peewee import fn

from cashier.insurer import journal, protocol
from cashier.insurer.client import InsurerClient, InsurerInDoubt, InsurerUnavailable
from cashier.insurer.journal import Status
from cashier.messages import say
from cashier.services import audit
from cashier.store.models import InsuredSettlement, InsurerCall


class Unresolvable(InsurerUnavailable):
    """What the insurer did with a call cannot be found out here: a person must ask."""

    def __init__(self, msgid: str, infno: str, why: str) -> None:
        self.msgid, self.infno = msgid, infno
        super().__init__(say("insurer.recovery.cannot_check", why=why, msgid=msgid))


@dataclass(frozen=True)
class Resolution:
    msgid: str
    infno: str
    status: Status
    output: dict[str, Any] | None = None  # the settlement, when found committed
    held: str = ""  # could not be resolved here: what the cashier is told (status in_doubt)


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
    if call.infno in ("2207", "2102") and (earlier := _reversal_sent(call.msgid)) is not None:
        # A restart already sent a 2601 for it and died: finish that one, nothing new.
        if Status(earlier.status).unresolved:
            resolve(client, earlier)
        return _finish(call, Status.REVERSED)
    if call.infno == "2102" and not journal.response_of(call):
        # No answer at all, so no number to look it up by (a pharmacy's visit and settlement
        # numbers come only in the answer): 冲正 by msgid, as the interface prescribes for a
        # timeout. Committed or not, afterwards it is not, and a late original is refused.
        _reverse(client, call, operator, psn_no)
        return _finish(call, Status.REVERSED)
    if call.infno in ("2207", "2102"):
        ids = _lookup_ids(call, ctx, psn_no)
        if not ids:
            raise Unresolvable(call.msgid, call.infno, say("insurer.recovery.unreadable_no_id"))
        output = _lookup(client, call, operator, psn_no, **ids)
        if output is None:
            # Not there now; a reversal by msgid makes sure it never arrives late.
            _reverse(client, call, operator, psn_no)
            return _finish(call, Status.NOT_COMMITTED)
        if _refunded(output):
            return _finish(call, Status.NOT_COMMITTED)
        setl_id = str((output.get("setlinfo") or {}).get("setl_id") or "")
        if journal.setl_id_taken(setl_id):
            raise Unresolvable(
                call.msgid, call.infno, say("insurer.recovery.other_sale", setl_id=setl_id)
            )
        if not _same_total(call, output):
            raise Unresolvable(
                call.msgid, call.infno, say("insurer.recovery.other_amount", setl_id=setl_id)
            )
        if can_continue(call, output):
            return _finish(call, Status.COMMITTED, output)
        # The insurer says it committed, and the sale cannot go on: reverse it.
        _reverse(client, call, operator, psn_no)
        return _finish(call, Status.REVERSED, output)
    if call.infno in ("2208", "2103"):
        output = _lookup(client, call, operator, psn_no, setl_id=str(ctx.get("setl_id", "")))
        if output is None:  # some gateways stop answering for a cancelled settlement
            return _finish(call, Status.COMMITTED)
        return _finish(call, Status.COMMITTED if _refunded(output) else Status.NOT_COMMITTED)
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
    resolved now (insurer unreachable) by raising, so no new sale starts on unknown ground. A
    call that cannot be resolved here at all (:class:`Unresolvable`) stays in doubt and is
    reported (``held``); the others are still resolved."""
    done = []
    for call in journal.unresolved(station):
        call = InsurerCall.get_by_id(call.msgid)  # an earlier one may have settled it
        if Status(call.status).unresolved:
            try:
                done.append(resolve(client, call, can_continue))
            except Unresolvable as exc:
                done.append(Resolution(call.msgid, call.infno, Status.IN_DOUBT, held=str(exc)))
    return done


def _reversal_sent(msgid: str) -> InsurerCall | None:
    """The 2601 that reverses ``msgid``, if one was journaled (sent or about to be)."""
    return (
        InsurerCall.select()
        .where((InsurerCall.infno == "2601") & InsurerCall.context.contains(f'"omsgid": "{msgid}"'))
        .order_by(InsurerCall.created_at)
        .first()
    )


def _lookup_ids(call: InsurerCall, ctx: dict[str, Any], psn_no: str) -> dict[str, str]:
    """What 5203 can look the call up by: the visit the counter registered (2207), or the
    numbers an unreadable answer carried, when that answer names our person (2102: its
    visit and settlement numbers come only in its answer). Empty: nothing to ask by."""
    if call.infno == "2207" and ctx.get("mdtrt_id"):
        return {"mdtrt_id": str(ctx["mdtrt_id"])}
    raw = journal.response_of(call)
    found = {key: _raw_field(raw, key) for key in ("psn_no", "setl_id", "mdtrt_id")}
    if not psn_no or found["psn_no"] != psn_no:
        return {}  # no answer, or someone else's: its numbers are not ours to trust
    if found["setl_id"]:
        return {"setl_id": found["setl_id"]}
    if found["mdtrt_id"]:
        return {"mdtrt_id": found["mdtrt_id"]}
    return {}


def _raw_field(raw: str, key: str) -> str:
    """One text field of ``setlinfo`` in an answer that may not parse (cut short, say)."""
    try:
        setlinfo = (json.loads(raw).get("output") or {}).get("setlinfo") or {}
        value = setlinfo.get(key)
        return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    except (ValueError, AttributeError, TypeError):
        match = re.search(rf'"{key}"\s*:\s*"([^"\\]{{1,64}})"', raw)
        return match.group(1) if match else ""


def _same_total(call: InsurerCall, output: dict[str, Any]) -> bool:
    """Whether the settlement found is for the total this call sent (a visit settled before
    with other lines is another settlement). A request that cannot be read compares nothing."""
    try:
        sent = protocol.loads(journal.request_of(call))["input"]
        node = sent.get("druginfo") if call.infno == "2102" else sent.get("data")
        asked = protocol.money(node["medfee_sumamt"])
        found = protocol.money((output.get("setlinfo") or {})["medfee_sumamt"])
    except (ValueError, KeyError, TypeError, AttributeError, protocol.ProtocolError):
        return True
    return asked == found


def _refunded(output: dict[str, Any]) -> bool:
    """5203 says the settlement has been cancelled (``refd_setl_flag`` 1)."""
    setlinfo = output.get("setlinfo") or {}
    return str(setlinfo.get("refd_setl_flag") or "0") == "1"


def _lookup(
    client, call, operator, psn_no, *, setl_id: str = "", mdtrt_id: str = ""
) -> dict | None:
    """5203: the settlement (``None``: the insurer has none). An answer that cannot be read or
    does not belong to the question resolves nothing: :class:`Unresolvable`."""
    try:
        return client.call(
            "5203",
            protocol.input_5203(psn_no=psn_no, setl_id=setl_id, mdtrt_id=mdtrt_id),
            operator=operator,
        )
    except protocol.InsurerError:
        return None  # 未查询到结算信息
    except protocol.ProtocolError as exc:
        raise Unresolvable(
            call.msgid,
            call.infno,
            say("insurer.recovery.query_unreadable", value=exc.detail or exc),
        ) from None


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
        raise InsurerUnavailable(say("insurer.recovery.reversal_unknown")) from None


def _finish(call: InsurerCall, status: Status, output: dict | None = None) -> Resolution:
    journal.finish(
        call.msgid, status, response=protocol.dumps(output) if output else journal.response_of(call)
    )
    audit.record(
        call.station,
        "insurer.resolve",
        operator=call.operator,
        subject=call.msgid,
        infno=call.infno,
        outcome=status.value,
    )
    return Resolution(call.msgid, call.infno, status, output)


# -- settlements the counter never finished ------------------------------------------------------
#: The settling call and the call that cancels it.
CANCEL_INFNO = {"2207": "2208", "2102": "2103"}
#: How the insurer says a settlement is cancelled already (``结算 ST… 已撤销``).
ALREADY_CANCELLED = "已撤销"
_DONE = (Status.OK.value, Status.COMMITTED.value)


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # 2208 / 2103 accepted now
    ALREADY_CANCELLED = "already_cancelled"  # the insurer answered 已撤销
    REFUSED = "refused"  # the insurer said no for another reason: left, tried again next start
    UNREADABLE = "unreadable"  # the journal row names no settlement: left for a person


@dataclass(frozen=True)
class Cancellation:
    msgid: str  # of the settling 2207 / 2102
    infno: str  # 2207 | 2102
    status: CancelOutcome
    setl_id: str = ""
    cancel_msgid: str = ""
    error: str = ""
    output: dict[str, Any] | None = None  # the cancellation's answer (amounts negated)


def unfinished_settlements(station: str, *, before: datetime | None = None) -> list[InsurerCall]:
    """Settlements of this station the insurer holds but no sale finished, oldest first (one query,
    no network): a 2207 / 2102 journaled ``ok`` or ``committed`` with no ``InsuredSettlement`` row
    of its msgid, not ``reversed``, and not undone by a 2208 / 2103 / 2601 naming it as ``omsgid``
    that is ``ok`` / ``committed`` or was refused as 已撤销. ``before``: only calls journaled
    before then (UTC), so that a sale a counter is settling right now is never taken for one."""
    undo = InsurerCall.alias()
    undone = undo.select(undo.msgid).where(
        undo.infno.in_(("2208", "2103", "2601")),
        undo.status.in_(_DONE)
        | (
            (undo.status == Status.REFUSED.value)
            & undo.infno.in_(("2208", "2103"))
            & undo.error.contains(ALREADY_CANCELLED)
        ),
        # A settling msgid (30 unique characters) in a cancellation's or reversal's context is
        # its omsgid: no other field of those contexts holds a msgid.
        undo.context.contains(InsurerCall.msgid),
    )
    finished = InsuredSettlement.select(InsuredSettlement.id).where(
        InsuredSettlement.msgid == InsurerCall.msgid
    )
    query = InsurerCall.select().where(
        InsurerCall.station == station,
        InsurerCall.infno.in_(tuple(CANCEL_INFNO)),
        InsurerCall.status.in_(_DONE),
        ~fn.EXISTS(finished),
        ~fn.EXISTS(undone),
    )
    if before is not None:
        query = query.where(InsurerCall.created_at < before)
    return list(query.order_by(InsurerCall.created_at))


def settlement_output(call: InsurerCall) -> dict[str, Any] | None:
    """The settlement a journal row holds: its answer's output (``ok``: the response envelope)
    or the 5203 output recovery found (``committed``)."""
    raw = journal.response_of(call)
    if not raw:
        return None
    data = json.loads(raw)
    if isinstance(data, dict) and "infcode" in data:
        return protocol.parse_response(raw, call.infno)
    return data if isinstance(data, dict) else None


def cancel_unfinished(
    client: InsurerClient, station: str, *, before: datetime | None = None
) -> list[Cancellation]:
    """Cancel with the insurer every settlement of this station that no sale finished (the
    patient did not pay: they can be settled again). Safe to run again: a cancellation left in
    doubt raises ``InsurerUnavailable``; the next run resolves it (:func:`resolve_all`) first."""
    return [
        cancel_settlement(client, call) for call in unfinished_settlements(station, before=before)
    ]


def cancel_settlement(client: InsurerClient, call: InsurerCall) -> Cancellation:
    """2208 / 2103 for one settling call, as the operator who settled it; audited."""
    ctx = journal.context_of(call)
    operator = (call.operator or "system", str(ctx.get("operator_name", "")))
    infno = CANCEL_INFNO[call.infno]
    try:
        setlinfo = (settlement_output(call) or {})["setlinfo"]
        setl_id = str(setlinfo["setl_id"] or "")
    except (ValueError, KeyError, TypeError, protocol.InsurerError, protocol.ProtocolError):
        setlinfo, setl_id = {}, ""
    if not setl_id:
        error = say("insurer.recovery.no_setl_id_logged")
        _audit(call, CancelOutcome.UNREADABLE, {}, error=error)
        return Cancellation(call.msgid, call.infno, CancelOutcome.UNREADABLE, error=error)
    # 2102's visit id came in its answer; 2207's is in both.
    mdtrt_id = str(setlinfo.get("mdtrt_id") or ctx.get("mdtrt_id") or "")
    psn_no = str(ctx.get("psn_no") or setlinfo.get("psn_no") or "")
    where = str(ctx.get("insuplc_admdvs", ""))
    builder = protocol.input_2103 if infno == "2103" else protocol.input_2208
    try:
        answer = client.call(
            infno,
            builder(setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=psn_no),
            operator=operator,
            insuplc_admdvs=where,
            context={
                "psn_no": psn_no,
                "setl_id": setl_id,
                "mdtrt_id": mdtrt_id,
                "omsgid": call.msgid,
                "insuplc_admdvs": where,
                "sale_key": ctx.get("sale_key", ""),
                "operator_name": operator[1],
            },
        )
    except InsurerInDoubt as exc:
        _audit(call, "in_doubt", setlinfo, cancel_msgid=exc.msgid)
        raise InsurerUnavailable(say("insurer.recovery.cancel_unknown")) from None
    except protocol.InsurerError as exc:
        status = (
            CancelOutcome.ALREADY_CANCELLED
            if exc.code == "insurer.already_cancelled"
            else CancelOutcome.REFUSED
        )
        cancel_msgid = _last_cancel_msgid(infno, call)
        _audit(call, status, setlinfo, cancel_msgid=cancel_msgid, error=str(exc))
        return Cancellation(call.msgid, call.infno, status, setl_id, cancel_msgid, str(exc))
    cancel_msgid = str(answer.get("_msgid", ""))
    _audit(call, CancelOutcome.CANCELLED, setlinfo, cancel_msgid=cancel_msgid)
    return Cancellation(
        call.msgid, call.infno, CancelOutcome.CANCELLED, setl_id, cancel_msgid, output=answer
    )


def _last_cancel_msgid(infno: str, call: InsurerCall) -> str:
    """The cancellation just refused (the client journals it, but the refusal names no msgid)."""
    row = (
        InsurerCall.select(InsurerCall.msgid)
        .where(InsurerCall.infno == infno, InsurerCall.context.contains(call.msgid))
        .order_by(InsurerCall.created_at.desc())
        .first()
    )
    return row.msgid if row is not None else ""


def _audit(
    call: InsurerCall,
    outcome: str,
    setlinfo: dict[str, Any],
    *,
    cancel_msgid: str = "",
    error: str = "",
) -> None:
    ctx = journal.context_of(call)
    amounts = {
        name: str(protocol.money(setlinfo[name], name))
        for name in ("medfee_sumamt", "acct_pay", "psn_cash_pay")
        if setlinfo.get(name) is not None
    }
    # Record ids and amounts only: never a name, an ID number or an e-voucher token.
    audit.record(
        call.station,
        "insurer.cancel_unfinished",
        operator=call.operator,
        subject=call.msgid,
        infno=call.infno,
        cancel_infno=CANCEL_INFNO[call.infno],
        cancel_msgid=cancel_msgid,
        setl_id=str(setlinfo.get("setl_id") or ""),
        mdtrt_id=str(setlinfo.get("mdtrt_id") or ctx.get("mdtrt_id") or ""),
        sale_key=str(ctx.get("sale_key", "")),
        outcome=str(outcome),
        error=error[:200],
        **amounts,
    )
