"""Talking to an insurer gateway over HTTP: sign-in, TIF signatures, timeouts, the journal.

Connecting and reading have separate timeouts, so the client knows whether
a message never left (``InsurerUnavailable``: safe to try again) or left and
got no usable answer (``InsurerInDoubt``: never retried blindly; the journal
holds it until :mod:`cashier.insurer.recovery` finds out what happened).

Every call is bounded twice: by a deadline for the whole exchange (an answer that
trickles in a byte at a time ends there, whatever the per-read timeout) and by a cap on
the answer's size (a 50 MB answer is not read into the counter's memory). For a money
call either one means in doubt.
"""

from __future__ import annotations

import http.client
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cashier import faults, timezone
from cashier.errors import CashierError
from cashier.insurer import journal, protocol
from cashier.insurer.journal import MONEY_CHANGING, Status
from cashier.messages import say
from cashier.store.models import InsurerSignIn

CALL_PATH = "/fsi/api/rsfComIfsService/callService"
#: A counter clock further than this from the insurer's is said (gateways refuse messages
#: five minutes off).
CLOCK_TOLERANCE = timedelta(minutes=2)
EC_PATH = "/localcfc/api/hsecfc/localQrCodeQuery"
#: The xca profile's default: one URL per service.
XCA_SERVICE_PATH = "/fsi/api/{infno}"


class InsurerUnavailable(CashierError):
    """The message never reached the insurer; trying again is safe."""


class InsurerInDoubt(CashierError):
    """The message left, and what the insurer did is not known yet."""

    def __init__(self, msgid: str, infno: str, why: str) -> None:
        self.msgid, self.infno = msgid, infno
        super().__init__(say("insurer.client.unconfirmed", why=why, msgid=msgid))


@dataclass(frozen=True)
class Gateway:
    base_url: str  # e.g. http://127.0.0.1:8701
    paasid: str = ""
    secret: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    ec_base_url: str = ""  # the e-voucher service; the gateway's host by default
    deadline: float | None = None  # the whole exchange; connect + read timeout by default
    max_answer_bytes: int = 8 * 1024 * 1024
    profile: str = "tif"  # tif | xca | sm4 (protocol.transport)
    service_path: str = ""  # empty: CALL_PATH; xca: a template with {infno}
    xca_key: str = ""
    xca_secret: str = ""
    sm4: protocol.Sm4Keys | None = None  # the counter's side of the sm4 profile
    local_ec_url: str = ""  # a localQrCodeQuery service that reads a certified scanner itself

    def path_for(self, infno: str) -> str:
        """Where one transaction goes: ``…/callService`` for all, or one URL per service."""
        if self.service_path:
            return self.service_path.format(infno=infno)
        return XCA_SERVICE_PATH.format(infno=infno) if self.profile == "xca" else CALL_PATH

    @property
    def call_deadline(self) -> float:
        """Seconds one call may take from connecting to its answer's last byte."""
        return self.deadline or (self.connect_timeout + self.read_timeout)


