"""The business time zone: China's, whatever the PC's own is set to.

A counter PC left on UTC (as Debian installs it without a question) would date receipts,
cut business days at 08:00 and send the insurer an ``inf_time`` eight hours off. Every
entry point opens its station, which puts the process on the business zone
(``time_zone``, default ``Asia/Shanghai``) before anything is dated: every local time the
cashier takes (``datetime.now()``, ``astimezone()``, ``date.today()``) is then China's.
Without the system's zone files (a minimal install) the POSIX rule is used: China has
kept UTC+8 with no summer time since 1991.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

from cashier.errors import CashierError
from cashier.messages import say

BUSINESS_ZONE = "Asia/Shanghai"
ZONEINFO = Path("/usr/share/zoneinfo")
#: Zones of mainland China's counters, as POSIX rules (no zone files needed).
POSIX_RULES = {"Asia/Shanghai": "CST-8", "Asia/Chongqing": "CST-8", "Asia/Harbin": "CST-8",
               "Asia/Urumqi": "<+06>-6", "PRC": "CST-8"}  # fmt: skip
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")


def tz_value(name: str) -> str:
    """What ``TZ`` is set to for ``name``: the zone file's name, else its POSIX rule."""
    name = name.strip()
    if _NAME.fullmatch(name) and (ZONEINFO / name).is_file():
        return name
    if name in POSIX_RULES:
        return POSIX_RULES[name]
    raise CashierError(say("timezone.unknown", name=name), code="config.time_zone")


def use(name: str = BUSINESS_ZONE) -> None:
    """Put this process on the business zone (once; again only when it changes)."""
    value = tz_value(name)
    if os.environ.get("TZ") != value:
        os.environ["TZ"] = value
        time.tzset()


def offset(stamp: str, now: datetime | None = None) -> timedelta | None:
    """How far a time the insurer wrote (``yyyyMMddHHmmss[SSS]``, its local time: the
    business zone's) is ahead of ours; ``None`` when it wrote none or not that shape."""
    digits = stamp.strip()
    if not digits.isdigit() or len(digits) not in (14, 17):
        return None
    try:
        theirs = datetime.strptime(digits[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return theirs - (now or datetime.now()).replace(microsecond=0)
