"""The 社会保障卡's file layout: the application's name, its files and records.

The card reader reads it and the sandbox's virtual card answers it; both import it from
here, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# -- the card's files and records ---------------------------------------------------------------

#: The social-security application's name, as the card knows it (GBK).
APPLICATION_NAME = "sx1.sh.社会保障".encode("gbk")
#: SELECT by name: ``00A404000F7378312E73682EC9E7BBE1B1A3D5CF``.
SELECT_APPLICATION = bytes([0x00, 0xA4, 0x04, 0x00, len(APPLICATION_NAME)]) + APPLICATION_NAME
#: READ RECORD's P2 for the two files: SFI << 3 | 0b100 ("P1 is a record number").
EF05 = 0x2C
EF06 = 0x34


@dataclass(frozen=True)
class Record:
    """One record the reader reads: its file (P2), number, TLV size (Le) and what it holds."""

    p2: int
    number: int
    le: int
    attr: str  # the CardData attribute it fills
    label: str

    @property
    def command(self) -> bytes:
        """The READ RECORD APDU: ``00 B2 <record> <P2> <Le>``."""
        return bytes([0x00, 0xB2, self.number, self.p2, self.le])

    @property
    def size(self) -> int:
        """The value's size: the TLV less its tag and length bytes."""
        return self.le - 2


#: Every record, in the order real readers read them; Le is the whole TLV's size.
RECORDS = (
    Record(EF05, 0x01, 0x12, "card_sn", "卡识别码"),
    Record(EF05, 0x03, 0x06, "spec_version", "规范版本"),
    Record(EF05, 0x05, 0x06, "issue_date", "发卡日期"),
    Record(EF05, 0x06, 0x06, "expiry_date", "卡有效期"),
    Record(EF05, 0x07, 0x0B, "card_no", "卡号"),
    Record(EF06, 0x01, 0x14, "social_security_no", "社会保障号码"),
    Record(EF06, 0x02, 0x20, "name", "姓名"),
)


class Card(Protocol):
    """A card in memory that answers APDUs (the sandbox's virtual card)."""

    atr: bytes

    def reset(self) -> None:
        """Power the card up again: nothing selected."""
        ...

    def apdu(self, command: bytes) -> bytes:
        """The card's answer to one command, status word included."""
        ...
