"""One POST to an e-receipt service: explicit timeouts, and the line between "never sent"
and "in doubt" drawn where the connection is made."""

from __future__ import annotations

import http.client
import ssl
import urllib.parse

from cashier.ebills import EBillInDoubt, EBillNotSent
from cashier.messages import say

MAX_ANSWER = 4 * 1024 * 1024


def post(url: str, path: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    parts = urllib.parse.urlsplit(url)
    target = parts.path.rstrip("/") + path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout,
            context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.connect()
    except OSError as exc:
        conn.close()
        raise EBillNotSent(say("ebills.no_connection", exc=exc)) from None
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        raise EBillInDoubt(say("ebills.no_answer", name=type(exc).__name__)) from None
    finally:
        conn.close()
    if response.status != 200:
        raise EBillInDoubt(say("ebills.http_status", status=response.status))
    return data
