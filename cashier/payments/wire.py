"""The thin HTTP layer under the payment providers: explicit connect and read timeouts, and
the line between "never sent" and "in doubt" drawn where the connection is made."""

from __future__ import annotations

import http.client
import urllib.parse

from cashier import faults
from cashier.payments import InDoubt, NotSent

#: The most an answer may be: a day's bill of a busy counter is well under this.
MAX_ANSWER = 32 * 1024 * 1024


def get(url: str, connect_timeout: float, read_timeout: float) -> bytes:
    """GET a whole file (a provider's bill); :class:`NotSent` / :class:`InDoubt` as for POST."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return _exchange(parts, "GET", target, None, {}, connect_timeout, read_timeout)


def post(
    url: str,
    path: str,
    body: bytes,
    connect_timeout: float,
    read_timeout: float,
    *,
    content_type: str,
) -> bytes:
    """POST ``body``; :class:`NotSent` when no connection was made, :class:`InDoubt` when it
    was and no whole answer came back."""
    parts = urllib.parse.urlsplit(url)
    return _exchange(parts, "POST", parts.path.rstrip("/") + path, body,
                     {"Content-Type": content_type}, connect_timeout, read_timeout)  # fmt: skip


def _exchange(parts, method, target, body, headers, connect_timeout, read_timeout) -> bytes:
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname or "", parts.port, timeout=connect_timeout)
    try:
        conn.connect()
    except OSError as exc:
        conn.close()
        raise NotSent(f"无法连接支付平台（{exc}）：未扣款") from None
    try:
        conn.sock.settimeout(read_timeout)
        conn.request(method, target, body=body, headers=headers)
        faults.crash_point("after_send", "payment")  # sent; its answer not read
        response = conn.getresponse()
        data = response.read(MAX_ANSWER)
        if response.status != 200:
            raise InDoubt(f"支付平台应答 HTTP {response.status}")
        return data
    except (OSError, http.client.HTTPException) as exc:
        raise InDoubt(f"支付平台未应答（{type(exc).__name__}）：结果待查询") from None
    finally:
        conn.close()
