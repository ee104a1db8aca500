"""Transport profiles: how a province's gateway wants the message carried.

- ``tif``: the TIF headers (``x-tif-*``, SHA-256) in front of ``…/callService``;
- ``xca``: an API gateway with a URL per service, ``x-ca-key`` / ``x-ca-signature``
  (HMAC-SM3 over the request's method, headers and path);
- ``sm4``: ``input`` and ``output`` encrypted with SM4 and every message signed with SM2
  in ``cainfo`` (``signtype`` SM2, ``enctype`` SM4).

Pure message work: the client (:mod:`cashier.insurer.client`) and the sandbox use the same
functions, each from its own side. SM2 and SM4 are gmssl's, HMAC-SM3 is OpenSSL's through
``cryptography``: nothing here is hand-written cryptography.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cashier.insurer.protocol.codes import TIF_HEADERS
from cashier.insurer.protocol.errors import ProtocolError, _bad_request, _bad_setting, _unreadable
from cashier.insurer.protocol.jsonio import dumps, loads
from cashier.messages import say


def tif_signature(timestamp: str, secret: str, nonce: str) -> str:
    """``hex(sha256(timestamp + secret + nonce + timestamp))``, lower case."""
    text = f"{timestamp}{secret}{nonce}{timestamp}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tif_headers(paasid: str, secret: str, *, now: int, nonce: str) -> dict[str, str]:
    """The TIF authentication headers for a request sent at unix time ``now``."""
    if not nonce:
        raise ValueError("nonce must not be empty")
    timestamp = str(int(now))
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(timestamp, secret, nonce),
    }


def check_tif(
    headers: Mapping[str, str], paasid: str, secret: str, *, now: int, max_skew: int = 300
) -> str | None:
    """``None`` when the TIF headers are right, else the reason (Chinese, for the operator).

    Header names are matched case-insensitively. An empty ``paasid`` accepts any.
    """
    got = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    for name in TIF_HEADERS:
        if not got.get(name):
            return f"网关认证失败：缺少请求头 {name}"
    if paasid and got["x-tif-paasid"] != paasid:
        return "网关认证失败：x-tif-paasid 不符，请检查医保接口设置"
    timestamp = got["x-tif-timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "网关认证失败：x-tif-timestamp 不是 unix 秒数"
    skew = abs(int(now) - int(timestamp))
    if skew > max_skew:
        return (
            f"网关认证失败：请求时间与医保平台相差 {skew} 秒（超过 {max_skew} 秒），"
            "请校准收银机时间后重试"
        )
    expected = tif_signature(timestamp, secret, got["x-tif-nonce"])
    if not hmac.compare_digest(got["x-tif-signature"].lower(), expected):
        return "网关认证失败：x-tif-signature 签名不正确，请检查医保接口密钥设置"
    return None


# -- xca: an API gateway in front of each service, HMAC-SM3 signed ---------------------------------
#: The headers the ``x-ca-signature`` covers, in the order they are signed.
XCA_SIGNED_HEADERS = ("x-ca-key", "x-ca-nonce", "x-ca-timestamp")
XCA_SIGNATURE_METHOD = "HmacSM3"


def xca_string_to_sign(method: str, path: str, headers: Mapping[str, str]) -> str:
    """What ``x-ca-signature`` signs: the method, ``accept``, ``content-md5``,
    ``content-type`` and ``date`` lines (empty when absent), the signed ``x-ca-*`` headers as
    ``name:value`` lines, then the path (with its query, if any), as API gateways sign."""
    got = {str(k).lower(): str(v) for k, v in headers.items()}
    lines = [method.upper(), *(got.get(h, "") for h in ("accept", "content-md5", "content-type"))]
    lines.append(got.get("date", ""))
    lines.extend(f"{h}:{got.get(h, '')}" for h in XCA_SIGNED_HEADERS)
    return "\n".join(lines) + "\n" + path


def hmac_sm3(secret: str, text: str) -> str:
    """Base64 of HMAC-SM3 (OpenSSL's, through ``cryptography``: gmssl has no HMAC)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    mac = crypto_hmac.HMAC(secret.encode("utf-8"), hashes.SM3())
    mac.update(text.encode("utf-8"))
    return base64.b64encode(mac.finalize()).decode("ascii")


def xca_headers(
    key: str, secret: str, *, path: str, now_ms: int, nonce: str, content_type: str
) -> dict[str, str]:
    """The gateway's authentication headers for one POST to ``path``."""
    if not nonce:
        raise ValueError("nonce must not be empty")
    headers = {
        "accept": "application/json",
        "content-type": content_type,
        "x-ca-key": key,
        "x-ca-nonce": nonce,
        "x-ca-timestamp": str(int(now_ms)),
        "x-ca-signature-method": XCA_SIGNATURE_METHOD,
        "x-ca-signature-headers": ",".join(XCA_SIGNED_HEADERS),
    }
    headers["x-ca-signature"] = hmac_sm3(secret, xca_string_to_sign("POST", path, headers))
    return headers


def check_xca(
    headers: Mapping[str, str],
    key: str,
    secret: str,
    *,
    path: str,
    now_ms: int,
    max_skew_ms: int = 300_000,
) -> str | None:
    """``None`` when the ``x-ca-*`` headers sign this request, else the reason (Chinese)."""
    got = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    for name in (*XCA_SIGNED_HEADERS, "x-ca-signature"):
        if not got.get(name):
            return f"网关认证失败：缺少请求头 {name}"
    if got["x-ca-key"] != key:
        return "网关认证失败：x-ca-key 不符，请检查医保接口设置"
    stamp = got["x-ca-timestamp"]
    if not (stamp.isascii() and stamp.isdigit()):
        return "网关认证失败：x-ca-timestamp 不是毫秒时间戳"
    skew = abs(int(now_ms) - int(stamp))
    if skew > max_skew_ms:
        return f"网关认证失败：请求时间与医保平台相差 {skew // 1000} 秒，请校准收银机时间后重试"
    expected = hmac_sm3(secret, xca_string_to_sign("POST", path, got))
    if not hmac.compare_digest(got["x-ca-signature"], expected):
        return "网关认证失败：x-ca-signature 签名不正确，请检查医保接口密钥设置"
    return None


# -- sm4: input and output encrypted with SM4, the message signed with SM2 ------------------------
#: The envelope's values for an encrypting province.
SM4_ENCTYPE, SM2_SIGNTYPE = "SM4", "SM2"


@dataclass(frozen=True)
class Sm4Keys:
    """One side's keys: the shared SM4 key, this side's SM2 pair (hex, the public key
    uncompressed without its ``04``) and the other side's SM2 public key."""

    sm4_key: str  # 32 hex characters
    private_key: str  # 64 hex
    public_key: str  # 128 hex
    peer_public_key: str  # 128 hex

    def __post_init__(self) -> None:
        for name, size in (
            ("sm4_key", 32),
            ("private_key", 64),
            ("public_key", 128),
            ("peer_public_key", 128),
        ):
            value = getattr(self, name)
            if len(value) != size or not _is_hex(value):
                raise _bad_setting(
                    say("insurer.transport.bad_key", name=name, size=size, value=len(value))
                )


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def sm4_encrypt(key_hex: str, text: str) -> str:
    """SM4-ECB with PKCS#7 padding (gmssl), as upper-case hex."""
    from gmssl import sm4

    cipher = sm4.CryptSM4()
    cipher.set_key(bytes.fromhex(key_hex), sm4.SM4_ENCRYPT)
    return cipher.crypt_ecb(text.encode("utf-8")).hex().upper()


def sm4_decrypt(key_hex: str, cipher_hex: str) -> str:
    """The plain text of :func:`sm4_encrypt`; :class:`ProtocolError` when it is not."""
    from gmssl import sm4

    try:
        data = bytes.fromhex(cipher_hex)
        if not data or len(data) % 16:
            raise ValueError("not whole SM4 blocks")
        cipher = sm4.CryptSM4()
        cipher.set_key(bytes.fromhex(key_hex), sm4.SM4_DECRYPT)
        return cipher.crypt_ecb(data).decode("utf-8")
    except (ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise _unreadable(
            say("insurer.transport.cannot_decrypt", name=type(exc).__name__)
        ) from None


def sign_text(message: Mapping[str, Any]) -> str:
    """What ``cainfo`` signs: every field but ``cainfo`` with a value, sorted by name, as
    ``name=value`` joined by ``&`` (a node as its JSON, the encrypted input as its hex)."""
    parts = []
    for name in sorted(message):
        value = message[name]
        if name == "cainfo" or value is None or value == "":
            continue
        parts.append(f"{name}={value if isinstance(value, str) else dumps(value)}")
    return "&".join(parts)


def sm2_sign(keys: Sm4Keys, text: str) -> str:
    """SM2 with SM3 and the default user id (gmssl), hex ``r || s``. The nonce ``k`` comes
    from :mod:`secrets`: gmssl's own draws it from :mod:`random`."""
    import secrets

    from gmssl import sm2

    signer = sm2.CryptSM2(private_key=keys.private_key, public_key=keys.public_key)
    return signer.sign_with_sm3(text.encode("utf-8"), secrets.token_hex(32))


def sm2_verify(public_key: str, signature: str, text: str) -> bool:
    from gmssl import sm2

    if len(signature) != 128 or not _is_hex(signature):
        return False
    verifier = sm2.CryptSM2(private_key="", public_key=public_key)
    try:
        return bool(verifier.verify_with_sm3(signature, text.encode("utf-8")))
    except (ValueError, TypeError, ZeroDivisionError):
        return False


def sm2_keypair() -> tuple[str, str]:
    """A fresh SM2 key pair (hex private, hex public without ``04``), for the sandbox and
    tests. gmssl has no public call for it; its point multiplication is used as is."""
    import secrets

    from gmssl import sm2

    n = int(sm2.default_ecc_table["n"], 16)
    private = secrets.randbelow(n - 1) + 1
    private_hex = f"{private:064x}"
    public = sm2.CryptSM2(private_key=private_hex, public_key="")._kg(
        private, sm2.default_ecc_table["g"]
    )
    return private_hex, public


def _seal(message: dict[str, Any], node: str, keys: Sm4Keys) -> dict[str, Any]:
    sealed = dict(message)
    if sealed.get(node) is not None:
        sealed[node] = sm4_encrypt(keys.sm4_key, dumps(sealed[node]))
    sealed["enctype"] = SM4_ENCTYPE
    sealed["signtype"] = SM2_SIGNTYPE
    sealed.pop("cainfo", None)
    sealed["cainfo"] = sm2_sign(keys, sign_text(sealed))
    return sealed


def _open(doc: object, node: str, keys: Sm4Keys, fail) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise fail(say("insurer.transport.not_object"))
    if str(doc.get("signtype") or "").upper() != SM2_SIGNTYPE or not doc.get("cainfo"):
        raise fail(say("insurer.transport.unsigned"))
    if not sm2_verify(keys.peer_public_key, str(doc["cainfo"]), sign_text(doc)):
        raise fail(say("insurer.transport.bad_signature"))
    opened = dict(doc)
    value = opened.get(node)
    if isinstance(value, str) and value:
        try:
            opened[node] = loads(sm4_decrypt(keys.sm4_key, value))
        except ProtocolError as exc:
            raise fail(exc.detail) from None
        except ValueError as exc:
            raise fail(say("insurer.transport.decrypted_not_json", node=node, exc=exc)) from None
    return opened


def seal_request(message: dict[str, Any], keys: Sm4Keys) -> dict[str, Any]:
    """The request with ``input`` encrypted and the whole signed (the counter's side)."""
    return _seal(message, "input", keys)


def open_request(doc: object, keys: Sm4Keys) -> dict[str, Any]:
    """A sealed request, checked and decrypted (the gateway's side)."""
    return _open(doc, "input", keys, _bad_request)


def seal_response(envelope: dict[str, Any], keys: Sm4Keys) -> dict[str, Any]:
    """The answer with ``output`` encrypted and the whole signed (the gateway's side)."""
    return _seal(envelope, "output", keys)


def open_response(doc: object, keys: Sm4Keys) -> dict[str, Any]:
    """A sealed answer, its signature checked and ``output`` decrypted (the counter's side):
    :class:`ProtocolError` when it cannot be, which for a money call means in doubt."""
    return _open(doc, "output", keys, _unreadable)