class InsurerClient:
    """One station's connection to the insurer."""

    def __init__(self, gateway: Gateway, caller: protocol.Caller, station_id: str) -> None:
        self.gateway = gateway
        self.caller = caller
        self.station_id = station_id
        self.clock_offset: timedelta | None = None  # the insurer's clock minus ours, last seen
        #: Called (from the thread of the call) when the offset goes beyond the tolerance.
        self.on_clock_off: Callable[[timedelta], None] | None = None

    # -- transport --------------------------------------------------------------------
    def _auth_headers(self, path: str, *, signed: bool) -> dict[str, str]:
        """The content type, and the profile's authentication headers (``signed``: a call of
        the national interface, not the e-voucher service)."""
        content_type = "application/json;charset=utf-8"
        gateway = self.gateway
        if signed and gateway.profile == "xca":
            return protocol.xca_headers(
                gateway.xca_key,
                gateway.xca_secret,
                path=path,
                now_ms=int(time.time() * 1000),
                nonce=secrets.token_hex(16),
                content_type=content_type,
            )
        headers = {"Content-Type": content_type}
        if gateway.secret:
            headers.update(
                protocol.tif_headers(
                    gateway.paasid,
                    gateway.secret,
                    now=int(time.time()),
                    nonce=secrets.token_hex(16),
                )
            )
        return headers

    def _post(self, base_url: str, path: str, body: bytes, *, signed: bool = True) -> bytes:
        """POST and return the body; ``InsurerUnavailable`` if not sent, ``_NoAnswer`` if no
        answer (none, not all of it by the deadline, or larger than the cap)."""
        parts = urlsplit(base_url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=self.gateway.connect_timeout)
        deadline = time.monotonic() + self.gateway.call_deadline
        expired = threading.Event()

        def cut_off() -> None:  # the deadline: whatever the socket is doing, it ends now
            expired.set()
            if conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.gateway.call_deadline, cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                conn.connect()
            except OSError as exc:
                if expired.is_set():
                    raise InsurerUnavailable(say("insurer.client.connect_timeout")) from None
                raise InsurerUnavailable(
                    say("insurer.client.cannot_connect", value=exc.strerror or exc)
                ) from None
            conn.sock.settimeout(self.gateway.read_timeout)
            full_path = parts.path.rstrip("/") + path
            headers = self._auth_headers(full_path, signed=signed)
            try:
                conn.request("POST", full_path, body=body, headers=headers)
                faults.crash_point("after_send", lambda: protocol.loads(body).get("infno", ""))
                response = conn.getresponse()
                data = self._read_capped(response, deadline)
            except TimeoutError:
                raise _NoAnswer(say("insurer.client.timed_out")) from None
            except (OSError, http.client.HTTPException) as exc:
                if expired.is_set():
                    raise _NoAnswer(
                        say("insurer.client.answer_slow", call_deadline=self.gateway.call_deadline)
                    ) from None
                raise _NoAnswer(
                    say("insurer.client.connection_lost", name=type(exc).__name__)
                ) from None
            if expired.is_set():
                raise _NoAnswer(
                    say("insurer.client.answer_slow", call_deadline=self.gateway.call_deadline)
                )
            if response.status != 200:
                raise _BadStatus(response.status)
            return data
        finally:
            watchdog.cancel()
            conn.close()

    def _read_capped(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        """The answer's body, read in pieces: never more than the cap, never past the deadline."""
        cap = self.gateway.max_answer_bytes
        length = response.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > cap:
            raise _NoAnswer(say("insurer.client.answer_too_large", length=int(length), cap=cap))
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise _NoAnswer(
                    say("insurer.client.answer_slow", call_deadline=self.gateway.call_deadline)
                )
            chunk = (
                response.read1(64 * 1024) if hasattr(response, "read1") else response.read(65536)
            )
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise _NoAnswer(say("insurer.client.answer_over_cap", cap=cap))
            chunks.append(chunk)

    # -- the national interface ---------------------------------------------------------------
    def call(
        self,
        infno: str,
        input: dict[str, Any],
        *,
        operator: tuple[str, str],
        insuplc_admdvs: str = "",
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one transaction as ``operator`` (code, name) and return its checked ``output``."""
        for attempt in (1, 2):
            sign_no = "" if infno == "9001" else self.sign_no(operator)
            try:
                return self._call_once(
                    infno, input, operator, sign_no, insuplc_admdvs, context or {}
                )
            except protocol.InsurerError as exc:
                if attempt == 1 and infno != "9001" and exc.code == "insurer.signed_out":
                    self._forget_sign_in(
                        operator[0]
                    )  # the gateway dropped our sign-in: again, once
                    continue
                raise
        raise AssertionError("unreachable")

    def download(self, input: dict[str, Any], *, operator: tuple[str, str]) -> bytes:
        """9102: the file itself. A JSON answer instead is the gateway refusing (or unreadable)."""
        output = self.call("9102", input, operator=operator)
        return output["_file"]

    def _call_once(self, infno, input, operator, sign_no, insuplc_admdvs, context) -> dict:
        now = datetime.now()
        msgid = protocol.make_msgid(self.caller.fixmedins_code, now, journal.next_msgid_seq())
        caller = replace(self.caller, opter=operator[0], opter_name=operator[1])
        message = protocol.build_request(
            caller,
            infno,
            input,
            msgid=msgid,
            sign_no=sign_no,
            insuplc_admdvs=insuplc_admdvs,
            when=now,
        )
        body = protocol.dumps(message).encode("utf-8")
        journaled = infno in MONEY_CHANGING
        if journaled:  # the message as the counter wrote it, before any sealing
            journal.begin(msgid, self.station_id, infno, operator[0], body.decode("utf-8"), context)
        keys = self.gateway.sm4 if self.gateway.profile == "sm4" else None
        if keys is not None:
            body = protocol.dumps(protocol.seal_request(message, keys)).encode("utf-8")
        faults.crash_point("before_send", infno)  # journaled (when money changes), not sent
        try:
            raw = self._post(self.gateway.base_url, self.gateway.path_for(infno), body)
        except InsurerUnavailable as exc:
            if journaled:
                journal.finish(msgid, Status.FAILED, error=str(exc))
            raise
        except _BadStatus as exc:
            # A gateway error page: for a money call the insurer may still have acted.
            return self._in_doubt(journaled, msgid, infno, f"HTTP {exc.status}", exc)
        except _NoAnswer as exc:
            return self._in_doubt(journaled, msgid, infno, str(exc), exc)
        if infno == "9102" and not raw.lstrip().startswith(b"{"):
            return {"_file": raw, "_msgid": msgid}  # the file itself
        try:
            if keys is not None:  # the signature checked and output decrypted, kept plain
                opened = protocol.open_response(protocol.loads(raw), keys)
                raw = protocol.dumps(opened).encode("utf-8")
            answer = protocol.parse_response_envelope(raw, infno)
            output = answer.output
            self._clock(answer.respond_time)
            protocol.check_answer(infno, input, output)
            if infno in ("2207", "2102"):
                setl_id = str(output["setlinfo"].get("setl_id") or "")
                if journal.setl_id_taken(setl_id):
                    raise protocol.ProtocolError(
                        say("insurer.client.setl_id_taken", setl_id=setl_id),
                        detail=f"setl_id {setl_id} taken",
                    )
        except protocol.InsurerError as exc:
            if journaled:
                journal.finish(
                    msgid, Status.REFUSED, response=raw.decode("utf-8", "replace"), error=str(exc)
                )
            raise
        except protocol.ProtocolError as exc:
            if journaled:
                journal.finish(
                    msgid, Status.IN_DOUBT, response=raw.decode("utf-8", "replace"), error=str(exc)
                )
                raise InsurerInDoubt(msgid, infno, say("insurer.client.bad_answer")) from exc
            raise
        if journaled:
            journal.finish(msgid, Status.OK, response=raw.decode("utf-8"))
        output.setdefault("_msgid", msgid)
        return output

    def _clock(self, respond_time: str) -> None:
        """How far our clock is from the insurer's, as its last answer says (``respond_time``,
        its time; ours the business zone's too): a gateway refuses messages whose time is
        minutes off, and a receipt's time should be the insurer's."""
        found = timezone.offset(respond_time)
        if found is None:
            return
        was, self.clock_offset = self.clock_off, found
        if (
            self.on_clock_off is not None
            and self.clock_off is not None
            and (was is None or abs(found - was) > CLOCK_TOLERANCE)
        ):
            self.on_clock_off(found)  # said when it goes off, not at every answer

    @property
    def clock_off(self) -> timedelta | None:
        """The offset when it is more than :data:`CLOCK_TOLERANCE` (else ``None``)."""
        off = self.clock_offset
        return off if off is not None and abs(off) > CLOCK_TOLERANCE else None

    def _in_doubt(self, journaled: bool, msgid: str, infno: str, why: str, exc: Exception) -> dict:
        if not journaled:
            raise InsurerUnavailable(say("insurer.client.no_answer", why=why)) from exc
        journal.finish(msgid, Status.IN_DOUBT, error=why)
        raise InsurerInDoubt(msgid, infno, why) from exc

    # -- sign-in ------------------------------------------------------------------------------------
    def sign_no(self, operator: tuple[str, str]) -> str:
        """Today's sign-in of this operator, signing in (9001) when there is none."""
        today = date.today().isoformat()
        row = InsurerSignIn.get_or_none(
            (InsurerSignIn.operator == operator[0]) & (InsurerSignIn.day == today)
        )
        if row is not None:
            return row.sign_no
        output = self.call(
            "9001",
            protocol.input_9001(opter_no=operator[0], **counter_address(self.gateway.base_url)),
            operator=operator,
        )
        sign_no = str(output["signinoutb"]["sign_no"])
        # One statement, whoever else signs the same operator in at the same moment (counters
        # sharing PostgreSQL): the later sign-in is kept, never a duplicate-key failure.
        InsurerSignIn.insert(operator=operator[0], day=today, sign_no=sign_no).on_conflict(
            conflict_target=[InsurerSignIn.operator, InsurerSignIn.day],
            update={InsurerSignIn.sign_no: sign_no},
        ).execute()
        return sign_no

    def _forget_sign_in(self, operator_code: str) -> None:
        InsurerSignIn.delete().where(InsurerSignIn.operator == operator_code).execute()

    # -- the e-voucher ----------------------------------------------------------------------------
    def ec_query(self, qr_code: str, business_type: str) -> protocol.EcIdentity:
        """Who a scanned 医保码 belongs to, and the ecToken for 1101 / 2206 / 2207. With a
        local e-voucher service configured (``local_ec_url``: the ``localQrCodeQuery`` service
        of a certified scanner) the question goes there; ``qr_code`` may then be empty, and
        the service reads the code itself."""
        body = protocol.dumps(
            protocol.ec_query_request(self.caller.fixmedins_code, qr_code, business_type)
        ).encode("utf-8")
        service = self.gateway.local_ec_url or self.gateway.ec_base_url or self.gateway.base_url
        try:
            raw = self._post(service, EC_PATH, body, signed=False)
        except (_NoAnswer, _BadStatus) as exc:
            raise InsurerUnavailable(say("insurer.client.evoucher_no_answer", exc=exc)) from None
        return protocol.EcIdentity.from_json(protocol.loads(raw))


def counter_address(base_url: str) -> dict[str, str]:
    """This counter's MAC and IP as 9001 sends them: the interface that reaches the gateway.

    The IP is the local address a UDP socket "connected" to the gateway would use (no packet
    is sent); the MAC is the machine's hardware address (``uuid.getnode``), written
    ``AA-BB-CC-DD-EE-FF`` as counter clients send it. Both fall back to what is known."""
    import uuid

    node = uuid.getnode()
    mac = "-".join(f"{(node >> shift) & 0xFF:02X}" for shift in range(40, -1, -8))
    host = urlsplit(base_url).hostname or "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))
            ip = probe.getsockname()[0]
    except OSError:
        ip = "127.0.0.1"
    return {"mac": mac, "ip": ip}


class _NoAnswer(Exception):
    pass


class _BadStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
