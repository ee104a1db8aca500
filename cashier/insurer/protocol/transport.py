"""Gateway authentication: the TIF headers in front of callService."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from cashier.insurer.protocol.codes import TIF_HEADERS


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
