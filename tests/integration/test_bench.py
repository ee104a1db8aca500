"""The benchmark suite's pieces, run in-process where cheap: they measure what they say
and return sane numbers. Behaviour only — no timing is asserted (docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import counters, keys, latency, report, search, startup
from bench.till import THREE_ITEMS, external_insurer
from cashier.domain.money import Fen

pytestmark = pytest.mark.pilot
#: The app-driving pieces open the default training station, SQLite, whatever the pass.
on_the_training_station = pytest.mark.sqlite_only("the benchmarks measure the SQLite default")


@on_the_training_station
def test_keystroke_counter_counts_the_routine_sales(tmp_path):
    counts = {c.name: c for c in keys.measure(tmp_path)}
    visit = counts["insured clinic visit, exact cash"]
    assert visit.kind == "insured" and visit.scans == 1
    assert visit.pressed == ("f10",) and visit.keys == 1  # design.md: a scan and two keys
    assert visit.change == Fen(0) and visit.paid < visit.total  # the insurer paid the rest
    with_note = counts["insured clinic visit, a ¥100 note"]
    assert with_note.pressed[0] == "f9" and set(with_note.pressed[1:]) == {"f8"}
    assert with_note.keys == len(with_note.pressed) <= keys.CLINIC_KEYS_TARGET
    for how in ("exact cash", "a ¥100 note"):
        sale = counts[f"three-item pharmacy cash sale, {how}"]
        assert sale.kind == "selfpay" and sale.scans == len(THREE_ITEMS)
        assert sale.paid - sale.change == sale.total
    assert counts["three-item pharmacy cash sale, a ¥100 note"].change > Fen(0)


@on_the_training_station
def test_scan_to_breakdown_latency_times_the_visits_insurer_calls(tmp_path):
    (visit,) = latency.measure(tmp_path, 1)
    assert visit.calls == ("ec.query", "1101", "2201", "2203", "2204", "2206")
    # The insurer's handling happens inside the timed window and inside the round trips.
    assert 0 < visit.insurer_ms < visit.round_trip_ms < visit.latency_ms
    assert visit.added_ms == visit.latency_ms - visit.insurer_ms
    parts = visit.parts  # consecutive parts of the latency: they add up to it
    assert parts["insurer"] == visit.insurer_ms and sum(parts.values()) == pytest.approx(
        visit.latency_ms
    )
    assert parts["busy"] > 0 and parts["refresh"] > 0 and parts["frame"] >= 0


@on_the_training_station
def test_probe_reaches_the_ready_sale_screen(tmp_path):
    data_dir = tmp_path / "station"
    startup.seeded_station(data_dir)
    with external_insurer(tmp_path) as insurer:  # a sandbox in a process of its own
        for kind in ("bare", "sale", "external"):
            seconds, rss = startup.probe(kind, data_dir, 0.2, insurer.config)
            assert seconds > 0 and rss > 10 * 2**20, kind


def test_search_baseline_runs_the_statements_the_search_sent(station):
    from cashier.services import catalog

    sent = search.statements_of("阿莫")
    assert sent and any("LIKE" in sql.upper() for sql, _ in sent)
    from cashier.store.models import database

    rows = [database.execute_sql(sql, params).fetchall() for sql, params in sent]
    assert len(rows[-1]) == len(catalog.search("阿莫")) > 0


def _section(key: str, value: float, title: str = "") -> report.Section:
    figure = report.Figure(key, f"{key} figure", value, "ms", baseline=2.0, target="≤ 3 ms")
    return report.Section(key, title or key.title(), f"{key} body {value}", (figure,))


def test_document_keeps_the_parts_not_rerun(tmp_path: Path):
    out = tmp_path / "benchmarks.md"
    order = ("a", "b", "c")
    report.write_document(out, "# Benchmarks\n\nintro", [_section(k, 1.0) for k in order], order)
    report.write_document(out, "# Benchmarks\n\nnew intro", [_section("b", 4.0)], order)
    text = out.read_text(encoding="utf-8")
    assert "new intro" in text and "| b | b figure | 4.0 ms | 2.0 ms | 2.00× | ≤ 3 ms | — |" in text
    assert "| b | b figure | 1.0 ms" not in text and "b body 4.0" in text
    assert "| a | a figure | 1.0 ms" in text and "a body 1.0" in text and "c body 1.0" in text
    assert text.index("## A —") < text.index("## B —") < text.index("## C —")
    assert text.index("## Summary") < text.index("## A —")


@pytest.mark.sqlite_only("starts its own PostgreSQL server, once")
def test_counters_time_the_cashier_and_replay_its_own_writes_bare():
    m = counters.measure(2, 3)
    for phase in ("cashier", "bare"):
        rate, median, p95 = m[phase]
        assert rate > 0 and 0 < median <= p95, phase
    # the bare loop replays exactly what a sale wrote: the sale, its lines, the tender, the
    # print job and the audit chain, each key made fresh (else the replay would not commit)
    assert {"INSERT sale", "INSERT sale_line", "INSERT tender", "INSERT audit_entry"} <= set(
        m["writes"]
    )
    assert m["sold"] == (6, 6)
    assert all(isinstance(w, int) for w in m["waits"])


@on_the_training_station
def test_growth_times_the_days_work_at_each_size_of_the_history():
    from bench import growth

    curve, beside = growth.measure((300, 900), runs=1, starts=1)
    assert sorted(curve) == sorted(beside) == [300, 900]
    for size in curve:
        for figures in (curve[size], beside[size]):
            assert set(figures) == set(growth.NAMES), size
            assert all(ms > 0 for ms in figures.values()), size


def test_growth_history_goes_back_in_time_with_ids_growing_with_it():
    from bench.growth import PER_DAY, History

    history = History(top=10_000)
    newest, a_day_back = history._at(0), history._at(PER_DAY)
    assert newest > history._at(1) > a_day_back  # the n-th newest is older as n grows
    assert (newest - a_day_back).days == 1


@on_the_training_station
def test_imports_time_both_imports_and_replay_what_they_stored(tmp_path):
    from bench import imports

    m = imports.measure(300, 400, tmp_path)
    assert m["catalog"][2] >= 300  # items (and their barcodes) stored, then replayed bare
    assert m["orders"][2] == 400 + 100  # four lines a visit: 400 lines, 100 orders
    assert all(t > 0 and b > 0 for t, b, _ in m.values())
