"""The thin HTTP layer under the payment providers: explicit connect and read timeouts, and
the line between "never sent" and "in doubt" drawn where the connection is made.

Calls that move money back (WeChat Pay v2's ``secapi``: reverse, refund) present the
merchant's API certificate (mutual TLS) when one is configured."""

from __future__ import annotations

import http.client
import ssl
import urllib.parse
from dataclasses import dataclass

from cashier import faults
from cashier.messages import say
from cashier.payments import InDoubt, NotSent

#: The most an answer may be: a day's bill of a busy counter is well under this.
MAX_ANSWER = 32 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def get(url: str, connect_timeout: float, read_timeout: float) -> bytes:
    """GET a whole file (a provider's bill); :class:`NotSent` / :class:`InDoubt` as for POST."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return _ok(request(url, "GET", target, None, {}, connect_timeout, read_timeout, what="file"))


def post(
    url: str,
    path: str,
    body: bytes,
    connect_timeout: float,
    read_timeout: float,
    *,
    content_type: str,
    client_cert: tuple[str, str] | None = None,
) -> bytes:
    """POST ``body``; :class:`NotSent` when no connection was made, :class:`InDoubt` when it
    was and no whole answer came back (or not a 200)."""
    parts = urllib.parse.urlsplit(url)
    return _ok(
        request(
            url,
            "POST",
            parts.path.rstrip("/") + path,
            body,
            {"Content-Type": content_type},
            connect_timeout,
            read_timeout,
            client_cert=client_cert,
        )
    )


def request(
    url: str,
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
    connect_timeout: float,
    read_timeout: float,
    *,
    client_cert: tuple[str, str] | None = None,
    what: str = "payment",
) -> Reply:
    """One exchange with ``url``'s host; any status is returned (an API that answers its
    refusals with 4xx reads them itself). ``what`` names the crash point after the send
    (``after_send:payment`` for calls that move money)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if client_cert:
            try:
                context.load_cert_chain(*client_cert)
            except (OSError, ssl.SSLError) as exc:
                raise NotSent(
                    say("pay.wire.cert_unreadable", exc=exc), code="payment.bad_key"
                ) from None
        conn = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=connect_timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=connect_timeout)
    try:
        conn.connect()
    except OSError as exc:
        conn.close()
        raise NotSent(say("pay.wire.no_connection", exc=exc), code="payment.no_network") from None
    try:
        conn.sock.settimeout(read_timeout)
        conn.request(method, target, body=body, headers=headers)
        faults.crash_point("after_send", what)  # sent; its answer not read
        response = conn.getresponse()
        data = response.read(MAX_ANSWER)
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    except (OSError, http.client.HTTPException) as exc:
        raise InDoubt(say("pay.wire.no_answer", name=type(exc).__name__)) from None
    finally:
        conn.close()


def _ok(reply: Reply) -> bytes:
    if reply.status != 200:
        raise InDoubt(say("pay.wire.http_status", status=reply.status))
    return reply.body
