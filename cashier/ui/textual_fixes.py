"""Workarounds for Textual bugs that cost a counter memory, applied once when the user
interface is imported. Each names its issue; each is harmless once Textual fixes it.

- `#6665 <https://github.com/Textualize/textual/issues/6665>`_: ``StylesCache.get_inner_outer``
  is an *instance* method under ``functools.lru_cache(1024)``, so the cache keys on the
  ``StylesCache`` itself and keeps up to 1,024 of them alive, each with the rendered lines
  of a widget long gone (a payment screen per sale, a dialog, a notification). Measured at
  the counter (``bench.memory``): some 35 MB held after 100 sales, most of the growth over
  1,000. The colours alone decide the answer, so they alone are the key here.
"""

from __future__ import annotations

import functools


def apply() -> None:
    from textual._styles_cache import StylesCache
    from textual.style import Style

    if getattr(StylesCache, "_cashier_fixed", False):
        return

    @functools.lru_cache(1024)
    def inner_outer(base_background, background) -> tuple[Style, Style]:
        return (
            Style(background=base_background + background),
            Style(background=base_background),
        )

    def get_inner_outer(self, base_background, background) -> tuple[Style, Style]:
        return inner_outer(base_background, background)

    StylesCache.get_inner_outer = get_inner_outer
    StylesCache._cashier_fixed = True
