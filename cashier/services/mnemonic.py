"""拼音 initials as a pharmacist types them (助记码), for finding an item by keyboard.

pypinyin reads each character by its commonest reading, which is wrong for many herbal
names: 参 in 参苓白术散 is shēn (not cān: ``slbzs``), 术 in 白术 is zhú, 壳 in 枳壳 is qiào,
没 in 没药 is mò. The phrases below, from the Chinese Pharmacopoeia's readings, are taught
to pypinyin before an item is indexed. And since a clerk may type any reading of a
character she is unsure of, the initials of every reading of each polyphonic character are
indexed too (a few combinations, the commonest first), beside the clinic system's own
mnemonic code when the catalog gives one (its ``pinyin`` column).
"""

from __future__ import annotations

import functools
import itertools
import threading

#: Herbal and formula words whose reading pypinyin gets wrong (tone-marked, as it takes them).
HERBAL_PHRASES: dict[str, str] = {
    "参苓": "shēn líng", "人参": "rén shēn", "丹参": "dān shēn", "党参": "dǎng shēn",
    "玄参": "xuán shēn", "苦参": "kǔ shēn", "沙参": "shā shēn", "太子参": "tài zǐ shēn",
    "西洋参": "xī yáng shēn", "红参": "hóng shēn", "参芪": "shēn qí", "参附": "shēn fù",
    "参麦": "shēn mài", "参茸": "shēn róng", "参桂": "shēn guì", "参松": "shēn sōng",
    "白术": "bái zhú", "苍术": "cāng zhú", "莪术": "é zhú", "枳术": "zhǐ zhú",
    "枳壳": "zhǐ qiào", "蛤壳": "gé qiào", "射干": "shè gān", "重楼": "chóng lóu",
    "没药": "mò yào", "阿胶": "ē jiāo", "黄柏": "huáng bò", "薄荷": "bò he",
    "厚朴": "hòu pò", "朴硝": "pò xiāo", "藏红花": "zàng hóng huā", "茜草": "qiàn cǎo",
    "蛤蚧": "gé jiè", "桔梗": "jié gěng", "桑椹": "sāng shèn", "降香": "jiàng xiāng",
    "紫菀": "zǐ wǎn", "豆蔻": "dòu kòu", "血竭": "xuè jié", "连翘": "lián qiào",
    "银翘": "yín qiào", "熟地": "shú dì", "牛膝": "niú xī", "葶苈": "tíng lì",
    "荜茇": "bì bá", "芫花": "yuán huā", "蔓荆": "màn jīng", "使君子": "shǐ jūn zǐ",
    "龟甲": "guī jiǎ", "龟板": "guī bǎn", "石斛": "shí hú", "地骨皮": "dì gǔ pí",
    "大黄": "dà huáng", "车前": "chē qián", "荷叶": "hé yè", "藁本": "gǎo běn",
}  # fmt: skip
MAX_KEYS = 8  # readings indexed per item (the commonest first)
_taught = False
_lock = threading.Lock()


def _teach() -> None:
    global _taught
    with _lock:
        if _taught:
            return
        from pypinyin import load_phrases_dict

        load_phrases_dict({w: [[p] for p in r.split()] for w, r in HERBAL_PHRASES.items()})
        _taught = True


@functools.lru_cache(maxsize=16_384)  # a name in several pack sizes is read once
def initials(name: str) -> str:
    """The commonest reading's initials: 参苓白术散 → ``slbzs``; letters and digits kept."""
    from pypinyin import Style, lazy_pinyin  # heavy dictionary: load only when needed

    _teach()
    parts = lazy_pinyin(name, style=Style.FIRST_LETTER, errors=lambda s: list(s))
    return "".join(p for p in parts if p.isascii() and p.isalnum()).lower()


@functools.lru_cache(maxsize=16_384)
def _readings(char: str) -> tuple[str, ...]:
    """The initials of every reading of one character (a letter or digit: itself)."""
    from pypinyin import Style, pinyin

    if char.isascii():
        return (char.lower(),) if char.isalnum() else ()
    (readings,) = pinyin(char, style=Style.FIRST_LETTER, heteronym=True, errors=lambda s: [s])
    return tuple(r for r in dict.fromkeys(c.lower() for c in readings)
                 if r.isascii() and r.isalnum())  # fmt: skip


def keys(name: str, mnemonic: str = "", size: int = 200) -> str:
    """What an item is found by, space-separated: the clinic's mnemonic code, the
    commonest reading's initials, then those of other readings of polyphonic characters
    (at most :data:`MAX_KEYS`, within ``size`` characters)."""
    found = [mnemonic.strip().lower()] if mnemonic.strip() else []
    per_char = [r for r in map(_readings, name) if r]
    polyphonic = any(len(r) > 1 for r in per_char)
    # One reading a character: the initials are those readings', read from the cache of
    # characters, not from pypinyin's phrase matching (most of an import's time, measured).
    found.append(initials(name) if polyphonic else "".join(r[0] for r in per_char))
    if polyphonic:
        for combo in itertools.islice(itertools.product(*per_char), MAX_KEYS * 4):
            found.append("".join(combo))
    out: list[str] = []
    for key in dict.fromkeys(k for k in found if k):
        if len(out) == MAX_KEYS or len(" ".join([*out, key])) > size:
            break
        out.append(key)
    return " ".join(out)
