"""The sandbox insurer's HTTP server: the national interface and the e-voucher query.

``POST /fsi/api/rsfComIfsService/callService``      one transaction per request
``POST /localcfc/api/hsecfc/localQrCodeQuery``      e-voucher ``ec.query``
``POST /sandbox/admin/fault``                       inject a fault (tests, demos)
``POST /sandbox/admin/qr``                          a fresh 医保码 for a person
``POST /sandbox/admin/plant``                       a disagreement for reconciliation
``DELETE /sandbox/admin/fault``                     clear faults

Faults, per request (header ``x-sandbox-fault: kind[,delay_ms]``) or by the
admin endpoint for the next calls of an ``infno``: ``latency`` (wait
``delay_ms``, then do it and answer), ``timeout`` (wait ``delay_ms``, default
60 s, then close with no answer; nothing done), ``http500`` (nothing done),
``malformed`` (done, then a broken answer), ``break_invariant`` (done, then an
answer whose amounts do not add up), ``drop_after_commit`` (done, then
silent for ``delay_ms``, then the connection closes with no answer), ``foreign``
(done, then an answer naming another person, visit and settlement), ``drip``
(done, then the answer one byte every ``delay_ms``, default 1 s) and ``huge``
(done, then an answer of ``HUGE_BYTES``: a well-formed envelope padded with a
warning). The
admin ``infno`` ``"*"`` means every transaction of the national interface;
``"ec.query"`` (named, never by ``"*"``) is the e-voucher service.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cashier.errors import CashierError
from cashier.insurer import protocol
from cashier.insurer.journal import MONEY_CHANGING
from cashier_sandbox import state
from cashier_sandbox.catalog import load_catalog
from cashier_sandbox.handlers import (
    Refused,
    Transactions,
    broken_invariant,
    foreign_answer,
    remember_response,
    stored_response,
)
from cashier_sandbox.policy import Policy
from cashier_sandbox.profiles import GatewayProfile
from cashier_sandbox.state import EVoucher, Fault, Person, sandbox_db

CALL_PATH = "/fsi/api/rsfComIfsService/callService"
EC_PATH = "/localcfc/api/hsecfc/localQrCodeQuery"
#: The xca profile's services: one URL each, ``/fsi/api/{infno}``.
XCA_PREFIX = "/fsi/api/"
FAULTS = (
    "latency",
    "timeout",
    "http500",
    "malformed",
    "break_invariant",
    "drop_after_commit",
    "foreign",
    "drip",
    "huge",
)
#: The size of the ``huge`` fault's answer: far above what any client should read.
HUGE_BYTES = 50 * 1024 * 1024
#: The admin fault ``infno`` of the e-voucher service.
EC_INFNO = "ec.query"
#: ec.query codes: not a 医保码, expired, already used for a settlement, not activated.
EC_NOT_EVOUCHER, EC_EXPIRED, EC_USED, EC_NOT_ACTIVATED = 500159, 500160, 500161, 500162
DEFAULT_PORT = 8701


class DropConnection(Exception):
    """Close the connection without an answer."""


@dataclass
class Reply:
    status: int
    body: bytes | None  # None: drop the connection
    drip_ms: int = 0  # > 0: the body one byte at a time, this long apart
    content_type: str = "application/json;charset=utf-8"


@dataclass
class SandboxInsurer:
    """Everything the HTTP layer calls; usable without HTTP in tests."""

    transactions: Transactions
    profile: GatewayProfile = field(default_factory=GatewayProfile)
    admvs: str = state.DEFAULT_ADMVS
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Each answer says how long it was handled in a ``Server-Timing`` header (the W3C
    #: header a server may add; ``cashier sandbox --server-timing``): the benchmarks'
    #: baseline, the same whether the sandbox is in the cashier's process or not.
    server_timing: bool = False

    # -- the national interface ------------------------------------------------------------
    @property
    def paasid(self) -> str:
        return self.profile.paasid

    @property
    def secret(self) -> str:
        return self.profile.secret

    def serves(self, path: str) -> bool:
        """Whether ``path`` is the national interface under this profile."""
        if self.profile.kind == "xca":
            return path.startswith(XCA_PREFIX) and path[len(XCA_PREFIX) :].isdigit()
        return path == CALL_PATH

    def _unwrap(self, headers: dict[str, str], body: bytes, path: str) -> protocol.Request:
        """The request as the profile carries it: authenticated, decrypted, read."""
        profile = self.profile
        if profile.kind == "xca":
            problem = protocol.check_xca(
                headers,
                profile.xca_key,
                profile.xca_secret,
                path=path,
                now_ms=int(time.time() * 1000),
            )
            if problem:
                raise Refused(problem)
        elif self.secret:
            problem = protocol.check_tif(headers, self.paasid, self.secret, now=int(time.time()))
            if problem:
                raise Refused(problem)
        doc: object = body
        if profile.kind == "sm4":
            assert profile.sm4 is not None
            try:
                doc = protocol.open_request(protocol.loads(body), profile.sm4)
            except ValueError as exc:
                raise Refused(f"请求报文有误：{exc}") from None
        req = protocol.parse_request(doc)  # type: ignore[arg-type]
        if profile.kind == "xca" and path[len(XCA_PREFIX) :] != req.infno:
            raise Refused(f"服务地址 {path} 与交易编号 {req.infno} 不符")
        return req

    def call(self, headers: dict[str, str], body: bytes, path: str = CALL_PATH) -> Reply:
        now = datetime.now()
        try:
            req = self._unwrap(headers, body, path)
        except CashierError as exc:
            return self._refuse("", str(exc), now)
        fault, delay_ms = self._fault(headers, req.infno)
        early = self._fault_before(fault, delay_ms)
        if early is not None:
            return early
        with self.lock:
            if req.infno in MONEY_CHANGING:
                earlier = stored_response(req.msgid)
                if (
                    earlier is not None
                ):  # the same message again: the same answer, nothing done twice
                    return self._deliver(earlier.encode(), fault, delay_ms)
            try:
                handler = self.transactions.table().get(req.infno)
                if handler is None:
                    raise Refused(f"不支持的交易编号 {req.infno}")
                with sandbox_db.atomic():
                    self.transactions.check_signed_in(req)
                    output = handler(req) or {}
                    if isinstance(output, bytes):  # 9102: the file, as it is
                        return Reply(200, output, content_type="application/octet-stream")
                    text = protocol.dumps(self._response(output, now))
                    if req.infno in MONEY_CHANGING:
                        remember_response(req.msgid, req.infno, text)
            except Refused as exc:
                return self._refuse(req.infno, str(exc), now)
            except CashierError as exc:
                return self._refuse(req.infno, f"请求数据有误：{exc}", now)
        if fault == "break_invariant":
            output = broken_invariant(output)
            text = protocol.dumps(self._response(output, now))
        elif fault == "foreign":
            text = protocol.dumps(self._response(foreign_answer(output), now))
        elif fault == "huge":
            envelope = self._response(output, now)
            envelope["warn_msg"] = "x" * HUGE_BYTES
            text = protocol.dumps(envelope)
        return self._deliver(text.encode(), fault, delay_ms)

    @staticmethod
    def _fault_before(fault: str, delay_ms: int) -> Reply | None:
        """The part of a fault that comes before any work: a reply ends the call, nothing done."""
        if fault == "latency":
            time.sleep(delay_ms / 1000)
        elif fault == "timeout":
            time.sleep((delay_ms or 60_000) / 1000)
            return Reply(0, None)
        elif fault == "http500":
            return Reply(500, b"<html><body>500 Internal Server Error</body></html>")
        return None

    def _deliver(self, body: bytes, fault: str, delay_ms: int = 0) -> Reply:
        if self.profile.kind == "sm4":  # every answer goes out sealed, a repeat's too
            assert self.profile.sm4 is not None
            sealed = protocol.seal_response(protocol.loads(body), self.profile.sm4)
            body = protocol.dumps(sealed).encode("utf-8")
        if fault == "drop_after_commit":
            # Done; the client waits in silence (a read timeout, when it is shorter), then
            # the connection closes: a settlement the cashier cannot know happened.
            time.sleep(delay_ms / 1000)
            return Reply(0, None)
        if fault == "malformed":
            return Reply(200, body[: len(body) // 2])
        if fault == "drip":
            return Reply(200, body, drip_ms=delay_ms or 1000)
        return Reply(200, body)

    def _response(
        self, output: dict, now: datetime, *, infcode: int = 0, err_msg: str = ""
    ) -> dict:
        serial = state.next_number("refmsg")
        # The platform's own clock: ``clock_offset_s`` sets it apart from the counter's
        # (a counter PC minutes off, as the insurer's answer shows it).
        shifted = now + timedelta(seconds=int(state.setting("clock_offset_s", "0") or 0))
        return protocol.build_response(
            output,
            infcode=infcode,
            err_msg=err_msg,
            inf_refmsgid=protocol.make_refmsgid(self.admvs, shifted, serial),
            when=shifted,
        )

    def _refuse(self, infno: str, message: str, now: datetime) -> Reply:
        text = protocol.dumps(self._response({}, now, infcode=-1, err_msg=message))
        return self._deliver(text.encode(), "")

    def _fault(self, headers: dict[str, str], infno: str) -> tuple[str, int]:
        header = headers.get("x-sandbox-fault", "")
        if header:
            kind, _, delay = header.partition(",")
            return kind.strip(), int(delay or 0)
        matches = Fault.infno == infno
        if infno != EC_INFNO:
            matches |= Fault.infno == "*"
        with self.lock, sandbox_db.atomic():
            fault = Fault.select().where(matches & (Fault.count > 0)).order_by(Fault.id).first()
            if fault is None:
                return "", 0
            Fault.update(count=Fault.count - 1).where(Fault.id == fault.id).execute()
            return fault.kind, fault.delay_ms

    # -- the e-voucher service -------------------------------------------------------------------
    def ec_query(self, body: bytes, headers: dict[str, str] | None = None) -> Reply:
        fault, delay_ms = self._fault(headers or {}, EC_INFNO)
        early = self._fault_before(fault, delay_ms)
        if early is not None:
            return early
        reply = self._ec_answer(body)
        return self._deliver(reply.body or b"", fault, delay_ms) if fault else reply

    def _ec_answer(self, body: bytes) -> Reply:
        def answer(code: int | str, message: str, data: dict | None = None) -> Reply:
            return Reply(
                200,
                json.dumps(
                    {"code": code, "message": message, "data": data}, ensure_ascii=False
                ).encode(),
            )

        try:
            request = json.loads(body)
            data = request["data"]
            if request.get("transType") != "ec.query" or not isinstance(data, dict):
                raise ValueError
            payload = str(data["ecQrCode"])
        except (ValueError, KeyError, TypeError):
            return answer(500100, "请求格式错误")
        voucher = EVoucher.get_or_none(EVoucher.payload == payload)
        if voucher is None:
            return answer(EC_NOT_EVOUCHER, "请使用医保电子凭证二维码")
        person = Person.get_by_id(voucher.psn_no)
        if not person.ec_activated:
            return answer(EC_NOT_ACTIVATED, state.EC_NOT_ACTIVATED)
        if voucher.used_setl_id:
            return answer(EC_USED, "该医保码已使用，请让患者刷新后重新出示")
        if datetime.now() > voucher.expires_at:
            return answer(EC_EXPIRED, "医保码已过期，请让患者刷新后重新出示")
        return answer(
            0,
            "成功",
            {
                "idNo": person.certno,
                "idType": "01",
                "userName": person.name,
                "ecToken": voucher.ec_token,
                "insuOrg": person.insuplc_admdvs,
                "ecIndexNo": voucher.ec_token[-16:],
                "gender": person.gend,
                "birthday": person.brdy,
            },
        )

    # -- admin ---------------------------------------------------------------------------------
    def admin(self, method: str, path: str, body: bytes) -> Reply:
        """The admin endpoints, one at a time with the interface calls (one SQLite store)."""
        with self.lock:
            return self._admin(method, path, body)

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        try:
            data = json.loads(body or b"{}")
            if path == "/sandbox/admin/fault" and method == "DELETE":
                Fault.delete().execute()
                return Reply(200, b"{}")
            if path == "/sandbox/admin/fault":
                kind = str(data["kind"])
                if kind not in FAULTS:
                    raise ValueError(f"kind 应为 {', '.join(FAULTS)}")
                Fault.create(
                    kind=kind,
                    infno=str(data.get("infno", "*")),
                    count=int(data.get("count", 1)),
                    delay_ms=int(data.get("delay_ms", 0)),
                )
                return Reply(200, b"{}")
            if path == "/sandbox/admin/plant":
                return Reply(200, protocol.dumps(self.plant(data)).encode())
            if path == "/sandbox/admin/qr":
                voucher = state.issue_evoucher(
                    state.find_person(str(data["person"])), lifetime_s=data.get("lifetime_s")
                )
                return Reply(200, json.dumps({"payload": voucher.payload}).encode())
        except (ValueError, KeyError, TypeError, CashierError) as exc:
            return Reply(400, json.dumps({"error": str(exc)}, ensure_ascii=False).encode())
        return Reply(404, b"{}")

    def plant(self, data: dict) -> dict:
        """Make the sandbox disagree with the cashier (``/sandbox/admin/plant``), for
        reconciliation tests and demos; see :data:`PLANTS`."""
        kind = str(data["kind"])
        if kind not in PLANTS:
            raise ValueError(f"kind 应为 {', '.join(PLANTS)}")
        t = self.transactions
        now = datetime.now()
        with self.lock, sandbox_db.atomic():
            if kind == "lost_here":
                output = t.plant_lost_here(
                    str(data["fixmedins_code"]),
                    str(data.get("person", "P001")),
                    clr_type=str(data.get("clr_type", "11")),
                    lines=data.get("lines"),
                    acct_used=bool(data.get("acct_used", True)),
                )
                # Recorded like any settlement message: a repeat or a 2601 finds it.
                msgid = output.pop("msgid")
                infno = "2102" if output["setlinfo"]["clr_type"] == "41" else "2207"
                remember_response(msgid, infno, protocol.dumps(self._response(output, now)))
                return {"msgid": msgid, **output}
            if kind == "amount_differs":
                delta = protocol.money(data.get("delta", "0.01"), "delta")
                field = str(data.get("field", "medfee_sumamt"))
                return t.plant_amount_differs(str(data["setl_id"]), field, delta)
            return t.plant_cancelled_there(str(data["setl_id"]))


#: What ``POST /sandbox/admin/plant`` can make the sandbox hold that the cashier does not.
PLANTS = ("lost_here", "amount_differs", "cancelled_there")


def _handler_class(insurer: SandboxInsurer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "cashier-sandbox-insurer"

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, reply: Reply, handled_ms: float | None = None) -> None:
            if reply.body is None:
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if handled_ms is not None:
                self.send_header("Server-Timing", f"app;dur={handled_ms:.3f}")
            self.end_headers()
            if not reply.drip_ms:
                self.wfile.write(reply.body)
                return
            # A gateway that trickles: one byte at a time until the body is sent or the
            # client hangs up (it has a deadline of its own).
            for i in range(len(reply.body)):
                try:
                    self.wfile.write(reply.body[i : i + 1])
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(reply.drip_ms / 1000)

        def do_POST(self) -> None:
            body = self._body()
            path = self.path.split("?", 1)[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            if insurer.serves(path) or path == EC_PATH:
                started = time.perf_counter()
                if path == EC_PATH:
                    reply = insurer.ec_query(body, headers)
                else:
                    reply = insurer.call(headers, body, path)
                handled = (time.perf_counter() - started) * 1000
                self._send(reply, handled if insurer.server_timing else None)
            elif path.startswith("/sandbox/admin/"):
                self._send(insurer.admin("POST", path, body))
            else:
                self._send(Reply(404, b"{}"))

        def do_DELETE(self) -> None:
            self._send(insurer.admin("DELETE", self.path, self._body()))

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


def make_insurer(
    data_dir: Path,
    *,
    people: Path | None = None,
    policy: Path | None = None,
    catalog: Path | None = None,
    paasid: str = "",
    secret: str = "",
    profile: GatewayProfile | None = None,
) -> SandboxInsurer:
    """The sandbox insurer; ``profile`` says how it wants messages carried (TIF with
    ``paasid`` / ``secret`` when none is given)."""
    state.open_sandbox(state.sandbox_path(data_dir), people)
    transactions = Transactions(Policy.load(policy), load_catalog(catalog))
    profile = profile or GatewayProfile(paasid=paasid, secret=secret)
    return SandboxInsurer(transactions, profile=profile)


@dataclass
class RunningSandbox:
    server: ThreadingHTTPServer
    thread: threading.Thread
    insurer: SandboxInsurer

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_in_thread(
    insurer: SandboxInsurer, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Serve on a background thread (the training station and the tests do this)."""
    server = ThreadingHTTPServer((host, port), _handler_class(insurer))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="sandbox-insurer", daemon=True)
    thread.start()
    return RunningSandbox(server, thread, insurer)


