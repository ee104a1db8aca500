"""WeChat Pay 付款码支付, API v3: ``/v3/pay/transactions/codepay`` and its order, reverse,
refund and bill calls, for a direct merchant or a 服务商 (``/v3/pay/partner/…``,
``sp_mchid`` / ``sub_mchid``).

JSON both ways. Every request carries an ``Authorization`` header
``WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…``: an
RSA-SHA256 signature of ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` with the
merchant's API private key. Every answer, a refusal as much as a success, is believed only
when its ``Wechatpay-Signature`` verifies over ``TIMESTAMP\\nNONCE\\nBODY\\n`` with the key of
the platform certificate its ``Wechatpay-Serial`` names, and its timestamp is within five
minutes. Platform certificates come from ``/v3/certificates``, AES-256-GCM encrypted under
the merchant's APIv3 key; they are fetched when first needed and again when an answer names
a serial not yet known (WeChat Pay rotates them). A pinned certificate file may be given.

Refusals are HTTP 4xx/5xx with ``{"code": …, "message": …}``; ``USERPAYING`` comes with 202.
The codes are spelt v3's way (``SYSTEM_ERROR``, ``ORDER_NOT_EXIST`` …) and read through the
v2 table, so one code means one outcome and one message whichever API a merchant uses.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date

from cashier.domain.money import Fen
from cashier.messages import say
from cashier.payments import Answer, InDoubt, NotSent, Outcome, RefundAnswer, Reversal
from cashier.payments.bills import BillRow, wechat_rows
from cashier.payments.wechat_v2 import PAY_CODES, TRADE_STATES
from cashier.payments.wire import Reply, request

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
#: How far an answer's timestamp may be from the counter's clock (WeChat Pay's own advice).
SKEW_S = 300


def _plain(code: str) -> str:
    return code.replace("_", "").upper()


#: v3's refusal codes, read through v2's table (NOT_ENOUGH → NOTENOUGH …).
_PAY = {_plain(code): outcome for code, outcome in PAY_CODES.items()}


def signing_text(method: str, target: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method}\n{target}\n{timestamp}\n{nonce}\n{body}\n"


def answer_text(timestamp: str, nonce: str, body: str) -> str:
    return f"{timestamp}\n{nonce}\n{body}\n"


@functools.lru_cache(maxsize=8)
def _private_key(pem: bytes):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def rsa_sign(text: str, private_pem: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = _private_key(private_pem).sign(
        text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode("ascii")


def rsa_verify(text: str, signature: str, public_key) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(
            base64.b64decode(signature), text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def authorization(
    mchid: str, serial_no: str, private_pem: bytes, method: str, target: str, body: str
) -> str:
    nonce, timestamp = secrets.token_hex(16), str(int(time.time()))
    signature = rsa_sign(signing_text(method, target, timestamp, nonce, body), private_pem)
    return (
        f'{SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def decrypt_resource(api_v3_key: str, resource: dict) -> bytes:
    """An ``encrypt_certificate`` (or any AEAD_AES_256_GCM resource) opened with the APIv3
    key; ValueError when it does not open (a wrong key, a tampered certificate)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(api_v3_key.encode()).decrypt(
            str(resource["nonce"]).encode(),
            base64.b64decode(resource["ciphertext"]),
            str(resource.get("associated_data", "")).encode() or None,
        )
    except (InvalidTag, KeyError, ValueError) as exc:
        raise ValueError(say("pay.wechat_v3.cert_undecryptable", name=type(exc).__name__)) from None


@dataclass(frozen=True)
class MerchantV3:
    url: str  # https://api.mch.weixin.qq.com, or the sandbox
    appid: str  # a 服务商's own (sp_appid) when sub_mchid is set
    mchid: str  # a 服务商's own (sp_mchid) when sub_mchid is set
    serial_no: str  # the merchant API certificate's serial number
    private_key: bytes  # apiclient_key.pem
    api_v3_key: str  # 32 characters (商户平台 → API安全 → APIv3密钥)
    sub_mchid: str = ""
    sub_appid: str = ""
    platform_cert: bytes = b""  # a pinned platform certificate (PEM), optional
    connect_timeout: float = 3.0
    read_timeout: float = 10.0


