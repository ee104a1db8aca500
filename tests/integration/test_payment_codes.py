"""付款码 over HTTP against the payment sandbox, for WeChat Pay (API v2) and Alipay (当面付)
each, charged exactly once (issue 18): paid; a password typed, then paid; a password never
typed, reversed; insufficient balance and an expired code refused with their messages; a
system error and a lost answer resolved by query and charged once; a gateway that never
answers, reversed; a forged answer not believed; refunds full and partial through the
channel, a lost refund answer found by query, a repeated refund never paid twice. The
sandbox's ledger and the counter's journal agree after each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cashier.domain.money import Fen
from cashier.payments import Outcome, wechat_v2
from cashier.payments.alipay import Alipay, App
from cashier.payments.wechat_v2 import Merchant, WeChatV2
from cashier.payments.wechat_v3 import MerchantV3, WeChatV3
from cashier.services import payments
from cashier.services.payments import ChargeInDoubt, ChargeRefused, ChargeUndone
from cashier.store.models import PaymentCharge, Sale
from cashier_sandbox import payments as sandbox
from cashier_sandbox.payments import alipay_keys
from cashier_sandbox.wechat_v3 import DEMO_API_V3_KEY

DUE = Fen(1250)


@pytest.fixture
def gateway(tmp_path):
    running = sandbox.start_in_thread(tmp_path / "paysandbox")
    yield running
    running.stop()


def v3_merchant(gateway, **changes) -> WeChatV3:
    keys = gateway.wechat_v3_keys
    return WeChatV3(
        MerchantV3(gateway.url, sandbox.DEMO_APPID, sandbox.DEMO_MCH_ID, keys.merchant_serial,
                   keys.merchant_private, DEMO_API_V3_KEY, read_timeout=2.0, **changes)
    )  # fmt: skip


@pytest.fixture(params=["wechat", "wechat-v3", "alipay"])
def wechat(gateway, request):
    """The provider under test (named for the first one; all three run every test)."""
    if request.param == "wechat":
        return WeChatV2(
            Merchant(
                gateway.url,
                sandbox.DEMO_APPID,
                sandbox.DEMO_MCH_ID,
                sandbox.DEMO_API_KEY,
                read_timeout=2.0,
            )
        )
    if request.param == "wechat-v3":
        return v3_merchant(gateway)
    keys = gateway.alipay_keys
    return Alipay(
        App(f"{gateway.url}/gateway.do", sandbox.DEMO_ALIPAY_APP_ID, keys.app_private,
            keys.alipay_public, read_timeout=2.0)
    )  # fmt: skip


def rebuilt(provider, **changes):
    """The same provider with some of its configuration changed."""
    if isinstance(provider, Alipay):
        return Alipay(replace(provider.app, **changes))
    return type(provider)(replace(provider.m, **changes))


def with_url(provider, url: str):
    return rebuilt(provider, url=url)


def with_timeout(provider, read_timeout: float):
    return rebuilt(provider, read_timeout=read_timeout)


def pay(wechat, gateway, scenario: str, *, asked=None, amount: Fen = DUE):
    code = gateway.ledger.issue(wechat.name, scenario)
    return payments.charge(
        wechat, station="TRAIN-01", bill="BILL1", operator="1001", amount=amount,
        auth_code=code, due=DUE, keep_waiting=asked, pause=lambda s: None,
    )  # fmt: skip


def books_agree(gateway) -> None:
    """The sandbox's ledger and the journal: every trade paid there is paid here, once."""
    paid_there = {
        t.out_trade_no: t.amount
        for t in gateway.ledger.trades()
        if t.state == "paid" and t.refunded < t.amount  # refunded whole: given back
    }
    paid_here = {c.out_trade_no: c.amount.fen for c in PaymentCharge.select() if c.state == "paid"}
    assert paid_there == paid_here
    assert (
        not PaymentCharge.select().where(PaymentCharge.state.in_(["pending", "in_doubt"])).exists()
    )


