"""Issue 19, item 13: every message the cashier reads comes from one catalogue, so an
English one can sit beside the Chinese. The modules moved so far (``CATALOGUED``) hold no
Chinese of their own; every key they say is in the Chinese catalogue, and in the English."""

from __future__ import annotations

import ast
import importlib
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


@pytest.mark.parametrize("module_name", messages.CATALOGUED)
def test_a_catalogued_module_says_everything_through_the_catalogue(module_name):
    keys, chinese = said_and_literals(module_name)
    assert not chinese, f"{module_name} still holds its own words: {chinese}"
    assert keys and keys <= set(zh_CN.MESSAGES), keys - set(zh_CN.MESSAGES)
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
