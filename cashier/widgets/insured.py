"""The patient card and the breakdown panel of an insured sale: rendering only."""

from __future__ import annotations

from textual.widgets import Static

from cashier.insured import InsuredPart, breakdown_rows
from cashier.money import Fen


def _row(label: str, value: str, width: int = 26) -> str:
    from receipts.layout import display_width

    gap = max(width - display_width(label) - display_width(value), 1)
    return f"{label}{' ' * gap}{value}"


class PatientCard(Static):
    """Who is being charged: masked name and ID, insurance, region, balance, problems."""

    def show(self, part: InsuredPart | None, admvs: str) -> None:
        if part is None:
            self.update("")
            self.display = False
            return
        p = part.patient
        region = (
            f"[b yellow]异地 {p.insu.insuplc_admdvs}[/]" if p.cross_region(admvs) else "本地参保"
        )
        lines = [
            f"[b]{p.name_masked}[/] {p.sex} {p.age} · {p.source}",
            p.certno_masked,
            f"{p.insutype_name}·{p.psn_type_name}",
            f"{region} 余额 {p.insu.balc}",
        ]
        lines.extend(f"[b red]{problem}[/]" for problem in p.problems)
        self.update("\n".join(lines))
        self.display = True


class Breakdown(Static):
    """The pre-settlement's (or settlement's) split; the cash part is shown big elsewhere."""

    def show(self, part: InsuredPart | None, message: str = "") -> None:
        if part is None:
            self.update("")
            self.display = False
            return
        self.display = True
        bill = part.settlement or part.presettlement
        account = "个账 开" if part.acct_used else "[b yellow]个账 关[/]"
        if bill is None:
            state = message or "按 F5 预结算"
            self.update(f"{account} (F6)\n{state}")
            return
        s = bill.setlinfo
        title = "[b green]已结算[/]" if part.settled else "预结算"
        lines = [f"{title} · {account} (F6)"]
        for label, amount in breakdown_rows(s)[:-1]:
            lines.append(_row(label, amount.display()))
            if label == "个人账户支付" and part.acct_used:
                before = part.patient.insu.balc
                lines.append(f"  余额 {before} → {s.balc}")
        if message:
            lines.append(message)
        self.update("\n".join(lines))

    @staticmethod
    def cash_part(part: InsuredPart | None) -> Fen | None:
        return None if part is None else part.cash_due
