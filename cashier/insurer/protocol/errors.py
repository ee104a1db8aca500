"""What goes wrong in a message: unreadable or inconsistent (ProtocolError), or refused by the insurer (InsurerError)."""

from __future__ import annotations

from cashier.errors import CashierError
from cashier.insurer.protocol.codes import TRANSACTIONS
from cashier.messages import say


class ProtocolError(CashierError):
    """A message that breaks the interface: a malformed or inconsistent answer, or a
    request or setting that cannot be sent as the interface requires.

    ``str()`` is the message for the cashier; ``detail`` is the technical part alone.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


#: What an insurer's refusal is about, read once, here, from its words: the platform answers
#: ``infcode -1`` with text alone (no reason code), so this is the one place that reads it.
#: Everything after switches on :attr:`InsurerError.code`.
REFUSALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("insurer.signed_out", ("签到",)),  # the gateway dropped the operator's sign-in
    ("inventory.duplicate", ("重复上传", "数据已存在")),  # 进销存: a document it holds already
    ("insurer.already_cancelled", ("已撤销",)),
    ("evoucher.stale", ("过期", "刷新", "已用于", "已使用", "二维码", "未激活")),
    ("insurance.not_here", ("备案", "暂停", "参保", "险种", "限额", "不能在此")),
    ("card.lost", ("挂失", "社保卡")),
)


def refusal_code(err_msg: str) -> str:
    return next(
        (code for code, words in REFUSALS if any(w in err_msg for w in words)), "insurer.refused"
    )


class InsurerError(CashierError):
    """The insurer refused (``infcode -1``, or an e-voucher ``code`` other than 0).

    ``str()`` is the insurer's ``err_msg``, shown to the operator as it is; ``code`` what
    the refusal is about (:data:`REFUSALS`); ``infcode`` the insurer's own code (``-1``, or
    the e-voucher service's).
    """

    def __init__(
        self, err_msg: str, *, infno: str = "", inf_refmsgid: str = "", code: str = ""
    ) -> None:
        super().__init__(err_msg, code=refusal_code(err_msg))
        self.err_msg = err_msg
        self.infno = infno
        self.inf_refmsgid = inf_refmsgid
        self.infcode = code

    def __str__(self) -> str:
        return self.err_msg


def _unreadable(detail: str) -> ProtocolError:
    return ProtocolError(say("insurer.errors.unreadable", detail=detail), detail=detail)


def _inconsistent(detail: str) -> ProtocolError:
    return ProtocolError(
        say("insurer.errors.inconsistent", detail=detail),
        detail=detail,
    )


def _bad_request(detail: str) -> ProtocolError:
    return ProtocolError(say("insurer.errors.bad_request", detail=detail), detail=detail)


def _bad_ec_answer(detail: str) -> ProtocolError:
    return ProtocolError(say("insurer.errors.evoucher_unreadable", detail=detail), detail=detail)


def _bad_setting(detail: str) -> ProtocolError:
    return ProtocolError(say("insurer.errors.misconfigured", detail=detail), detail=detail)


def _transaction(infno: str) -> str:
    name = TRANSACTIONS.get(infno)
    return f"{infno} {name}" if name else str(infno)
