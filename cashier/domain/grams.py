"""Substring search by an index: a text as its bigrams.

A cashier types any part of a name, a code or a 拼音 key (``西林`` finds 阿莫西林胶囊,
``mxl`` finds it by ``amxljn``). ``LIKE '%…%'`` answers that by reading every item; an
index cannot. Written as its overlapping pairs of characters (``阿莫 莫西 西林 林胶 胶囊
囊``: the last character alone too), a text holds a query of two or more characters exactly
when it holds the query's pairs one after the other, which a full-text index answers as a
phrase (``"莫西 西林"``); a single character is any pair that starts with it (``西*``).
Only letters and digits count, lower case; nothing here knows the database.
"""

from __future__ import annotations


def _chars(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def grams(text: str) -> str:
    """The index text of ``text``: its words' bigrams and each word's last character, space
    separated (words: split on spaces, so the 拼音 keys of an item never join)."""
    out: list[str] = []
    for word in text.split():
        chars = _chars(word)
        out.extend(chars[i : i + 2] for i in range(len(chars) - 1))
        if chars:
            out.append(chars[-1])
    return " ".join(out)


def match(query: str) -> str | None:
    """The full-text query (FTS5 syntax) for texts that hold ``query``; ``None`` when it
    has no letter or digit."""
    chars = _chars(query)
    if not chars:
        return None
    if len(chars) == 1:
        return f'"{chars}"*'
    return '"' + " ".join(chars[i : i + 2] for i in range(len(chars) - 1)) + '"'
