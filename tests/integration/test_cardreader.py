"""The social security card: the virtual card's APDUs, reading it, and the real PC/SC stack.

The first part needs nothing but Python. The second runs pcscd with the
vsmartcard virtual reader (``tests/support/pcsc.py``) and puts virtual cards into it
over the vpcd protocol, so pyscard, pcscd and the driver all do their real work.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from cashier.devices import cardreader
from cashier.devices.cardreader import (
    CardData,
    CardError,
    CardReader,
    FakeCardReader,
    PcscCardReader,
    list_readers,
    read_card,
    read_records,
    wait_for_card,
    wait_for_removal,
)
from cashier.devices.sscard import RECORDS
from cashier.errors import DeviceError
from cashier_sandbox.state import find_person, open_sandbox, sandbox_path
from cashier_sandbox.virtualcard import DEFAULT_ATR, SocialSecurityCard
from tests.support.pcsc import READER, PcscDaemon, card_present, inserted, running_pcscd, wait_until

SELECT = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
TODAY = date.today()
NEXT_YEAR = TODAY.replace(year=TODAY.year + 1, day=1)

# P002 in the packaged people file.
P002_NAME = "王秀英"
P002_CERTNO = "110105195807160028"
P002_CARD_NO = "A10000002"
NO_CARD = r"^请插入社会保障卡$"


CARD_VALUES = {
    "card_sn": "0123456789ABCDEF0123456789ABCDEF",
    "card_no": P002_CARD_NO,
    "social_security_no": P002_CERTNO,
    "name": P002_NAME,
    "issue_date": date(2021, 1, 1),
    "expiry_date": NEXT_YEAR,
}


def make_card(**changes) -> SocialSecurityCard:
    return SocialSecurityCard(**(CARD_VALUES | changes))


def read_record(card: SocialSecurityCard, number: int, p2: int, le: int) -> bytes:
    return card.apdu(bytes([0x00, 0xB2, number, p2, le]))


# -- the virtual card, pure ------------------------------------------------------------------


def test_the_application_is_selected_by_its_gbk_name():
    assert "sx1.sh.社会保障".encode("gbk").hex().upper() == SELECT[5:].hex().upper()
    card = make_card()
    assert card.apdu(SELECT) == b"\x90\x00"
    assert card.apdu(SELECT + b"\x00") == b"\x90\x00"  # with an Le
    other = bytes.fromhex("00A4040007A0000000031010")  # a bank card's application
    assert card.apdu(other) == b"\x6a\x82"


def test_a_card_without_the_application_refuses_the_select():
    card = make_card(without_application=True)
    assert card.apdu(SELECT) == b"\x6a\x82"
    assert read_record(card, 0x01, 0x2C, 0x12) == b"\x69\x85"


def test_reading_before_select_is_refused_and_reset_forgets_the_selection():
    card = make_card()
    assert read_record(card, 0x07, 0x2C, 0x0B) == b"\x69\x85"
    card.apdu(SELECT)
    assert read_record(card, 0x07, 0x2C, 0x0B)[-2:] == b"\x90\x00"
    card.reset()
    assert read_record(card, 0x07, 0x2C, 0x0B) == b"\x69\x85"


def test_every_record_is_one_tlv_of_the_size_readers_ask_for():
    card = make_card(issue_date=date(2021, 3, 9), expiry_date=date(2031, 12, 25))
    card.apdu(SELECT)
    name = P002_NAME.encode("gbk")
    expected = {
        (0x2C, 0x01, 0x12): b"\x01\x10" + bytes.fromhex("0123456789ABCDEF0123456789ABCDEF"),
        (0x2C, 0x03, 0x06): b"\x03\x04" + b"3.00",
        (0x2C, 0x05, 0x06): b"\x05\x04" + bytes([0x20, 0x21, 0x03, 0x09]),  # BCD
        (0x2C, 0x06, 0x06): b"\x06\x04" + bytes([0x20, 0x31, 0x12, 0x25]),
        (0x2C, 0x07, 0x0B): b"\x07\x09" + b"A10000002",
        (0x34, 0x01, 0x14): b"\x01\x12" + P002_CERTNO.encode(),
        (0x34, 0x02, 0x20): b"\x02\x1e" + name + b"\x00" * (30 - len(name)),
    }
    # The reader asks with the Le values the document lists.
    assert {(r.p2, r.number, r.le) for r in RECORDS} == set(expected)
    for (p2, number, le), tlv in expected.items():
        assert read_record(card, number, p2, le) == tlv + b"\x90\x00"
    assert name == bytes.fromhex("CDF5D0E3D3A2")  # 王秀英 in GBK, two bytes a character


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("00B2022C06", "6A83"),  # EF05 has no record 02
        ("00B2033406", "6A83"),  # EF06 has no record 03
        ("00B2012C10", "6C12"),  # wrong Le: the card says the right one
        ("00B2023400", "6C20"),
        ("00B2012C", "6C12"),  # no Le at all
        ("00B2013C12", "6A82"),  # SFI 7: no such file
        ("0084000008", "6D00"),  # GET CHALLENGE: not supported
        ("00CA9F7F00", "6D00"),
        ("00B2", "6700"),
    ],
)
def test_status_words(command: str, answer: str):
    card = make_card()
    card.apdu(SELECT)
    assert card.apdu(bytes.fromhex(command)).hex().upper() == answer


def test_card_values_must_fit_their_records():
    with pytest.raises(ValueError, match="card_no"):
        make_card(card_no="A1000000")
    with pytest.raises(ValueError, match="GBK"):
        make_card(name="欧" * 16)
    make_card(name="欧" * 15)  # exactly 30 bytes


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory) -> Path:
    """A data directory holding the sandbox database, seeded with the packaged people."""
    data_dir = tmp_path_factory.mktemp("sandbox-data")
    open_sandbox(sandbox_path(data_dir)).close()
    return data_dir


@pytest.fixture(scope="module")
def p002(sandbox_dir: Path):
    db = open_sandbox(sandbox_path(sandbox_dir))
    try:
        return find_person("P002")
    finally:
        db.close()


def test_a_sandbox_person_becomes_a_card(p002):
    card = SocialSecurityCard.from_person(p002)
    assert (card.name, card.social_security_no, card.card_no) == (
        P002_NAME,
        P002_CERTNO,
        P002_CARD_NO,
    )
    assert card.card_sn == hashlib.md5(P002_CARD_NO.encode()).hexdigest().upper()
    assert card.issue_date == date(TODAY.year - 3, 1, 1)
    assert card.expiry_date == date(TODAY.year + 7, 1, 1)
    expired = SocialSecurityCard.from_person(p002, expiry_date=date(2020, 1, 1))
    assert expired.expiry_date == date(2020, 1, 1) and expired.card_no == P002_CARD_NO


# -- reading, through the test double ----------------------------------------------------


def expect_p002(data: CardData, person) -> None:
    assert data == CardData(
        card_sn=person.card_sn,
        spec_version="3.00",
        issue_date=date(TODAY.year - 3, 1, 1),
        expiry_date=date(TODAY.year + 7, 1, 1),
        card_no=P002_CARD_NO,
        social_security_no=P002_CERTNO,
        name=P002_NAME,
    )
    assert len(data.card_sn) == 32 and data.card_sn == data.card_sn.upper()


def test_the_fake_reader_reads_a_card_the_way_the_real_one_does(p002):
    reader: CardReader = FakeCardReader(SocialSecurityCard.from_person(p002))
    expect_p002(reader.read(), p002)
    assert reader.readers() == ["Fake Reader 00 00"]
    assert reader.read().name == P002_NAME  # a second read selects again


def test_the_fake_reader_without_card_or_reader():
    with pytest.raises(CardError, match=NO_CARD):
        FakeCardReader().read()
    with pytest.raises(CardError, match="未连接读卡器"):
        FakeCardReader(make_card(), reader_names=()).read()
    with pytest.raises(CardError, match="找不到读卡器"):
        FakeCardReader(make_card()).read("Another Reader 00 00")


def test_an_expired_card_is_refused_with_its_expiry_date():
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(CardError) as caught:
        FakeCardReader(make_card(expiry_date=yesterday)).read()
    assert str(caught.value) == (
        f"社会保障卡已过期（有效期至 {yesterday.isoformat()}），请使用医保电子凭证或身份证"
    )
    assert isinstance(caught.value, DeviceError)
    # Valid through its expiry date, not a day longer.
    card = make_card(expiry_date=date(2030, 6, 30))
    assert read_records(card.apdu, today=date(2030, 6, 30)).expiry_date == date(2030, 6, 30)
    with pytest.raises(CardError, match="已过期"):
        read_records(card.apdu, today=date(2030, 7, 1))


def test_a_bad_id_number_is_refused():
    bad = P002_CERTNO[:-1] + "9"
    with pytest.raises(CardError, match="校验不通过"):
        FakeCardReader(make_card(social_security_no=bad)).read()


def test_a_card_without_the_application_says_so():
    with pytest.raises(CardError, match="不是社会保障卡或卡片未开通社保应用"):
        FakeCardReader(make_card(without_application=True)).read()


def test_status_words_and_malformed_records_get_messages():
    card = make_card()

    def answering(record: bytes, response: bytes):
        def transmit(command: bytes) -> bytes:
            return response if command[:4] == record[:4] else card.apdu(command)

        return transmit

    expiry = RECORDS[3].command
    with pytest.raises(CardError, match=r"卡有效期失败（状态字 6581）"):
        read_records(answering(expiry, b"\x65\x81"))
    with pytest.raises(CardError, match="卡有效期数据格式有误"):
        read_records(answering(expiry, b"\x06\x04\x20\x31\x13\x45\x90\x00"))  # month 13
    with pytest.raises(CardError, match="被拔出"):
        read_records(answering(expiry, b""))
    with pytest.raises(CardError, match=r"社保应用失败（状态字 6A81）"):
        read_records(answering(SELECT, b"\x6a\x81"))


def test_card_data_masks_and_formats():
    data = read_records(make_card().apdu)
    assert data.masked_name == "王*英"
    assert data.masked_id == "1101**********0028"
    assert data.to_json() == {
        "card_no": "A10000002",
        "card_sn": "0123456789ABCDEF0123456789ABCDEF",
        "name": "王*英",
        "social_security_no": "1101**********0028",
        "spec_version": "3.00",
        "issue_date": "2021-01-01",
        "expiry_date": NEXT_YEAR.isoformat(),
    }
    full = data.to_json(full=True)
    assert (full["name"], full["social_security_no"]) == (P002_NAME, P002_CERTNO)
    assert data.summary() == (
        f"|{P002_CERTNO}|A10000002|0123456789ABCDEF0123456789ABCDEF|{P002_NAME}||3.00|"
        f"20210101|{NEXT_YEAR.strftime('%Y%m%d')}|||"
    )
    assert not data.expired(NEXT_YEAR) and data.expired(NEXT_YEAR + timedelta(days=1))


def test_importing_the_reader_does_not_import_pyscard():
    code = "import sys, cashier.devices.cardreader; print('smartcard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the real PC/SC stack -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory) -> Iterator[PcscDaemon]:
    with running_pcscd(tmp_path_factory.mktemp("pcscd")) as daemon:
        yield daemon


@pytest.fixture
def reader(pcscd: PcscDaemon) -> str:
    """The virtual reader, empty; pcscd started again if a test stopped it."""
    pcscd.start()
    assert wait_until(lambda: not card_present(), 5), "a card was left in the virtual reader"
    return READER


def test_pcscd_lists_the_virtual_reader(reader: str):
    assert reader in list_readers()
    assert reader in PcscCardReader().readers()


def test_reading_the_card_of_sandbox_person_p002(reader: str, p002):
    with inserted(SocialSecurityCard.from_person(p002)):
        data = read_card()
        expect_p002(data, p002)
        assert data.atr == DEFAULT_ATR.hex().upper()  # the ATR pcscd got from the card
        expect_p002(read_card(reader), p002)
        expect_p002(PcscCardReader().read(), p002)
        assert f"|{P002_CERTNO}|{P002_CARD_NO}|{p002.card_sn}|{P002_NAME}|3B" in data.summary()


def test_waiting_for_a_card_and_for_its_removal(reader: str, p002):
    began = time.monotonic()
    assert wait_for_card(0.3, reader) is None
    assert 0.25 < time.monotonic() - began < 2
    assert wait_for_removal(0.1) is True
    card = SocialSecurityCard.from_person(p002)
    stop = threading.Event()
    found: list[str | None] = []
    waiter = threading.Thread(target=lambda: found.append(wait_for_card(5)))
    waiter.start()  # waits in its own thread, as a Textual worker would
    with inserted(card, stop):
        waiter.join(5)
        assert found == [reader]
        assert wait_for_removal(0.1, reader) is False
        stop.set()  # take the card out
        assert wait_for_removal(5, reader) is True
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    began = time.monotonic()
    assert wait_for_card(10, cancel=cancel) is None
    assert time.monotonic() - began < 2


def test_an_expired_card_is_refused(reader: str, p002):
    expiry = TODAY - timedelta(days=30)
    with inserted(SocialSecurityCard.from_person(p002, expiry_date=expiry)):
        with pytest.raises(CardError, match="已过期") as caught:
            read_card()
    assert f"有效期至 {expiry.isoformat()}" in str(caught.value)


@dataclass
class PulledCard(SocialSecurityCard):
    """Taken out of the reader while the reader waits for its second record."""

    pulled: threading.Event = field(default_factory=threading.Event)
    reads: int = 0

    def apdu(self, command: bytes) -> bytes:
        if command[1] == 0xB2:
            self.reads += 1
            if self.reads == 2:
                self.pulled.set()  # the vpcd client leaves without answering
        return super().apdu(command)


def test_a_card_pulled_during_the_read(reader: str, p002):
    card = PulledCard(**CARD_VALUES)
    with inserted(card, card.pulled):
        with pytest.raises(CardError) as caught:
            read_card()
    assert card.reads == 2
    assert str(caught.value) == cardreader.MSG_REMOVED
    assert "被拔出" in str(caught.value) and "重新插入" in str(caught.value)


def test_a_card_without_the_social_security_application(reader: str, p002):
    with inserted(SocialSecurityCard.from_person(p002, without_application=True)):
        with pytest.raises(CardError, match="不是社会保障卡或卡片未开通社保应用"):
            read_card()


def test_no_card_in_the_reader(reader: str):
    with pytest.raises(CardError, match=NO_CARD):
        read_card()
    with pytest.raises(CardError, match=NO_CARD):
        read_card(reader)


def test_a_reader_that_is_not_there(reader: str):
    with pytest.raises(CardError, match="找不到读卡器“No Such Reader 00 00”"):
        read_card("No Such Reader 00 00")
    with pytest.raises(CardError, match="找不到读卡器"):
        wait_for_card(0.1, "No Such Reader 00 00")


CONNECT_FAILURES = [
    (0x80100066, "无响应"),  # SCARD_W_UNRESPONSIVE_CARD
    (0x80100067, "无响应"),  # SCARD_W_UNPOWERED_CARD
    (0x80100016, "无响应"),  # SCARD_E_NOT_TRANSACTED before anything was read
    (0x8010000B, "被其他程序占用"),  # SCARD_E_SHARING_VIOLATION
    (0x8010000C, NO_CARD),  # SCARD_E_NO_SMARTCARD
    (0x80100069, NO_CARD),  # SCARD_W_REMOVED_CARD before anything was read
    (0x80100014, r"PC/SC 错误 0x80100014"),  # SCARD_F_UNKNOWN_ERROR
]


def test_connection_and_transmission_failures_get_messages(reader: str, p002, monkeypatch):
    from smartcard import scard
    from smartcard.Exceptions import CardConnectionException

    with inserted(SocialSecurityCard.from_person(p002)):
        # One insertion for every case: pcscd takes a moment to see each card.
        for hresult, message in CONNECT_FAILURES:
            monkeypatch.setattr(scard, "SCardConnect", lambda *args, code=hresult: (code, 0, 0))
            with pytest.raises(CardError, match=message):
                read_card()
        monkeypatch.undo()
        for code in (0x80100069, 0x80100016, 0x80100013):  # removed, not transacted, comm error
            monkeypatch.setattr(scard, "SCardTransmit", lambda *args, code=code: (code, []))
            with pytest.raises(CardError, match="被拔出"):
                read_card()

        def lost(*args):
            raise CardConnectionException("lost", hresult=0x80100016)

        monkeypatch.setattr(scard, "SCardTransmit", lost)
        with pytest.raises(CardError, match="被拔出"):
            read_card()
        monkeypatch.undo()
        assert read_card().name == P002_NAME  # nothing was left half-open


def test_pyscard_exceptions_become_card_errors(reader: str, monkeypatch):
    from smartcard import scard
    from smartcard.Exceptions import CardConnectionException, NoCardException, NoReadersException
    from smartcard.pcsc.PCSCExceptions import EstablishContextException

    def raising(exc):
        def call(*args):
            raise exc

        return call

    monkeypatch.setattr(scard, "SCardEstablishContext", raising(EstablishContextException(0)))
    with pytest.raises(CardError, match="pcscd"):
        list_readers()
    monkeypatch.undo()
    cases = [
        (NoReadersException(), "未连接读卡器"),
        (NoCardException("no card", 0x8010000C), NO_CARD),
        (CardConnectionException("mute", hresult=0x80100066), "无响应"),
        (scard.error("swig"), "读卡失败"),
    ]
    for exc, message in cases:
        monkeypatch.setattr(scard, "SCardListReaders", raising(exc))
        with pytest.raises(CardError, match=message):
            read_card()


def test_without_pcscd_the_service_message(reader: str, pcscd: PcscDaemon):
    pcscd.stop()
    message = r"^读卡服务（pcscd）未运行，请联系管理员$"
    with pytest.raises(CardError, match=message):
        list_readers()
    with pytest.raises(CardError, match=message):
        read_card()
    with pytest.raises(CardError, match=message):
        wait_for_card(0.1)
    with pytest.raises(CardError, match=message):
        PcscCardReader().read()


def test_the_virtual_card_as_a_process(reader: str, sandbox_dir: Path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cashier_sandbox.virtualcard",
            "--data-dir",
            str(sandbox_dir),
            "P002",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONIOENCODING": "utf-8"},
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready, "the virtual card printed nothing"
        assert process.stdout.readline() == f"虚拟社保卡已插入：王*英 {P002_CARD_NO}\n"
        assert wait_for_card(5, reader) == reader
        assert read_card().social_security_no == P002_CERTNO
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
        assert wait_for_removal(5, reader) is True
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr.read() == ""


def test_the_virtual_card_process_explains_failures(sandbox_dir: Path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "cashier_sandbox.virtualcard",
                "--data-dir",
                str(sandbox_dir),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )

    unknown = run("P999")
    assert unknown.returncode == 1 and "沙箱中没有此人：P999" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    nobody = run("P002", "--vpcd", "127.0.0.1:9")  # nothing listens on the discard port
    assert nobody.returncode == 1 and "无法连接虚拟读卡器 127.0.0.1:9" in nobody.stderr
    assert "Traceback" not in nobody.stderr


def test_cli_sandbox_card_and_read_card(reader: str, tmp_path):
    import json
    import os

    env = {**os.environ, "CASHIER_DATA_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    card = subprocess.Popen(
        [sys.executable, "-m", "cashier", "sandbox", "card", "P002"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "虚拟社保卡已插入" in card.stdout.readline()
        assert wait_until(card_present, 5)
        out = subprocess.run(
            [sys.executable, "-m", "cashier", "read-card", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        fields = json.loads(out.stdout)
        assert fields["card_no"] == "A10000002" and fields["name"] == "王*英"
        assert fields["social_security_no"].startswith("1101*")
    finally:
        card.terminate()
        card.wait(10)
    assert wait_until(lambda: not card_present(), 5)
    out = subprocess.run(
        [sys.executable, "-m", "cashier", "read-card"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert (
        out.returncode == 1 and "请插入社会保障卡" in out.stderr and "Traceback" not in out.stderr
    )


def test_the_card_read_identifies_the_person_at_the_insurer(reader: str, tmp_path, empty_station):
    """Card in the reader → fields → 1101 with mdtrt_cert_type 03 at the sandbox insurer."""
    from datetime import datetime

    from cashier.insurer import protocol
    from cashier_sandbox.server import make_insurer, start_in_thread
    from tests.support.insurer import OPERATOR, new_client

    running = start_in_thread(make_insurer(tmp_path / "insurer"))
    try:
        person = find_person("P002")
        with inserted(SocialSecurityCard.from_person(person)):
            card = read_card()
        info = new_client(running).call(
            "1101",
            protocol.input_1101(
                mdtrt_cert_type="03",
                mdtrt_cert_no=card.card_no,
                card_sn=card.card_sn,
                begntime=datetime.now(),
            ),
            operator=OPERATOR,
        )
        assert info["baseinfo"]["psn_no"] == "P002"
        assert info["baseinfo"]["certno"] == card.social_security_no
    finally:
        running.stop()
