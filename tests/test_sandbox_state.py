from datetime import date, datetime, timedelta

import pytest

from cashier.errors import InputError
from cashier.hardware.scanner import ScanKind, classify, is_valid_id_number
from cashier.money import Fen
from cashier.settlement.sandbox import state

from .test_cli import run


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
