"""Workarounds for Textual bugs that cost a counter memory, applied once when the user
interface is imported. Each names its issue; each is harmless once Textual fixes it.

- `#6665 <https://github.com/Textualize/textual/issues/6665>`_: ``StylesCache.get_inner_outer``
  is an *instance* method under ``functools.lru_cache(1024)``, so the cache keys on the
  ``StylesCache`` itself and keeps up to 1,024 of them alive, each with the rendered lines
  of a widget long gone (a payment screen per sale, a dialog, a notification). Measured at
  the counter (``bench.memory``): some 35 MB held after 100 sales, most of the growth over
  1,000. The colours alone decide the answer, so they alone are the key here.
- A thread worker's ``active_worker.set(self)`` runs in the pool thread's *own* context
  (``loop.run_in_executor`` copies no context into the thread), so each of the event loop's
  pool threads keeps the last worker it ran, and through it that worker's
  screen and every widget of it, until it happens to run another: up to a pool's worth of
  finished payment screens held at random. :class:`FreshContextExecutor` runs each job in a
  context of its own, thrown away with it; the app makes it the loop's default executor.
"""

from __future__ import annotations

import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor


class FreshContextExecutor(ThreadPoolExecutor):
    """The event loop's thread pool, each job run in an empty context of its own: what a job
    sets (Textual's active worker) goes with it, never kept by the thread for the next."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(contextvars.Context().run, fn, *args, **kwargs)


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
