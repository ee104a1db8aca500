"""Every message the cashier reads, from one catalogue per language.

``say("counter.busy")`` is the text of a key in the station's language (``zh_CN``, the
default; ``CASHIER_LANG=en`` for the English one beside it), with ``{values}`` filled in. A
key missing from a language falls back to ``zh_CN``; a key missing from ``zh_CN`` is a bug
and raises. Modules move their words here one at a time (``CATALOGUED`` lists those done;
a test keeps them free of literal Chinese).
"""

from __future__ import annotations

import os

from cashier.messages import en, zh_CN

CATALOGUES = {"zh_CN": zh_CN.MESSAGES, "en": en.MESSAGES}
DEFAULT = "zh_CN"

#: Modules whose every message comes from the catalogue.
CATALOGUED = ("cashier.services.counter", "cashier.services.payments")


def language() -> str:
    chosen = os.environ.get("CASHIER_LANG", DEFAULT)
    return chosen if chosen in CATALOGUES else DEFAULT


def say(key: str, **values: object) -> str:
    words = CATALOGUES[language()].get(key) or CATALOGUES[DEFAULT][key]
    return words.format(**values) if values else words
