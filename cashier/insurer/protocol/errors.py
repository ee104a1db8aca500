"""What goes wrong in a message: unreadable or inconsistent (ProtocolError), or refused by the insurer (InsurerError)."""

from __future__ import annotations

from cashier.errors import CashierError
from cashier.insurer.protocol.codes import TRANSACTIONS


class ProtocolError(CashierError):
    """A message that breaks the interface: a malformed or inconsistent answer, or a
    request or setting that cannot be sent as the interface requires.

    ``str()`` is the message for the cashier; ``detail`` is the technical part alone.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class InsurerError(CashierError):
    """The insurer refused (``infcode -1``, or an e-voucher ``code`` other than 0).

    ``str()`` is the insurer's ``err_msg``, shown to the operator as it is.
    """

    def __init__(
        self, err_msg: str, *, infno: str = "", inf_refmsgid: str = "", code: str = ""
    ) -> None:
        super().__init__(err_msg)
        self.err_msg = err_msg
        self.infno = infno
        self.inf_refmsgid = inf_refmsgid
        self.code = code

    def __str__(self) -> str:
        return self.err_msg


def _unreadable(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保平台返回的数据无法识别（{detail}），请重试或联系医保科", detail=detail
    )


def _inconsistent(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保平台返回的数据不一致（{detail}），未作为账单显示，请重试或联系医保科",
        detail=detail,
    )


def _bad_request(detail: str) -> ProtocolError:
    return ProtocolError(f"请求报文有误（{detail}）", detail=detail)


def _bad_ec_answer(detail: str) -> ProtocolError:
    return ProtocolError(
        f"医保电子凭证服务返回的数据无法识别（{detail}），请重试或联系医保科", detail=detail
    )


def _bad_setting(detail: str) -> ProtocolError:
    return ProtocolError(f"医保接口设置有误：{detail}，请在设置中改正", detail=detail)


def _transaction(infno: str) -> str:
    name = TRANSACTIONS.get(infno)
    return f"{infno} {name}" if name else str(infno)
