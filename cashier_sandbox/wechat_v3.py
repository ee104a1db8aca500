"""The payment sandbox's WeChat Pay API v3: ``/v3/pay/transactions/codepay`` (and the
服务商's ``/v3/pay/partner/…``), the order query by ``out-trade-no``, ``…/reverse``,
``/v3/refund/domestic/refunds``, ``/v3/bill/tradebill`` and ``/v3/certificates``.

Every request's ``Authorization`` is checked against the sandbox merchant's API certificate
(``SIGN_ERROR`` otherwise); every answer, refusals included, is signed with the sandbox
platform key and names its certificate's serial in ``Wechatpay-Serial``; the certificate
itself is served AES-256-GCM encrypted under the merchant's APIv3 key, as WeChat Pay does.
What happens to an order is the v2 gateway's (the same ledger, the same scenarios): v3
only speaks it differently — JSON, HTTP status codes, codes spelt ``SYSTEM_ERROR``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from cashier.payments import wechat_v3
from cashier_sandbox.keys import rsa_private_key

#: The sandbox merchant's APIv3 key (a real merchant sets its own in 商户平台).
DEMO_API_V3_KEY = "sandboxv3sandboxv3sandboxv3key01"
CHINA = timezone(timedelta(hours=8))

#: v2 err_code → (HTTP status, v3 code)
_STATUS = {
    "USERPAYING": (202, "USERPAYING"),
    "SYSTEMERROR": (500, "SYSTEM_ERROR"),
    "BANKERROR": (500, "BANK_ERROR"),
    "NOTENOUGH": (403, "NOT_ENOUGH"),
    "AUTHCODEEXPIRE": (403, "AUTH_CODE_EXPIRE"),
    "AUTH_CODE_INVALID": (400, "AUTH_CODE_INVALID"),
    "ORDERPAID": (403, "ORDER_PAID"),
    "ORDERREVERSED": (403, "ORDER_REVERSED"),
    "REVERSE_EXPIRE": (403, "REVERSE_EXPIRE"),
    "ORDERNOTEXIST": (404, "ORDER_NOT_EXIST"),
    "REFUNDNOTEXIST": (404, "RESOURCE_NOT_EXISTS"),
    "TRADE_STATE_ERROR": (403, "TRADE_STATE_ERROR"),
    "PARAM_ERROR": (400, "PARAM_ERROR"),
}


@dataclass(frozen=True)
class V3Keys:
    """The sandbox merchant's API key and certificate serial, and the sandbox platform's key
    and certificate (PEM), made once per data directory."""

    merchant_private: bytes
    merchant_serial: str
    merchant_public: object
    platform_private: bytes
    platform_cert: bytes
    platform_serial: str


def v3_keys(folder: Path) -> V3Keys:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    made = {}
    for who in ("merchant", "platform"):
        key_path, cert_path = folder / f"wechat-{who}-key.pem", folder / f"wechat-{who}-cert.pem"
        if not cert_path.exists():
            key = rsa_private_key(key_path)
            name = x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cashier payment sandbox"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"WeChat Pay sandbox {who}"),
            ])  # fmt: skip
            now = datetime.now(UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=5 * 365))
                .sign(key, hashes.SHA256())
            )
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        cert_pem = cert_path.read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        made[who] = (key_path.read_bytes(), cert_pem, f"{cert.serial_number:X}", cert.public_key())
    return V3Keys(
        merchant_private=made["merchant"][0],
        merchant_serial=made["merchant"][2],
        merchant_public=made["merchant"][3],
        platform_private=made["platform"][0],
        platform_cert=made["platform"][1],
        platform_serial=made["platform"][2],
    )


class WeChatV3Gateway:
    """api.mch.weixin.qq.com's v3 付款码 calls for the sandbox merchant, over the v2
    gateway's ledger (``v2``: a ``WeChatV2Gateway``)."""

    def __init__(self, v2, folder: Path, mchid: str, appid: str, base_url: str = "") -> None:
        self.v2 = v2
        self.folder = folder
        self.mchid, self.appid = mchid, appid
        self.base_url = base_url
        self._keys: V3Keys | None = None
        self._files: dict[str, tuple[bytes, float]] = {}

    @property
    def keys(self) -> V3Keys:
        if self._keys is None:  # made when first needed: a v2 station never pays for them
            self._keys = v3_keys(self.folder)
        return self._keys

    # -- the exchange ---------------------------------------------------------------------
    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        """(status, headers, body) of the answer; raises the ledger's ``Dropped``."""
        path, _, query = target.partition("?")
        if path == "/v3/billdownload/file":  # the file itself: its hash was signed already
            return self._bill_file(query)
        status, answer = self._route(method, target, headers, body)
        text = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
        return status, self._signed(text), text

    def _route(self, method, target, headers, body) -> tuple[int, dict | None]:
        if not self._authorized(method, target, headers.get("Authorization", ""), body):
            return 401, {"code": "SIGN_ERROR", "message": "签名错误，请检查后再试"}
        path, _, query = target.partition("?")
        args = dict(urllib.parse.parse_qsl(query))
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return 400, {"code": "PARAM_ERROR", "message": "请求体不是 JSON"}
        if method == "GET" and path == "/v3/certificates":
            return 200, self._certificates()
        if method == "POST" and path in (
            "/v3/pay/transactions/codepay",
            "/v3/pay/partner/transactions/codepay",
        ):
            return self._pay(req, partner="/partner/" in path)
        order = re.fullmatch(
            r"/v3/pay(/partner)?/transactions/out-trade-no/([^/]+)(/reverse)?", path
        )
        if order:
            out = urllib.parse.unquote(order.group(2))
            mchid = (
                args.get("sp_mchid") or args.get("mchid") or req.get("sp_mchid") or req.get("mchid")
            )
            if mchid != self.mchid:
                return 400, {"code": "MCH_NOT_EXISTS", "message": "商户号不存在"}
            if method == "POST" and order.group(3):
                return self._v2_answer(self.v2._reverse({"out_trade_no": out}), lambda a: (200, {}))
            if method == "GET" and not order.group(3):
                return self._v2_answer(self.v2._query({"out_trade_no": out}), self._trade)
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(req)
        refund = re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path)
        if method == "GET" and refund:
            no = urllib.parse.unquote(refund.group(1))
            return self._v2_answer(
                self.v2._refund_query({"out_refund_no": no}),
                lambda a: (200, {"out_refund_no": no, "refund_id": a.get("refund_id_0", ""),
                                 "status": a.get("refund_status_0", ""),
                                 "amount": {"refund": int(a.get("refund_fee_0", 0))}}),
            )  # fmt: skip
        if method == "GET" and path == "/v3/bill/tradebill":
            return self._tradebill(args)
        return 404, {"code": "NOT_FOUND", "message": "接口不存在"}

    # -- the calls --------------------------------------------------------------------------
    def _pay(self, req: dict, *, partner: bool) -> tuple[int, dict]:
        mchid = req.get("sp_mchid") if partner else req.get("mchid")
        appid = req.get("sp_appid") if partner else req.get("appid")
        if mchid != self.mchid or appid != self.appid:
            return 400, {"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"}
        if partner and not req.get("sub_mchid"):
            return 400, {"code": "PARAM_ERROR", "message": "缺少参数 sub_mchid"}
        amount = req.get("amount") or {}
        total = amount.get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            return 400, {"code": "PARAM_ERROR", "message": "amount.total 应为正整数（分）"}
        v2_req = {
            "auth_code": str((req.get("payer") or {}).get("auth_code", "")),
            "out_trade_no": str(req.get("out_trade_no", "")),
            "total_fee": str(total),
        }
        return self._v2_answer(self.v2._pay(v2_req), self._trade)

    def _refund(self, req: dict) -> tuple[int, dict]:
        amount = req.get("amount") or {}
        v2_req = {
            "out_trade_no": str(req.get("out_trade_no", "")),
            "out_refund_no": str(req.get("out_refund_no", "")),
            "total_fee": str(amount.get("total", "")),
            "refund_fee": str(amount.get("refund", "")),
        }

        def done(a: dict) -> tuple[int, dict]:
            return 200, {
                "refund_id": a.get("refund_id", ""),
                "out_refund_no": v2_req["out_refund_no"],
                "out_trade_no": v2_req["out_trade_no"],
                "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱",
                "status": "SUCCESS",
                "create_time": datetime.now(CHINA).isoformat(timespec="seconds"),
                "amount": {"refund": int(v2_req["refund_fee"]), "total": int(v2_req["total_fee"]),
                           "payer_refund": int(v2_req["refund_fee"]), "currency": "CNY"},
            }  # fmt: skip

        return self._v2_answer(self.v2._refund(v2_req), done)

    def _tradebill(self, args: dict) -> tuple[int, dict]:
        day = args.get("bill_date", "")
        try:
            compact = datetime.strptime(day, "%Y-%m-%d").strftime("%Y%m%d")
        except ValueError:
            return 400, {"code": "PARAM_ERROR", "message": "bill_date 格式应为 yyyy-MM-DD"}
        text = self.v2.bill_text(compact)
        if text is None:
            return 400, {"code": "NO_STATEMENT_EXIST", "message": "账单文件不存在"}
        token = secrets.token_urlsafe(16)
        self._files[token] = (text, time.time())
        return 200, {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(text).hexdigest(),  # SHA1: WeChat Pay's choice
            "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
        }

    def _bill_file(self, query: str) -> tuple[int, dict, bytes]:
        token = dict(urllib.parse.parse_qsl(query)).get("token", "")
        text, made = self._files.get(token, (b"", 0.0))
        if not text or time.time() - made > 30:
            body = json.dumps({"code": "RESOURCE_NOT_EXISTS", "message": "下载地址已过期"}).encode()
            return 404, self._signed(body), body
        return 200, {"Content-Type": "application/octet-stream"}, text

    def _certificates(self) -> dict:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_hex(6)
        sealed = AESGCM(DEMO_API_V3_KEY.encode()).encrypt(
            nonce.encode(), self.keys.platform_cert, b"certificate"
        )
        now = datetime.now(CHINA)
        return {"data": [{
            "serial_no": self.keys.platform_serial,
            "effective_time": (now - timedelta(days=1)).isoformat(timespec="seconds"),
            "expire_time": (now + timedelta(days=5 * 365)).isoformat(timespec="seconds"),
            "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                                    "associated_data": "certificate",
                                    "ciphertext": base64.b64encode(sealed).decode()},
        }]}  # fmt: skip

    # -- how v3 says it ---------------------------------------------------------------------
    def _v2_answer(self, a: dict, success) -> tuple[int, dict]:
        if a.get("result_code") == "SUCCESS":
            return success(a)
        status, code = _STATUS.get(
            a.get("err_code", ""), (400, a.get("err_code", "INVALID_REQUEST"))
        )
        return status, {"code": code, "message": a.get("err_code_des", "")}

    def _trade(self, a: dict) -> tuple[int, dict]:
        state = a.get("trade_state", "SUCCESS")
        body = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": a.get("out_trade_no", ""),
            "trade_state": state,
            "trade_state_desc": {"SUCCESS": "支付成功", "USERPAYING": "用户支付中"}.get(
                state, state
            ),
        }
        if state in ("SUCCESS", "REFUND"):
            total = int(a.get("total_fee", 0))
            body |= {
                "transaction_id": a.get("transaction_id", ""),
                "trade_type": "MICROPAY",
                "bank_type": "OTHERS",
                "success_time": datetime.now(CHINA).isoformat(timespec="seconds"),
                "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                "amount": {"total": total, "payer_total": total, "currency": "CNY",
                           "payer_currency": "CNY"},
            }  # fmt: skip
        return 200, body

    def _signed(self, body: bytes) -> dict:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        text = wechat_v3.answer_text(timestamp, nonce, body.decode("utf-8"))
        return {
            "Content-Type": "application/json",
            "Request-ID": secrets.token_hex(16),
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.keys.platform_serial,
            "Wechatpay-Signature": wechat_v3.rsa_sign(text, self.keys.platform_private),
        }

    def _authorized(self, method: str, target: str, header: str, body: bytes) -> bool:
        schema, _, rest = header.partition(" ")
        if schema != wechat_v3.SCHEMA:
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if (
            fields.get("mchid") != self.mchid
            or fields.get("serial_no") != self.keys.merchant_serial
        ):
            return False
        try:
            if abs(time.time() - int(fields.get("timestamp", ""))) > wechat_v3.SKEW_S:
                return False
        except ValueError:
            return False
        text = wechat_v3.signing_text(method, target, fields["timestamp"],
                                      fields.get("nonce_str", ""), body.decode("utf-8", "replace"))  # fmt: skip
        return wechat_v3.rsa_verify(text, fields.get("signature", ""), self.keys.merchant_public)
