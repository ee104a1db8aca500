"""The search index's text (cashier.domain.grams): a text holds a query exactly when its
bigrams hold the query's in a row; the property checked against ``in`` on random texts."""

from __future__ import annotations

import re
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from cashier.domain.grams import grams, match

WORDS = st.text(alphabet="阿莫西林胶囊头孢ab0 1", min_size=0, max_size=12)


def holds(index_text: str, expr: str) -> bool:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(t, tokenize='unicode61 remove_diacritics 0')")
    db.execute("INSERT INTO s(rowid, t) VALUES (1, ?)", (index_text,))
    return bool(db.execute("SELECT 1 FROM s WHERE s MATCH ?", (expr,)).fetchone())


def test_a_name_as_its_pairs():
    assert grams("阿莫西林") == "阿莫 莫西 西林 林"
    assert grams("amxljn amxlxn") == "am mx xl lj jn n am mx xl lx xn n"
    assert grams("维生素C(0.1g)") == "维生 生素 素c c0 01 1g g"
    assert match("西林") == '"西林"' and match("a") == '"a"*' and match("mxl") == '"mx xl"'
    assert match(" ( ) ") is None


@settings(max_examples=150, deadline=None)
@given(WORDS, WORDS)
def test_the_index_holds_a_query_exactly_when_the_text_does(text, query):
    expr = match(query)
    if expr is None:
        return
    clean = lambda s: re.sub(r"\W", "", s.lower())  # noqa: E731
    expected = any(clean(query) in clean(word) for word in text.split())
    assert holds(grams(text), expr) == expected, (text, query)
