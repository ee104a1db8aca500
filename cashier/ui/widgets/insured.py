"""The patient card and the breakdown panel of an insured sale: rendering only."""

from __future__ import annotations

from textual.widgets import Static

from cashier.domain.money import Fen
from cashier.messages import say
from cashier.services.insured import breakdown_rows
from cashier.services.patient import InsuredPart
from cashier.ui.text import quoted
from cashier.ui.widgets import put


def _row(label: str, value: str, width: int = 26) -> str:
    from cashier.receipts.layout import display_width

    gap = max(width - display_width(label) - display_width(value), 1)
    return f"{label}{' ' * gap}{value}"


class PatientCard(Static):
    """Who is being charged: masked name and ID, insurance, region, balance, problems."""

    def show(self, part: InsuredPart | None, admvs: str) -> None:
        if part is None:
            put(self, "")
            self.display = False
            return
        p = part.patient
        region = say("widget.insured.local")
        if p.cross_region(admvs):
            # The insurer tells the filing only by settling (or refusing): say what is known.
            filed = (
                say("widget.insured.filed")
                if (part.presettlement or part.settlement)
                else say("widget.insured.filing_unchecked")
            )
            region = say(
                "widget.insured.out_of_area", insuplc_admdvs=p.insu.insuplc_admdvs, filed=filed
            )
        balance = say("widget.insured.balance", balc=p.insu.balc)
        bill = part.settlement or part.presettlement
        if bill is not None and bill.setlinfo.acct_pay:
            balance += f"→{bill.setlinfo.balc}"
        lines = [
            f"[b]{quoted(p.name_masked)}[/] {p.sex} {p.age} · {p.source}",
            p.certno_masked,
            f"{p.insutype_name}·{p.psn_type_name}",
            region,
            balance,
        ]
        if p.suspended:  # short, and the date on a line of its own (never broken)
            since = (
                say("widget.insured.paused_since", value=quoted(p.insu.paus_insu_date))
                if p.insu.paus_insu_date
                else ""
            )
            lines.append(say("widget.insured.paused", since=since))
        put(self, "\n".join(lines))
        self.display = True


class Breakdown(Static):
    """The pre-settlement's (or settlement's) split; the cash part is shown big elsewhere."""

    def show(self, part: InsuredPart | None, message: str = "") -> None:
        if part is None:
            put(self, "")
            self.display = False
            return
        self.display = True
        bill = part.settlement or part.presettlement
        account = (
            say("widget.insured.account_on")
            if part.acct_used
            else say("widget.insured.account_off")
        )
        if bill is None:
            if part.patient.problems:  # said once, with the key that gets the patient served
                put(self, say("widget.insured.no_insurance"))
                return
            state = message or say("widget.insured.presettle_hint")
            put(self, f"{account} (F6)\n{state}")
            return
        s = bill.setlinfo
        title = say("widget.insured.settled") if part.settled else say("widget.insured.presettled")
        lines = [f"{title} · {account} (F6)"]
        lines.extend(
            _row(label, amount.display())
            for label, amount in breakdown_rows(s, part.own_amount)[:-1]
        )
        if message:
            lines.append(message)
        put(self, "\n".join(lines))

    @staticmethod
    def cash_part(part: InsuredPart | None) -> Fen | None:
        return None if part is None else part.cash_due
