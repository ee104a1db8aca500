from datetime import date, datetime, timedelta

import pytest

from cashier.devices.scanner import ScanKind, classify, is_valid_id_number
from cashier.domain.money import Fen
from cashier.errors import InputError
from cashier_sandbox import state
from tests.support.cli import run


@pytest.fixture
def sandbox(tmp_path):
    db = state.open_sandbox(state.sandbox_path(tmp_path))
    yield db
    db.close()


def test_people_of_every_kind(sandbox):
    people = list(state.Person.select())
    assert all(is_valid_id_number(p.certno) for p in people)
    assert any(p.retired and p.age() >= 70 for p in people)
    assert any(p.retired and p.age() < 70 for p in people)
    assert any(p.insutype == "390" and p.balance == Fen(0) for p in people)
    assert any(p.cvlserv_flag for p in people)
    assert {p.filing for p in people if p.insuplc_admdvs != state.DEFAULT_ADMVS} >= {
        "none",
        "temporary_referral",
    }
    assert any(not p.insured for p in people)
    assert any(p.card_status == "lost" for p in people)
    child = next(p for p in people if p.family_psn_no)
    assert state.Person.get_by_id(child.family_psn_no).balance > Fen(0)
    # Gender follows the ID number's 17th digit.
    assert all(p.gend == ("1" if int(p.certno[16]) % 2 else "2") for p in people)


def test_find_person_by_any_key(sandbox):
    p = state.find_person("P001")
    assert (
        state.find_person(p.certno)
        == p
        == state.find_person(p.card_no)
        == state.find_person(p.name)
    )
    with pytest.raises(InputError, match="没有此人"):
        state.find_person("nobody")


def test_evoucher_is_opaque_short_lived_and_has_a_token(sandbox):
    voucher = state.issue_evoucher(state.find_person("P001"))
    assert classify(voucher.payload).kind is ScanKind.EVOUCHER
    assert classify(voucher.ec_token).kind is ScanKind.EVOUCHER
    assert len(voucher.ec_token) == 38 and voucher.ec_token[6:8] == "ec"
    assert voucher.expires_at - voucher.issued_at == timedelta(seconds=60)
    assert voucher.expires_at > datetime.now()


def test_year_rolls_over(sandbox):
    p = state.find_person("P003")
    assert p.pooled_paid > Fen(0)
    state.roll_year(p, date(p.ytd_year + 1, 1, 1))
    assert p.pooled_paid == Fen(0) and p.deductible_used == Fen(0)


def test_bad_people_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "people.toml"
    bad.write_text('[[person]]\npsn_no = "X"\nname = "坏"\ncertno = "110105197801010000"\n')
    with pytest.raises(InputError, match="第 1 个"):
        state.open_sandbox(tmp_path / "s.db", bad)


def test_cli_people_and_qr(tmp_path):
    proc = run("sandbox", "people", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "P011\t郑小宝" in proc.stdout and "共济←P010" in proc.stdout
    proc = run(
        "sandbox", "qr", "P001", "--payload", "--png", str(tmp_path / "qr.png"), data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    payload = proc.stdout.strip()
    assert payload.startswith("ybm:")
    assert (tmp_path / "qr.png").stat().st_size > 100
    proc = run("sandbox", "qr", "nobody", data_dir=tmp_path)
    assert proc.returncode == 1 and "没有此人" in proc.stderr


def test_cli_settings_qr_lifetime_and_hospital_level(tmp_path):
    proc = run(
        "sandbox", "people", "--qr-lifetime", "5", "--hospital", "H11010500001=3", data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    state.open_sandbox(state.sandbox_path(tmp_path))
    assert state.qr_lifetime() == 5
    assert state.hospital_level("H11010500001") == 3 and state.hospital_level("H99999999999") == 1
    bad = run("sandbox", "people", "--hospital", "X=9", data_dir=tmp_path)
    assert bad.returncode == 1 and "--hospital" in bad.stderr


def test_a_person_with_two_insurances_and_one_whose_evoucher_is_not_activated(sandbox):
    p5, p12 = state.Person.get_by_id("P005"), state.Person.get_by_id("P012")
    assert p5.cvlserv_flag and p5.insutypes == ("310", "320")
    assert state.Person.get_by_id("P001").insutypes == ("310",)
    assert (p12.name, p12.certno, p12.card_no, p12.ec_activated) == (
        "黄敏",
        "110105199211230046",
        "A10000012",
        False,
    )
    assert is_valid_id_number(p12.certno) and p12.gend == "2"
    assert [p.psn_no for p in state.Person.select() if not p.ec_activated] == ["P012"]
    # `cashier sandbox qr` still makes a code for them: ec.query is what refuses it.
    assert state.issue_evoucher(p12).payload.startswith("ybm:")
    assert "医保码未激活" in state.person_notes(p12)
    assert state.person_notes(p5) == ["公务员", "另有险种 320"]


def test_an_older_sandbox_gains_the_new_columns_and_keeps_its_people(tmp_path):
    import sqlite3

    path = state.sandbox_path(tmp_path)
    state.open_sandbox(path).close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE person DROP COLUMN ec_activated")
        db.execute("ALTER TABLE person DROP COLUMN extra_insutypes")
        db.execute("UPDATE person SET balance = 12345 WHERE psn_no = 'P001'")
    db = state.open_sandbox(path)
    try:
        p = state.Person.get_by_id("P001")
        assert (p.balance, p.ec_activated, p.insutypes) == (Fen(12345), True, ("310",))
    finally:
        db.close()


@pytest.mark.parametrize(
    ("line", "words"),
    [('ec_activated = "no"', "ec_activated"), ('extra_insutypes = "320"', "extra_insutypes")],
)
def test_bad_new_people_fields_are_clear_errors(tmp_path, line, words):
    bad = tmp_path / "people.toml"
    bad.write_text(
        '[[person]]\npsn_no = "X1"\nname = "坏"\ncertno = "110105199211230046"\n'
        f'insutype = "310"\ncard_no = "X1"\n{line}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=f"第 1 个.*{words}"):
        state.open_sandbox(tmp_path / "s.db", bad)


def test_cli_lists_the_new_person_and_makes_their_code(tmp_path):
    proc = run("sandbox", "people", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "P012\t黄敏\t310" in proc.stdout
    proc = run("sandbox", "qr", "P012", "--payload", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("ybm:")
