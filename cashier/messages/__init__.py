"""Every message the cashier reads, from one catalogue per language.

``say("counter.busy")`` is the text of a key in the station's language (``zh_CN``, the
default; ``CASHIER_LANG=en`` for the English one beside it), with ``{values}`` filled in. A
key missing from a language falls back to ``zh_CN``; a key missing from ``zh_CN`` is a bug
and raises.

Every error, notice, warning and prompt comes from here: a test finds every exception
raised, every ``notify`` and every command-line line in ``cashier`` and refuses one that
holds its own Chinese. What stays in its module is vocabulary, not messages: the insurer's
code names, the column headings and key labels of a screen, and the printed documents
(receipts, slips, reports), whose wording is fixed by the forms they reproduce.
``CATALOGUED`` lists the modules (or whole packages) that hold no Chinese of their own at
all: the user interface is one of them.
"""

from __future__ import annotations

import os

from cashier.messages import en, zh_CN

CATALOGUES = {"zh_CN": zh_CN.MESSAGES, "en": en.MESSAGES}
DEFAULT = "zh_CN"

#: Modules whose every message comes from the catalogue.
CATALOGUED = (
    "cashier.devices.camera",
    "cashier.devices.cardreader",
    "cashier.devices.serial_scanner",
    "cashier.errors",
    "cashier.insurer.client",
    "cashier.insurer.protocol.files",
    "cashier.payments.alipay",
    "cashier.payments.wire",
    "cashier.services.audit",
    "cashier.services.claims",
    "cashier.services.clock",
    "cashier.services.counter",
    "cashier.services.locks",
    "cashier.services.payments",
    "cashier.store.db",
    "cashier.store.drivers",
    "cashier.store.integrity",
    "cashier.store.keys",
    "cashier.ui",
)


def language() -> str:
    chosen = os.environ.get("CASHIER_LANG", DEFAULT)
    return chosen if chosen in CATALOGUES else DEFAULT


def say(key: str, /, **values: object) -> str:
    words = CATALOGUES[language()].get(key) or CATALOGUES[DEFAULT][key]
    return words.format(**values) if values else words
