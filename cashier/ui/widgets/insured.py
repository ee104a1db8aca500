"""The patient card and the breakdown panel of an insured sale: rendering only."""

from __future__ import annotations

from textual.widgets import Static

from cashier.domain.money import Fen
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
        region = "本地参保"
        if p.cross_region(admvs):
            # The insurer tells the filing only by settling (or refusing): say what is known.
            filed = "已备案" if (part.presettlement or part.settlement) else "备案待核"
            region = f"[b yellow]异地 {p.insu.insuplc_admdvs} {filed}[/]"
        balance = f"账户余额 {p.insu.balc}"
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
            since = f"\n[red]{quoted(p.insu.paus_insu_date)} 起[/]" if p.insu.paus_insu_date else ""
            lines.append(f"[b red]暂停参保[/]{since}")
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
        account = "个账 开" if part.acct_used else "[b yellow]个账 关[/]"
        if bill is None:
            if part.patient.problems:  # said once, with the key that gets the patient served
                put(self, "[b red]不能医保结算[/]\nCtrl+S 转自费收款")
                return
            state = message or "按 F5 预结算"
            put(self, f"{account} (F6)\n{state}")
            return
        s = bill.setlinfo
        title = "[b green]已结算[/]" if part.settled else "预结算"
        lines = [f"{title} · {account} (F6)"]
        lines.extend(_row(label, amount.display()) for label, amount in breakdown_rows(s)[:-1])
        if message:
            lines.append(message)
        put(self, "\n".join(lines))

    @staticmethod
    def cash_part(part: InsuredPart | None) -> Fen | None:
        return None if part is None else part.cash_due
