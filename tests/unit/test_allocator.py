"""One malloc arena for the counter's threads (cashier/allocator.py), unless the one who
starts the cashier chose otherwise."""

from __future__ import annotations

import platform

import pytest

from cashier import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_glibc_is_limited_to_one_arena(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert allocator.one_arena()


def test_a_chosen_arena_count_is_kept(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not allocator.one_arena()


def test_without_mallopt_nothing_is_done(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    class NoMallopt:
        def __init__(self, name):
            pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", NoMallopt)
    assert not allocator.one_arena()
