"""Issue 19, item 13: every message the cashier reads comes from one catalogue, so an
English one can sit beside the Chinese. No exception, notice or command-line line anywhere
in ``cashier`` holds Chinese of its own; every key said is in the Chinese catalogue and in
the English one; the modules of ``CATALOGUED`` hold no Chinese at all."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re

import pytest

from cashier import messages
from cashier.messages import en, zh_CN

CJK = re.compile(r"[\u4e00-\u9fff]")


def said_and_literals(module_name: str) -> tuple[set[str], list[str]]:
    module = importlib.import_module(module_name)
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    keys, chinese = set(), []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "say"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.add(node.args[0].value)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and CJK.search(node.value)
        ):
            chinese.append(node.value)
    return keys, chinese


def _modules() -> list[str]:
    import cashier

    return sorted(
        m.name
        for m in pkgutil.walk_packages(cashier.__path__, "cashier.")
        if not m.name.startswith("cashier.messages") and not m.name.endswith("__main__")
    )


MODULES = _modules()

#: Calls whose text the cashier reads: a notice, a printed command-line line, an error shown.
SPEAKERS = {"notify", "show_error", "fail", "print", "_status", "_note", "warn", "warning"}


def _exception_names() -> set[str]:
    names = set()
    for name in MODULES:
        for attr, value in vars(importlib.import_module(name)).items():
            if inspect.isclass(value) and issubclass(value, BaseException):
                names.add(attr)
    return names


def _chinese(node: ast.AST) -> list[str]:
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)
    ]


def test_no_error_or_notice_anywhere_holds_its_own_words():
    speakers = SPEAKERS | _exception_names()
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        tree = ast.parse(open(module.__file__, encoding="utf-8").read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called not in speakers:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                words = [w for w in _chinese(arg) if not _inside_say(arg, w)]
                found += [f"{name}:{node.lineno}: {w}" for w in words]
    assert not found, "\n".join(found)


def _inside_say(node: ast.AST, words: str) -> bool:
    """Whether ``words`` is only an argument of a ``say`` call within ``node`` (a value)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "say":
            if words in _chinese(n):
                return True
    return False


def test_every_key_said_anywhere_is_in_both_catalogues():
    said = set()
    for name in MODULES:
        said |= said_and_literals(name)[0]
    assert said - set(zh_CN.MESSAGES) == set()
    assert said - set(en.MESSAGES) == set()


@pytest.mark.parametrize(
    "module_name",
    [m for m in MODULES if any(m == c or m.startswith(c + ".") for c in messages.CATALOGUED)],
)
def test_a_catalogued_module_says_everything_through_the_catalogue(module_name):
    keys, chinese = said_and_literals(module_name)
    assert not chinese, f"{module_name} still holds its own words: {chinese}"
    assert keys <= set(zh_CN.MESSAGES), keys - set(zh_CN.MESSAGES)
    assert keys <= set(en.MESSAGES), keys - set(en.MESSAGES)


def test_the_languages_agree_on_their_keys_and_values(monkeypatch):
    for key, words in en.MESSAGES.items():
        assert key in zh_CN.MESSAGES
        assert set(re.findall(r"{(\w+)}", words)) == set(
            re.findall(r"{(\w+)}", zh_CN.MESSAGES[key])
        )
    assert messages.say("counter.logout_parked", count=2) == "还有 2 张挂单，请先取回处理（Ctrl+R）"
    monkeypatch.setenv("CASHIER_LANG", "en")
    assert messages.say("counter.logout_parked", count=2).startswith("2 held bill")
    monkeypatch.setenv("CASHIER_LANG", "fr")  # unknown: the default
    assert messages.say("counter.hold_empty") == zh_CN.MESSAGES["counter.hold_empty"]
    with pytest.raises(KeyError):
        messages.say("no.such.key")
