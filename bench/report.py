"""What every benchmark hands back, and the one place that turns it into tables and
``docs/benchmarks.md``.

A benchmark returns a :class:`Section`: its Markdown (how it was measured, its
tables) and its headline :class:`Figure` s, each next to the baseline measured in
the same run and the issue's target where there is one. Timings are reported,
never asserted: a missed target is a ``no`` in the table, not an error.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUMMARY_HEADING = "## Summary"
SUMMARY_HEADER = (
    "| bench | figure | measured | baseline (same run) | ratio | target | met? |",
    "|---|---|---|---|---|---|---|",
)


def median_seconds(fn: Callable[[], object], runs: int, *, warm: bool = True) -> float:
    """Median wall time of ``fn()`` over ``runs`` calls (after one uncounted call, ``warm``)."""
    if warm:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@dataclass(frozen=True)
class Figure:
    """One headline figure: measured, its baseline from the same run, the target, met."""

    bench: str
    name: str
    value: float
    unit: str
    digits: int = 1
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""  # the target in words; empty: none set
    met: bool | None = None  # None: no target

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    def _amount(self, value: float) -> str:
        return f"{value:,.{self.digits}f} {self.unit}".strip()

    def row(self) -> str:
        baseline = (
            f"{self._amount(self.baseline)} {self.baseline_name}".strip()
            if self.baseline is not None
            else "—"
        )
        ratio = f"{self.ratio:.2f}×" if self.ratio is not None else "—"
        met = "—" if self.met is None else ("yes" if self.met else "**no**")
        return (
            f"| {self.bench} | {self.name} | {self._amount(self.value)} | {baseline} | {ratio} "
            f"| {self.target or '—'} | {met} |"
        )


@dataclass(frozen=True)
class Section:
    """One benchmark's part of the document: ``## title — `python -m bench.key```."""

    key: str
    title: str
    body: str
    figures: Sequence[Figure] = field(default_factory=tuple)

    @property
    def heading(self) -> str:
        return f"## {self.title} — `python -m bench.{self.key}`"

    def markdown(self) -> str:
        return f"{self.heading}\n\n{self.body.strip()}\n"


def summary(figures: Iterable[Figure]) -> str:
    """The one table of headline figures."""
    return "\n".join([*SUMMARY_HEADER, *(f.row() for f in figures)])


def _sections(text: str) -> dict[str, str]:
    """A document's ``## `` sections: their text by heading line."""
    sections: dict[str, str] = {}
    for part in text.split("\n## ")[1:]:
        heading, _, rest = part.partition("\n")
        sections["## " + heading] = rest
    return sections


def write_document(
    path: Path, intro: str, sections: Sequence[Section], order: Sequence[str]
) -> None:
    """Write ``path``: the intro, the summary, then one section per benchmark in ``order``.

    Sections of benchmarks not run this time (``--only``) are kept as they were, and so
    are their rows in the summary; those that ran replace theirs.
    """
    old_sections: dict[str, str] = {}
    old_rows: dict[str, list[str]] = {}
    if path.exists():
        old_sections = _sections(path.read_text(encoding="utf-8"))
        for line in old_sections.get(SUMMARY_HEADING, "").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and cells[0] in order:
                old_rows.setdefault(cells[0], []).append(line)
    fresh = {s.key: s for s in sections}
    rows: list[str] = []
    parts: list[str] = []
    for key in order:
        if key in fresh:
            rows.extend(f.row() for f in fresh[key].figures)
            parts.append(fresh[key].markdown())
            continue
        rows.extend(old_rows.get(key, []))
        kept = next(
            (h for h in old_sections if h.endswith(f"`python -m bench.{key}`")),
            None,
        )
        if kept is not None:
            parts.append(f"{kept}\n\n{old_sections[kept].strip()}\n")
    summary_part = "\n".join([SUMMARY_HEADING, "", *SUMMARY_HEADER, *rows]) + "\n"
    text = intro.strip() + "\n\n" + "\n".join([summary_part, *parts])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