@dataclass
class _Certificates:
    keys: dict[str, object] = field(default_factory=dict)  # serial → public key
    lock: threading.Lock = field(default_factory=threading.Lock)


class WeChatV3:
    """One merchant's v3 client."""

    name = "wechat"

    def __init__(self, merchant: MerchantV3) -> None:
        self.m = merchant
        self._certs = _Certificates()
        if merchant.platform_cert:
            serial, key = _load_cert(merchant.platform_cert)
            self._certs.keys[serial] = key

    @property
    def partner(self) -> bool:
        return bool(self.m.sub_mchid)

    # -- the calls -----------------------------------------------------------------------
    def pay(self, out_trade_no: str, auth_code: str, amount: Fen, description: str) -> Answer:
        body = {
            **self._who(),
            "description": description[:40],
            "out_trade_no": out_trade_no,
            "payer": {"auth_code": auth_code.strip()},
            "amount": {"total": amount.fen, "currency": "CNY"},
            "scene_info": {"device_id": out_trade_no[:10]},
        }
        path = (
            "/v3/pay/partner/transactions/codepay"
            if self.partner
            else "/v3/pay/transactions/codepay"
        )
        status, a = self._call("POST", path, body)
        if status == 200 and a.get("trade_state") == "SUCCESS":
            return self._paid(a)
        if status == 200:
            return self._state(a)
        code = str(a.get("code", ""))
        outcome, message = _PAY.get(_plain(code), (Outcome.REFUSED, ""))
        if status >= 500 and outcome is Outcome.REFUSED:
            outcome = Outcome.UNKNOWN  # a server error of a code we do not know: ask again
        return Answer(outcome, code, message or _said(a, say("pay.wechat_v3.said", code=code)))

    def query(self, out_trade_no: str) -> Answer:
        status, a = self._call("GET", self._order_path(out_trade_no), None)
        if status == 404 or _plain(str(a.get("code", ""))) == "ORDERNOTEXIST":
            return Answer(Outcome.NOT_FOUND, "ORDER_NOT_EXIST", say("pay.wechat_v3.no_order"))
        if status != 200:
            return Answer(
                Outcome.UNKNOWN,
                str(a.get("code", "")),
                _said(a, say("pay.wechat_v3.query_failed_short")),
            )
        return self._state(a)

    def reverse(self, out_trade_no: str) -> Reversal:
        quoted = urllib.parse.quote(out_trade_no, safe="")
        base = "/v3/pay/partner/transactions" if self.partner else "/v3/pay/transactions"
        status, a = self._call("POST", f"{base}/out-trade-no/{quoted}/reverse", self._who())
        if status in (200, 204):
            return Reversal(done=True, retry=bool(a.get("recall")) and a.get("recall") != "N")
        code = _plain(str(a.get("code", "")))
        if code == "REVERSEEXPIRE":
            return Reversal(done=False, too_late=True, message=say("pay.wechat_v3.too_late"))
        if code == "ORDERNOTEXIST":
            return Reversal(done=True)
        return Reversal(done=False, retry=True, message=_said(a, code))

    def refund(
        self, out_trade_no: str, out_refund_no: str, total: Fen, amount: Fen
    ) -> RefundAnswer:
        body = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": amount.fen, "total": total.fen, "currency": "CNY"},
        }
        if self.partner:
            body["sub_mchid"] = self.m.sub_mchid
        status, a = self._call("POST", "/v3/refund/domestic/refunds", body)
        if status == 200:
            state = str(a.get("status", ""))
            if state in ("SUCCESS", "PROCESSING"):
                return RefundAnswer(
                    accepted=True,
                    done=state == "SUCCESS",
                    message=say("pay.wechat_v3.refund_accepted"),
                )
            return RefundAnswer(
                accepted=False, message=say("pay.wechat_v3.refund_state", value=state or "失败")
            )
        code = _plain(str(a.get("code", "")))
        if status >= 500 or code in ("SYSTEMERROR", "FREQUENCYLIMITED"):
            raise InDoubt(say("pay.wechat_v3.refund_unknown", a=a.get("code")))
        return RefundAnswer(accepted=False, message=_said(a, code))

    def refund_query(self, out_trade_no: str, out_refund_no: str) -> RefundAnswer:
        target = f"/v3/refund/domestic/refunds/{urllib.parse.quote(out_refund_no, safe='')}"
        if self.partner:
            target += f"?sub_mchid={self.m.sub_mchid}"
        status, a = self._call("GET", target, None)
        if status == 404:
            return RefundAnswer(accepted=False, message=say("pay.wechat_v3.no_refund"))
        if status != 200:
            raise InDoubt(say("pay.wechat_v3.refund_query_failed", a=a.get("code")))
        state = str(a.get("status", ""))
        if state in ("SUCCESS", "PROCESSING"):
            return RefundAnswer(accepted=True, done=state == "SUCCESS", message=state)
        return RefundAnswer(
            accepted=False, message=say("pay.wechat_v3.refund_state", value=state or "失败")
        )

    def bill(self, day: date) -> list[BillRow]:
        """``/v3/bill/tradebill``: a download address and the file's SHA1, then the file (the
        same back-ticked CSV as v2's), its hash checked."""
        query = f"bill_date={day.isoformat()}&bill_type=ALL"
        if self.partner:
            query += f"&sub_mchid={self.m.sub_mchid}"
        status, a = self._call("GET", f"/v3/bill/tradebill?{query}", None)
        if status == 404 or _plain(str(a.get("code", ""))) == "NOSTATEMENTEXIST":
            return []
        if status != 200:
            raise InDoubt(
                say("pay.wechat_v3.bill_failed", value=_said(a, say("pay.wechat_v3.unknown")))
            )
        url = str(a.get("download_url", ""))
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http"):
            raise InDoubt(say("pay.wechat_v3.no_bill_url"))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        auth = authorization(self.m.mchid, self.m.serial_no, self.m.private_key, "GET", target, "")
        reply = request(
            f"{parts.scheme}://{parts.netloc}", "GET", target, None,
            {"Authorization": auth, "Accept": "application/json"},
            self.m.connect_timeout, self.m.read_timeout * 3, what="file",
        )  # fmt: skip
        if reply.status != 200:
            raise InDoubt(say("pay.wechat_v3.bill_http", status=reply.status))
        if a.get("hash_type", "SHA1") == "SHA1" and a.get("hash_value"):
            if hashlib.sha1(reply.body).hexdigest() != str(a["hash_value"]).lower():
                raise InDoubt(say("pay.wechat_v3.bill_digest"))
        return wechat_rows(reply.body.decode("utf-8", "replace"))

    # -- the wire --------------------------------------------------------------------------
    def _who(self) -> dict:
        m = self.m
        if self.partner:
            who = {"sp_appid": m.appid, "sp_mchid": m.mchid, "sub_mchid": m.sub_mchid}
            if m.sub_appid:
                who["sub_appid"] = m.sub_appid
            return who
        return {"appid": m.appid, "mchid": m.mchid}

    def _order_path(self, out_trade_no: str) -> str:
        quoted = urllib.parse.quote(out_trade_no, safe="")
        if self.partner:
            return (
                f"/v3/pay/partner/transactions/out-trade-no/{quoted}"
                f"?sp_mchid={self.m.mchid}&sub_mchid={self.m.sub_mchid}"
            )
        return f"/v3/pay/transactions/out-trade-no/{quoted}?mchid={self.m.mchid}"

    def _state(self, a: dict) -> Answer:
        state = str(a.get("trade_state", ""))
        outcome = TRADE_STATES.get(state, Outcome.UNKNOWN)
        if outcome is Outcome.PAID:
            return self._paid(a, code=state)
        return Answer(outcome, state, str(a.get("trade_state_desc") or state)[:100])

    def _paid(self, a: dict, code: str = "SUCCESS") -> Answer:
        total = (a.get("amount") or {}).get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise InDoubt(say("pay.wechat_v3.no_amount"))
        return Answer(
            Outcome.PAID,
            code,
            say("pay.wechat_v3.paid"),
            str(a.get("transaction_id", "")),
            Fen(total),
        )

    def _call(self, method: str, target: str, body: dict | None) -> tuple[int, dict]:
        m = self.m
        with self._certs.lock:
            known = bool(self._certs.keys)
        if not known:  # before anything is sent: with no certificate no answer is believed
            try:
                self._fetch_certificates()
            except InDoubt as exc:
                raise NotSent(say("pay.wechat_v3.not_sent", exc=exc), code=exc.code) from None
        text = (
            json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        )
        headers = {
            "Authorization": authorization(
                m.mchid, m.serial_no, m.private_key, method, target, text
            ),
            "Accept": "application/json",
            "User-Agent": "cashier (WeChatPay APIv3)",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        reply = request(
            m.url, method, target, text.encode() if body is not None else None, headers,
            m.connect_timeout, m.read_timeout,
        )  # fmt: skip
        self._verify(reply)
        if not reply.body:
            return reply.status, {}
        try:
            answer = json.loads(reply.body)
        except ValueError:
            raise InDoubt(say("pay.wechat_v3.unreadable")) from None
        if not isinstance(answer, dict):
            raise InDoubt(say("pay.wechat_v3.unreadable"))
        return reply.status, answer

    def _verify(self, reply: Reply) -> None:
        """Nothing unsigned is believed, a refusal no more than a success."""
        h = reply.headers
        signature, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        timestamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        if not (signature and serial and timestamp and nonce):
            raise InDoubt(
                say("pay.wechat_v3.unsigned", status=reply.status),
                code="payment.bad_signature",
            )
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise InDoubt(say("pay.wechat_v3.bad_timestamp")) from None
        if skew > SKEW_S:
            raise InDoubt(
                say("pay.wechat_v3.clock_skew", skew=int(skew)),
                code="payment.clock",
            )
        key = self._platform_key(serial)
        text = answer_text(timestamp, nonce, reply.body.decode("utf-8", "replace"))
        if key is None or not rsa_verify(text, signature, key):
            raise InDoubt(say("pay.wechat_v3.bad_signature"), code="payment.bad_signature")

    def _platform_key(self, serial: str):
        with self._certs.lock:
            key = self._certs.keys.get(serial)
        if key is None:
            try:
                self._fetch_certificates()
            except NotSent as exc:  # an answer in hand, its certificate out of reach
                raise InDoubt(str(exc), code=exc.code) from None
            with self._certs.lock:
                key = self._certs.keys.get(serial)
        return key

    def _fetch_certificates(self) -> None:
        """``/v3/certificates``: each certificate opened with the APIv3 key; the answer is
        then verified with the certificate it names (the key proves they are WeChat Pay's)."""
        m = self.m
        target = "/v3/certificates"
        auth = authorization(m.mchid, m.serial_no, m.private_key, "GET", target, "")
        reply = request(m.url, "GET", target, None,
                        {"Authorization": auth, "Accept": "application/json"},
                        m.connect_timeout, m.read_timeout, what="certificates")  # fmt: skip
        if reply.status == 401:
            raise InDoubt(
                say("pay.wechat_v3.signature_refused"),
                code="payment.bad_signature",
            )
        if reply.status != 200:
            raise InDoubt(say("pay.wechat_v3.certs_http", status=reply.status))
        found = {}
        try:
            for item in json.loads(reply.body).get("data", []):
                pem = decrypt_resource(m.api_v3_key, item["encrypt_certificate"])
                serial, key = _load_cert(pem)
                found[serial] = key
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InDoubt(
                say("pay.wechat_v3.certs_unreadable", exc=exc), code="payment.bad_key"
            ) from None
        h = reply.headers
        key = found.get(h.get("wechatpay-serial", ""))
        text = answer_text(h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", ""),
                           reply.body.decode("utf-8", "replace"))  # fmt: skip
        if key is None or not rsa_verify(text, h.get("wechatpay-signature", ""), key):
            raise InDoubt(say("pay.wechat_v3.certs_bad_signature"), code="payment.bad_signature")
        with self._certs.lock:
            self._certs.keys.update(found)


def _load_cert(pem: bytes) -> tuple[str, object]:
    """A platform certificate's serial (upper-case hex, as WeChat Pay writes it) and key."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem)
    return f"{cert.serial_number:X}", cert.public_key()


def _said(a: dict, fallback: str) -> str:
    return str(a.get("message") or "").strip()[:100] or fallback
