"""Who a document of the outbox goes to: the insurer (进销存, as the operator who made the
change), the e-receipt service (``fiscal.*``) or the invoicing platform (``tax.*``). The
outbox itself (``services.outbox``) knows none of them: it keeps, orders and retries."""

from __future__ import annotations

from collections.abc import Callable

from cashier.messages import say
from cashier.services import ebills
from cashier.store.models import Operator, Outbox


def sender(client, *, fiscal=None, tax=None, settings=None) -> Callable[[Outbox, dict], dict]:
    """The service call for ``outbox.send_due``: the insurer's ``client`` (as the operator
    who made the change), the e-receipt service (``fiscal``) or the invoicing platform
    (``tax``, with the station's ``settings``). A service not given: its documents wait."""

    def send(doc: Outbox, body: dict) -> dict:
        if doc.infno.startswith("tax."):
            if tax is None:
                from cashier.ebills import EBillNotSent

                raise EBillNotSent(say("outbox.no_fiscal"))
            return ebills.send_tax(tax, settings, doc.infno, body, doc)
        if doc.infno.startswith("fiscal."):
            if fiscal is None:
                from cashier.ebills import EBillNotSent

                raise EBillNotSent(say("outbox.no_fiscal"))
            return ebills.send(fiscal, doc.infno, body, doc)
        if client is None:
            from cashier.insurer.client import InsurerUnavailable

            raise InsurerUnavailable(say("outbox.no_insurer"))
        op = Operator.get_or_none(Operator.code == doc.operator)
        name = op.name if op is not None else doc.operator
        return client.call(doc.infno, body, operator=(doc.operator, name))

    return send
