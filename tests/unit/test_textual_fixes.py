"""The workarounds for Textual bugs in cashier.ui.textual_fixes do what they say."""

from __future__ import annotations

import contextvars

from cashier.ui.textual_fixes import FreshContextExecutor

held = contextvars.ContextVar("held", default=None)


def test_a_job_leaves_nothing_in_its_thread_for_the_next():
    """Textual's thread worker sets its active worker in the pool thread's context; with one
    thread, the job after it must not see (and so the thread must not keep) what it set."""

    def first() -> None:
        held.set(object())

    with FreshContextExecutor(max_workers=1) as pool:
        pool.submit(first).result()
        assert pool.submit(held.get).result() is None
        assert pool.submit(lambda a, b=0: a + b, 1, b=2).result() == 3  # arguments pass through


def test_the_colours_alone_key_the_style_cache():
    from textual._styles_cache import StylesCache
    from textual.color import Color

    import cashier.ui.textual_fixes as fixes

    fixes.apply()
    a, b = StylesCache(), StylesCache()
    red, blue = Color.parse("red"), Color.parse("blue")
    assert a.get_inner_outer(red, blue) is b.get_inner_outer(red, blue)  # one entry, no cache kept