def profile_of(settings, kind: str = "") -> GatewayProfile:
    """The gateway profile a station's settings describe (``kind`` overrides theirs): the
    TIF secret, the x-ca key and secret, and for sm4 the demo keys."""
    insurer = settings.insurer
    kind = kind or insurer.profile
    xca = {}
    if insurer.xca_key and insurer.xca_secret:
        xca = {"xca_key": insurer.xca_key, "xca_secret": insurer.xca_secret}
    return GatewayProfile(kind=kind, paasid=insurer.paasid, secret=insurer.secret, **xca)


def serve(
    settings,
    *,
    host: str,
    port: int,
    policy: str | None,
    catalog: str | None,
    profile: str = "",
    server_timing: bool = False,
) -> int:
    """``cashier sandbox``: serve in the foreground until interrupted."""
    insurer = make_insurer(
        settings.data_dir,
        policy=Path(policy) if policy else None,
        catalog=Path(catalog) if catalog else None,
        profile=profile_of(settings, profile),
    )
    insurer.server_timing = server_timing
    try:
        server = ThreadingHTTPServer((host, port or DEFAULT_PORT), _handler_class(insurer))
    except OSError as exc:
        raise CashierError(
            f"无法在 {host}:{port or DEFAULT_PORT} 上启动沙箱：{exc.strerror}"
        ) from None
    where = XCA_PREFIX + "{infno}" if insurer.profile.kind == "xca" else CALL_PATH
    print(
        f"沙箱医保平台（{insurer.profile.kind}）：http://{host}:{server.server_address[1]}{where}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