def test_signature_and_xml_are_the_real_ones():
    params = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "body": "test",
              "nonce_str": "ibuaiVcKdpRxkhJA", "device_info": "1000"}  # fmt: skip
    signed = wechat_v2.sign(params, "192006250b4c09247ec02edce69f6a2d")
    # The example of WeChat Pay's own signature page (安全规范), HMAC-SHA256.
    assert signed == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    assert wechat_v2.sign({**params, "empty": ""}, "192006250b4c09247ec02edce69f6a2d") == signed
    assert wechat_v2.from_xml(wechat_v2.to_xml({"a": "<&>"})) == {"a": "<&>"}
    with pytest.raises(ValueError):
        wechat_v2.from_xml(b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>')


def test_paid(station, wechat, gateway):
    charged = pay(wechat, gateway, "pay")
    assert charged.amount == DUE and charged.trade_no.startswith(("4200", "2026"))
    assert PaymentCharge.get_by_id(charged.out_trade_no).state == "paid"
    assert "*" in PaymentCharge.get_by_id(charged.out_trade_no).code  # never kept whole
    books_agree(gateway)


def test_a_password_typed_then_paid(station, wechat, gateway):
    asked = []
    charged = pay(wechat, gateway, "password", asked=lambda n: asked.append(n) or True)
    assert charged.amount == DUE and asked  # the screen was asked whether to keep waiting
    books_agree(gateway)


def test_a_password_never_typed_is_reversed(station, wechat, gateway):
    with pytest.raises(ChargeUndone, match="已撤销"):
        pay(wechat, gateway, "password-cancel")
    (trade,) = gateway.ledger.trades()
    assert trade.state == "reversed"
    assert PaymentCharge.get().state == "reversed"
    books_agree(gateway)


def test_paid_too_late_to_reverse_ends_refunded(station, wechat, gateway):
    """The payer confirms just as the reverse goes out, past its window (WeChat answers
    REVERSE_EXPIRE): the charge is refunded whole instead, once. Alipay's cancel refunds a
    paid order by itself."""
    with pytest.raises(ChargeUndone):
        pay(wechat, gateway, "late")
    (trade,) = gateway.ledger.trades()
    if wechat.name == "wechat":
        assert (trade.state, trade.refunded) == ("paid", trade.amount)
        assert PaymentCharge.get().state == "refunded"
    else:
        assert trade.state == "reversed" and PaymentCharge.get().state == "reversed"
    books_agree(gateway)


def test_the_cashier_gives_up_waiting_and_it_is_reversed(station, wechat, gateway):
    with pytest.raises(ChargeUndone):
        pay(wechat, gateway, "password-cancel", asked=lambda n: n < 2)
    assert gateway.ledger.trades()[0].state == "reversed"


@pytest.mark.parametrize(
    ("scenario", "says"), [("insufficient", "余额不足"), ("expired", "已过期")]
)
def test_refused_with_its_message(station, wechat, gateway, scenario, says):
    with pytest.raises(ChargeRefused, match=says):
        pay(wechat, gateway, scenario)
    assert PaymentCharge.get().state == "failed" and not gateway.ledger.trades()
    books_agree(gateway)


@pytest.mark.parametrize("scenario", ["system-error", "lost-answer"])
def test_in_doubt_is_resolved_by_query_and_charged_once(station, wechat, gateway, scenario):
    charged = pay(wechat, gateway, scenario)
    assert charged.amount == DUE
    assert [t.state for t in gateway.ledger.trades()] == ["paid"]
    books_agree(gateway)


def test_a_gateway_that_never_answers_is_reversed(station, wechat, gateway, monkeypatch):
    monkeypatch.setattr(sandbox, "HANG_S", 1.0)  # longer than the counter's read timeout
    fast = with_timeout(wechat, 0.2)
    with pytest.raises(ChargeUndone):
        pay(fast, gateway, "no-answer")
    assert gateway.ledger.trades()[0].state == "reversed"
    books_agree(gateway)


def test_more_than_is_due_is_refused_before_anything_is_sent(station, wechat, gateway):
    with pytest.raises(Exception, match="超过应收"):
        pay(wechat, gateway, "pay", amount=DUE + Fen(1))
    assert not PaymentCharge.select().exists() and not gateway.ledger.trades()


def test_a_forged_answer_is_not_believed(station, gateway, wechat, tmp_path):
    if isinstance(wechat, WeChatV2):  # our key is not the gateway's: it refuses, and says so
        wrong = WeChatV2(replace(wechat.m, api_key="0" * 32))
        with pytest.raises(ChargeRefused, match="签名"):
            pay(wrong, gateway, "pay")
        assert not gateway.ledger.trades()
        return
    other = alipay_keys(tmp_path / "other-keys")
    if isinstance(wechat, WeChatV3):
        # Signed with a key that is not the merchant's: WeChat Pay refuses even the platform
        # certificates, fetched before the first charge is sent, so nothing is sent.
        with pytest.raises(ChargeRefused, match=r"签名.*未发出"):
            pay(rebuilt(wechat, private_key=other.app_private), gateway, "pay")
        assert not gateway.ledger.trades()
        # A wrong APIv3 key: the platform certificate does not open; nothing is sent.
        with pytest.raises(ChargeRefused, match="APIv3 密钥"):
            pay(rebuilt(wechat, api_v3_key="0" * 32), gateway, "pay")
        # Answers signed by another key than the certificate they name: none is believed,
        # not even the reverse's; the charge stays in doubt (below).
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        wrong = rebuilt(wechat)
        assert payments.check(wrong).ok  # the certificates fetched
        serial = gateway.wechat_v3_keys.platform_serial
        wrong._certs.keys[serial] = load_pem_public_key(other.alipay_public)
    else:
        # Alipay's answers checked against another key than Alipay's (a wrong key
        # configured): none is believed, not even the reverse's, so the charge stays in
        # doubt in the journal for the next start (with the right key) to settle: never
        # taken as paid on its word.
        wrong = Alipay(replace(wechat.app, alipay_public_key=other.alipay_public))
    with pytest.raises(ChargeInDoubt, match="未知"):
        pay(wrong, gateway, "pay")
    assert PaymentCharge.get(PaymentCharge.state != "failed").state == "in_doubt"
    (resolved,) = payments.resolve_open({wechat.name: wechat}, "TRAIN-01")  # the right key
    assert resolved.outcome == "reversed" and gateway.ledger.trades()[0].state == "reversed"


def test_a_connection_refused_is_not_sent(station, wechat):
    nowhere = with_url(wechat, "http://127.0.0.1:1")
    code = "134567890123456789" if wechat.name == "wechat" else "284567890123456789"
    with pytest.raises(ChargeRefused, match="未扣款"):
        payments.charge(nowhere, station="TRAIN-01", bill="B", operator="1001", amount=DUE,
                        auth_code=code, due=DUE, pause=lambda s: None)  # fmt: skip
    assert PaymentCharge.get().state == "failed"
    assert Outcome.PAID == "paid"


def test_the_sandbox_commands(tmp_path):
    import json as _json

    from cashier.devices.scanner import ScanKind, classify
    from tests.support.cli import assert_one_line_error, run

    data = tmp_path / "d"
    proc = run("sandbox", "paycode", "wechat", "--scenario", "password", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    code = proc.stdout.strip()
    assert classify(code).kind is ScanKind.PAYMENT_CODE and len(code) == 18
    assert_one_line_error(run("sandbox", "paycode", "wechat", "--scenario", "x", data_dir=data))
    ledger = sandbox.PaymentLedger(data / "paysandbox.db")
    try:
        gateway = sandbox.WeChatV2Gateway(ledger)
        request = {"appid": sandbox.DEMO_APPID, "mch_id": sandbox.DEMO_MCH_ID, "nonce_str": "n",
                   "out_trade_no": "T1", "total_fee": "100", "auth_code": code, "body": "x"}  # fmt: skip
        request["sign"] = wechat_v2.sign(request, sandbox.DEMO_API_KEY)
        assert (
            gateway.handle("/pay/micropay", wechat_v2.to_xml(request))["err_code"] == "USERPAYING"
        )
    finally:
        ledger.close()
    listing = run("sandbox", "payments", "--json", data_dir=data)
    (row,) = _json.loads(listing.stdout)
    assert (row["out_trade_no"], row["amount"], row["state"]) == ("T1", 100, "waiting")
    assert "\t1.00\twaiting" in run("sandbox", "payments", data_dir=data).stdout
    limited = run("sandbox", "paycode", "alipay", "--amount-limit", "10.00", data_dir=data)
    assert (
        limited.returncode == 0 and classify(limited.stdout.strip()).kind is ScanKind.PAYMENT_CODE
    )
    assert_one_line_error(run("sandbox", "paycode", "alipay", "--amount-limit", "x", data_dir=data))


def test_a_balance_smaller_than_the_charge_is_refused(station, wechat, gateway):
    """A code whose payer holds ¥10.00 (``--amount-limit 10``): ¥12.50 is refused as 余额不足
    and nothing taken; the same payer's next code pays ¥5.00."""
    with pytest.raises(ChargeRefused, match="余额不足"):
        payments.charge(wechat, station="TRAIN-01", bill="B", operator="1001", amount=DUE,
                        auth_code=gateway.ledger.issue(wechat.name, "pay", 1000), due=DUE,
                        pause=lambda s: None)  # fmt: skip
    charged = payments.charge(wechat, station="TRAIN-01", bill="B", operator="1001",
                              amount=Fen(500), auth_code=gateway.ledger.issue(wechat.name, "pay", 1000),
                              due=DUE, pause=lambda s: None)  # fmt: skip
    assert charged.amount == Fen(500)
    books_agree(gateway)


def test_at_start_charges_without_a_sale_are_given_back(station, wechat, gateway):
    """The counter died with charges on a bill it never completed: at the next start each is
    asked about and reversed (or found never charged), and the cashier is told."""
    paid = pay(wechat, gateway, "pay")  # charged, the bill then lost with its process
    PaymentCharge.create(  # written down, then the process died before sending it
        out_trade_no="TRAIN01LOST0001", station="TRAIN-01", provider=wechat.name, bill="B2",
        amount=DUE, code="1345**********6789", state="pending",
    )  # fmt: skip
    done = {r.out_trade_no: r for r in payments.resolve_open({wechat.name: wechat}, "TRAIN-01")}
    assert (
        done[paid.out_trade_no].outcome == "reversed" and "退回" in done[paid.out_trade_no].message
    )
    assert done["TRAIN01LOST0001"].outcome == "not_charged"
    assert [t.state for t in gateway.ledger.trades()] == ["reversed"]
    assert payments.resolve_open({wechat.name: wechat}, "TRAIN-01") == []  # nothing left
    books_agree(gateway)


def test_a_completed_sale_keeps_its_charge(station, settings, cashier_1001, wechat, gateway):
    from cashier.domain.tender import Method
    from cashier.services import catalog
    from cashier.services.checkout import Checkout

    co = Checkout(settings.station_id, cashier_1001)
    co.add(catalog.find_by_scan("Y00001"))
    plan = co.start_payment()
    charged = payments.charge(
        wechat, station=settings.station_id, bill=co.key, operator="1001",
        amount=plan.remaining, auth_code=gateway.ledger.issue(wechat.name, "pay"),
        due=plan.remaining, pause=lambda s: None,
    )  # fmt: skip
    plan.add(Method(wechat.name), charged.amount, charged.trade_no)
    sale_id = co.complete(plan).sale_id
    assert PaymentCharge.get_by_id(charged.out_trade_no).sale_id == sale_id
    assert payments.resolve_open({wechat.name: wechat}, settings.station_id) == []
    assert gateway.ledger.trades()[0].state == "paid"
    # The end-of-day report counts the provider's trades beside its takings; the receipt
    # prints the provider's trade number whole (the patient quotes it to the provider).
    from datetime import date

    from cashier.reports.eod import eod_report
    from cashier.services.checkout import receipt_for

    takings = eod_report(date.today()).total.method(Method(wechat.name))
    assert (takings.trades, takings.tendered) == (1, charged.amount)
    receipt = receipt_for(Sale.get_by_id(sale_id), clinic_name="诊所", training=True)
    assert any(t.reference == charged.trade_no for t in receipt.tenders)


# -- refunds through the channel ---------------------------------------------------------------
def wechat_sale(settings, who, wechat, gateway, codes=("Y00001", "Y00004"), scenario="pay"):
    """A self-pay sale paid whole by a 付款码 at the counter, through the provider."""
    from cashier.services.counter import Counter
    from cashier.services.station import PaymentsConnection

    connection = PaymentsConnection({wechat.name: wechat}, None)
    counter = Counter(settings.station_id, who, payments=lambda: connection)
    for code in codes:
        counter.scan(code)
    counter.start_payment()
    paycode = gateway.ledger.issue(wechat.name, scenario)
    counter.charge_code(*counter.check_code(paycode, None), paycode)
    return Sale.get_by_id(counter.complete().sale_id)


def refund(settings, who, sale, providers, quantities=None):
    from cashier.services.refunds import approve, execute, find_refundable, plan_refund

    boss = approve(settings.station_id, "9001", "9999")
    plan = plan_refund(find_refundable(sale.receipt_no), quantities)
    return execute(settings, plan, requested_by=who, approved_by=boss, completed_by=who,
                   reason="退药", providers=providers)  # fmt: skip


def test_a_full_refund_goes_back_to_wechat(station, settings, cashier_1001, wechat, gateway):
    sale = wechat_sale(settings, cashier_1001, wechat, gateway)
    done = refund(settings, cashier_1001, sale, {wechat.name: wechat})
    (channel,) = done.channels
    assert (channel.provider, channel.amount, channel.state) == (wechat.name, sale.total, "done")
    (trade,) = gateway.ledger.trades()
    assert trade.refunded == sale.total.fen


def test_a_partial_refund_sends_back_only_what_the_patient_returns(
    station, settings, cashier_1001, wechat, gateway
):
    from cashier.store.models import SaleLine

    sale = wechat_sale(settings, cashier_1001, wechat, gateway)
    first = sale.lines.order_by(SaleLine.line_no).first()
    done = refund(settings, cashier_1001, sale, {wechat.name: wechat}, {first.id: first.quantity})
    (channel,) = done.channels
    assert channel.amount == first.amount and channel.state == "done"
    assert gateway.ledger.trades()[0].refunded == first.amount.fen  # the kept lines stay paid


def test_a_refund_whose_answer_is_lost_is_found_by_query(
    station, settings, cashier_1001, wechat, gateway
):
    sale = wechat_sale(settings, cashier_1001, wechat, gateway, scenario="refund-lost")
    done = refund(settings, cashier_1001, sale, {wechat.name: wechat})
    assert [c.state for c in done.channels] == ["done"]
    assert gateway.ledger.trades()[0].refunded == sale.total.fen


def test_a_repeated_refund_never_pays_twice(station, settings, cashier_1001, wechat, gateway):
    from cashier.store.models import PaymentRefund

    sale = wechat_sale(settings, cashier_1001, wechat, gateway)
    nowhere = with_url(wechat, "http://127.0.0.1:1")
    done = refund(settings, cashier_1001, sale, {wechat.name: nowhere})  # the gateway is away
    assert [c.state for c in done.channels] == ["pending"]
    assert gateway.ledger.trades()[0].refunded == 0
    for _ in range(3):  # every start asks again, under the same number
        payments.finish_refunds({wechat.name: wechat}, settings.station_id)
    assert gateway.ledger.trades()[0].refunded == sale.total.fen
    assert [r.state for r in PaymentRefund.select()] == ["done"]


def test_no_refund_of_a_code_sale_without_its_provider(
    station, settings, cashier_1001, wechat, gateway
):
    from cashier.store.models import InsurerCall, Refund

    sale = wechat_sale(settings, cashier_1001, wechat, gateway)
    with pytest.raises(Exception, match="支付平台未连接"):
        refund(settings, cashier_1001, sale, None)
    assert not Refund.select().exists() and not InsurerCall.select().exists()


def test_payments_check_says_what_is_wrong(gateway, wechat, tmp_path):
    assert payments.check(wechat).ok
    if isinstance(wechat, WeChatV2):
        wrong = WeChatV2(replace(wechat.m, api_key="0" * 32))
        assert "密钥" in payments.check(wrong).message
    elif isinstance(wechat, WeChatV3):
        other = alipay_keys(tmp_path / "other")  # any other RSA key is not the merchant's
        wrong = WeChatV3(replace(wechat.m, private_key=other.app_private))
        assert "签名不符" in payments.check(wrong).message
        unknown = WeChatV3(replace(wechat.m, mchid="1900000000"))
        assert not payments.check(unknown).ok
    else:
        other = alipay_keys(tmp_path / "other")
        wrong = Alipay(replace(wechat.app, private_key=other.app_private))
        assert "签名" in payments.check(wrong).message
    assert "网络不通" in payments.check(with_url(wechat, "http://127.0.0.1:1")).message


def test_payments_check_on_the_command_line(tmp_path):
    from tests.support.cli import run

    proc = run("payments", "check", data_dir=tmp_path / "d")  # training: the sandbox
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("正常") for line in lines), proc.stdout
    assert "微信支付" in proc.stdout and "支付宝" in proc.stdout


# -- the provider's bill ------------------------------------------------------------------------
def test_the_day_bill_is_read_as_each_provider_writes_it(
    station, settings, cashier_1001, wechat, gateway
):
    """WeChat Pay's back-ticked CSV, Alipay's zip of GBK CSV files: one paid row for the sale,
    none for a day without trades, and a charge paid then given back (a 交易 row and a 退款
    row at Alipay, REVOKED at WeChat Pay) is no mismatch."""
    from datetime import date

    from cashier.services.payment_bills import reconcile

    assert wechat.bill(date(2020, 1, 1)) == []  # no bill for a day without trades
    sale = wechat_sale(settings, cashier_1001, wechat, gateway)
    (row,) = wechat.bill(date.today())
    assert (row.state, row.amount, row.refunded) == ("paid", sale.total, Fen(0))
    assert row.out_trade_no == PaymentCharge.get(PaymentCharge.sale == sale.id).out_trade_no
    given_back = pay(wechat, gateway, "pay")
    payments.give_back(wechat, given_back.out_trade_no)
    result = reconcile(wechat, date.today())
    assert (result.trades, result.charges, result.mismatches) == (1, 1, ())


def test_the_bill_files_have_the_providers_shape(station, settings, cashier_1001, gateway):
    """What the parsers are fed is what the providers send: WeChat Pay's fields each start
    with a back-tick and a summary closes the file; Alipay's zip names its two files in GBK
    (no UTF-8 flag), frames them with # lines and pads ids with a tab."""
    import io
    import zipfile
    from datetime import date

    from cashier.payments import wire

    keys = gateway.alipay_keys
    ali = Alipay(App(f"{gateway.url}/gateway.do", sandbox.DEMO_ALIPAY_APP_ID, keys.app_private,
                     keys.alipay_public))  # fmt: skip
    wechat_sale(settings, cashier_1001, ali, gateway)
    node = ali._call("alipay.data.dataservice.bill.downloadurl.query", bill_type="trade",
                     bill_date=date.today().isoformat())  # fmt: skip
    assert "fileType=csv.zip" in node["bill_download_url"]
    archive = zipfile.ZipFile(io.BytesIO(wire.get(node["bill_download_url"], 2, 2)))
    infos = archive.infolist()
    assert len(infos) == 2 and not any(i.flag_bits & 0x800 for i in infos)
    names = sorted(i.filename.encode("cp437").decode("gbk") for i in infos)
    assert names[0].endswith("_业务明细(汇总).csv") and names[1].endswith("_业务明细.csv")
    texts = [archive.read(i).decode("gbk") for i in infos]
    lines = next(t for t in texts if t.startswith("#支付宝业务明细查询")).splitlines()
    assert lines[4].startswith("支付宝交易号,商户订单号,业务类型") and "\t," in lines[5]
    assert lines[-1].startswith("#导出时间")

    wechat = WeChatV2(Merchant(gateway.url, sandbox.DEMO_APPID, sandbox.DEMO_MCH_ID,
                               sandbox.DEMO_API_KEY))  # fmt: skip
    wechat_sale(settings, cashier_1001, wechat, gateway)
    body = {"appid": sandbox.DEMO_APPID, "mch_id": sandbox.DEMO_MCH_ID, "nonce_str": "n",
            "sign_type": "HMAC-SHA256", "bill_date": f"{date.today():%Y%m%d}",
            "bill_type": "ALL"}  # fmt: skip
    body["sign"] = wechat_v2.sign(body, sandbox.DEMO_API_KEY)
    text = wire.post(gateway.url, "/pay/downloadbill", wechat_v2.to_xml(body), 2, 2,
                     content_type="text/xml").decode()  # fmt: skip
    rows = text.splitlines()
    assert rows[1].startswith("`") and rows[-2].startswith("总交易单数") and rows[-1][0] == "`"


def test_planted_mismatches_of_each_kind_are_found(
    station, settings, cashier_1001, wechat, gateway
):
    """Charged there and not here; here and not there; an amount that differs; a refund on
    one side only: each found and listed, with the sale to drill into."""
    import time as _time
    from datetime import date

    from cashier.services.payment_bills import reconcile

    sales = [wechat_sale(settings, cashier_1001, wechat, gateway) for _ in range(3)]
    outs = [PaymentCharge.get(PaymentCharge.sale == s.id).out_trade_no for s in sales]
    ledger = gateway.ledger
    # 1. charged there, not here: a trade the counter never heard of
    ledger.open_trade("GHOST0001", wechat.name, "x", 990, "paid", "4200999")
    # 2. here, not there: the provider has no trace of the first sale's charge
    ledger.sql("DELETE FROM trade WHERE out_trade_no = ?", outs[0])
    # 3. the amount differs for the second
    ledger.sql("UPDATE trade SET amount = amount + 1 WHERE out_trade_no = ?", outs[1])
    # 4. a refund at the provider the counter does not know of, for the third
    ledger.sql("INSERT INTO refund VALUES ('R-GHOST', ?, 100, '5030999', ?)", outs[2], _time.time())
    result = reconcile(wechat, date.today())
    kinds = {m.out_trade_no: m.kind for m in result.mismatches}
    assert kinds == {"GHOST0001": "only_there", outs[0]: "only_here", outs[1]: "amount",
                     outs[2]: "refund"}  # fmt: skip
    lines = [m.line for m in result.mismatches]
    assert any(sales[0].receipt_no in line and "本系统有" in line for line in lines)


def test_reconcile_payments_on_the_command_line(settings, tmp_path):
    from datetime import date

    from tests.support.cli import assert_one_line_error, run, run_as_supervisor

    data = tmp_path / "d"
    assert run("operator", "list", data_dir=data).returncode == 0  # the training station
    refused = run("reconcile", "payments", "--date", f"{date.today()}", data_dir=data)
    assert_one_line_error(refused)
    proc = run_as_supervisor("reconcile", "payments", "--date", f"{date.today()}", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    assert "微信支付：对账单 0 笔，本系统 0 笔，不符 0 笔" in proc.stdout
    assert "支付宝：对账单 0 笔，本系统 0 笔，不符 0 笔" in proc.stdout  # both, unless --provider
    one = run_as_supervisor("reconcile", "payments", "--date", f"{date.today()}",
                            "--provider", "alipay", data_dir=data)  # fmt: skip
    assert one.returncode == 0 and "微信" not in one.stdout, one.stderr


def test_a_v3_merchant_is_configured_with_its_files(gateway, tmp_path):
    """[wechat] api = "v3": the API key file, the certificate serial and the APIv3 key make a
    v3 client that passes the check; a missing one is named; a key file others can read is
    warned about. A training station on v3 charges the sandbox's v3 gateway."""
    import os

    from cashier.config import config_warnings, settings_from_dict
    from cashier.errors import CashierError
    from cashier.services.station import connect_payments

    keys = gateway.wechat_v3_keys
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_bytes(keys.merchant_private)
    os.chmod(key_file, 0o600)
    wechat = {"api": "v3", "url": gateway.url, "appid": sandbox.DEMO_APPID,
              "mch_id": sandbox.DEMO_MCH_ID, "apiclient_key_file": str(key_file),
              "cert_serial_no": keys.merchant_serial, "api_v3_key": DEMO_API_V3_KEY}  # fmt: skip
    settings = settings_from_dict({"training": False, "wechat": wechat}, data_dir=tmp_path / "d")
    connection = connect_payments(settings)
    try:
        provider = connection.provider("wechat")
        assert isinstance(provider, WeChatV3) and payments.check(provider).ok
    finally:
        connection.close()
    assert config_warnings(settings) == ()
    os.chmod(key_file, 0o644)
    (warning,) = config_warnings(settings)
    assert str(key_file) in warning and "chmod 600" in warning
    no_v3_key = {k: v for k, v in wechat.items() if k != "api_v3_key"}
    with pytest.raises(CashierError, match="api_v3_key"):
        connect_payments(settings_from_dict({"training": False, "wechat": no_v3_key},
                                            data_dir=tmp_path / "d"))  # fmt: skip
    training = settings_from_dict({"wechat": {"api": "v3"}}, data_dir=tmp_path / "t")
    connection = connect_payments(training)
    try:
        provider = connection.provider("wechat")
        assert isinstance(provider, WeChatV3) and payments.check(provider).ok
    finally:
        connection.close()


def test_a_service_provider_charges_for_its_sub_merchant(station, gateway):
    """A 服务商 on v3 calls /v3/pay/partner/… with sp_appid, sp_mchid and sub_mchid; the
    order is then queried, reversed and refunded under the sub-merchant."""
    partner = v3_merchant(gateway, sub_mchid="1900000201")
    charged = pay(partner, gateway, "pay")
    assert partner.query(charged.out_trade_no).outcome is Outcome.PAID
    assert partner.refund(charged.out_trade_no, "R1", DUE, Fen(100)).accepted
    assert partner.refund_query(charged.out_trade_no, "R1").done


def test_a_charge_of_another_amount_is_given_back(station, wechat, gateway):
    """The provider says it took another amount than asked: the charge is reversed and the
    cashier told so; when the reverse cannot be confirmed, it is said to be in doubt (never
    "已撤销"), and the journal keeps it for the next start."""
    from cashier.payments import InDoubt

    class Off:
        def __init__(self, real, reverse_works=True):
            self.real, self.name, self.reverse_works = real, real.name, reverse_works

        def pay(self, *args):
            return replace(self.real.pay(*args), amount=DUE - Fen(1))

        def query(self, out):
            return self.real.query(out)

        def reverse(self, out):
            if not self.reverse_works:
                raise InDoubt("no answer")
            return self.real.reverse(out)

    with pytest.raises(ChargeUndone, match="不符，已撤销"):
        pay(Off(wechat), gateway, "pay")
    assert gateway.ledger.trades()[0].state == "reversed"
    with pytest.raises(ChargeInDoubt, match="撤销未成功"):
        pay(Off(wechat, reverse_works=False), gateway, "pay")
    assert PaymentCharge.get(PaymentCharge.state != "reversed").state == "in_doubt"


def test_payment_failures_carry_codes_that_the_check_switches_on(gateway, wechat):
    """Issue 19, item 13: what went wrong with a provider is a code, never the words."""
    from cashier.payments import InDoubt, NotSent

    with pytest.raises(NotSent) as away:
        with_url(wechat, "http://127.0.0.1:1").query("X1")
    assert away.value.code == "payment.no_network"
    if isinstance(wechat, WeChatV2):
        with pytest.raises(InDoubt) as wrong:
            WeChatV2(replace(wechat.m, api_key="0" * 32)).query("X1")
        assert wrong.value.code == "payment.bad_signature"
        with pytest.raises(InDoubt) as other:
            WeChatV2(replace(wechat.m, mch_id="1900000000")).query("X1")
        assert other.value.code == "payment.wrong_merchant"
        assert (
            "商户号与 appid 不匹配"
            in payments.check(WeChatV2(replace(wechat.m, mch_id="1"))).message
        )
