"""Opening a station: settings, database, schema, and the training station's demo data."""

from __future__ import annotations

from dataclasses import dataclass

from cashier import logs, timezone
from cashier.config import Settings
from cashier.errors import CashierError
from cashier.messages import say
from cashier.services import audit, operators
from cashier.services.operators import Role
from cashier.store import connect, integrity, keys, migrate
from cashier.store.models import AuditHead, ClinicOrder, Item, Operator, Station, database

#: The training station's operators: a contract (design.md) shown on its login screen.
DEMO_OPERATORS = (
    ("1001", "王小美", Role.CASHIER, "1234"),
    ("9001", "李组长", Role.SUPERVISOR, "9999"),
)
#: The training station's pharmacist (checks the demo 处方药): its supervisor, with a
#: made-up 执业资格证号 that says what it is.
DEMO_PHARMACIST = ("9001", "TRAIN-PHARM-0001")


@dataclass(frozen=True)
class StationContext:
    """An open station: its settings, with the database connected and migrated."""

    settings: Settings

    @property
    def station_id(self) -> str:
        return self.settings.station_id

    @property
    def training(self) -> bool:
        return self.settings.training

    def close(self) -> None:
        if not database.is_closed():
            database.close()


def open_station(
    settings: Settings,
    *,
    seed: bool = True,
    operators_only: bool = False,
    on_wait=None,
    check_beside: bool = False,
) -> StationContext:
    """Connect, check, migrate, register the station; load the station key (made on the
    first start), key the audit chain with it and keep personal data sealed; a training
    station gets its demo data (with ``operators_only``, its demo operators alone: a
    privileged command signs in as one). ``check_beside``: the file's quick check runs
    beside the caller (the counter's start) instead of before everything (a command)."""
    timezone.use(settings.time_zone)  # before anything is dated
    private_dir(settings.data_dir)
    logs.setup(settings)  # the station's data directory exists now: its log beside it
    db = connect(settings.db_url, on_wait=on_wait)  # a server still starting is waited for
    if check_beside:
        integrity.check_in_background(db)
    else:
        integrity.check_at_start(db)
    migrate(db)
    if Item.select().where(Item.pinyin == "").exists():  # 拼音 keys an older version lacked
        from cashier.services import catalog

        catalog.index_missing()
    private_files(settings)
    if _keyed(db) and not settings.key_path.exists():
        raise keys.StationKeyError(say("station.key_missing", key_path=settings.key_path))
    key = keys.load_key(settings.key_path, create=not _keyed(db))
    keys.use(key)
    audit.ensure_keyed(key, settings.station_id)
    protect_at_rest(key)
    with database.atomic():
        station, created = Station.get_or_create(
            station_id=settings.station_id,
            defaults={"name": settings.station_name, "kind": settings.kind},
        )
        if not created and (station.name, station.kind) != (settings.station_name, settings.kind):
            station.name, station.kind = settings.station_name, settings.kind
            station.save()
    if settings.training and (seed or operators_only):
        seed_training(settings.station_id, data=seed)
    return StationContext(settings)


def private_dir(path) -> None:
    """The data directory, readable by its owner only (it holds patients' data)."""
    import os

    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


def private_files(settings: Settings) -> None:
    """The SQLite database and its journal files, owner only (made 0644 by the umask)."""
    import os

    if not settings.db_url.startswith("sqlite:///"):
        return
    base = settings.db_url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.chmod(base + suffix, 0o600)
        except FileNotFoundError:
            pass


def _keyed(db) -> bool:
    head = AuditHead.get_or_none(AuditHead.id == 1)
    return bool(head is not None and head.key_id)


def protect_at_rest(key: keys.StationKey, batch: int = 500) -> int:
    """Rows kept before personal data was protected (an upgraded database): orders' ID
    numbers masked and tagged, the insurer journal's messages sealed. Returns how many."""
    from cashier.devices.scanner import mask_id_number
    from cashier.store.models import InsurerCall

    done = 0
    while True:
        with database.atomic():
            rows = list(ClinicOrder.select().where(ClinicOrder.certno_tag == "").limit(batch))
            for row in rows:
                full = row.certno.strip().upper()
                ClinicOrder.update(certno=mask_id_number(full), certno_tag=key.tag(full)).where(
                    ClinicOrder.id == row.id
                ).execute()
        done += len(rows)
        if len(rows) < batch:
            break
    while True:
        with database.atomic():
            calls = list(
                InsurerCall.select().where(~InsurerCall.request.startswith("enc1:")).limit(batch)
            )
            for call in calls:
                InsurerCall.update(
                    request=key.seal(call.request),
                    response=key.seal(call.response) if call.response else "",
                ).where(InsurerCall.msgid == call.msgid).execute()
        done += len(calls)
        if len(calls) < batch:
            break
    if done and _on_sqlite():
        # The rows are rewritten, but SQLite keeps the old text in free pages and the WAL
        # until they are reused: the file is rebuilt once, so no full ID number lingers.
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.execute_sql("VACUUM")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


def _on_sqlite() -> bool:
    from peewee import SqliteDatabase

    return isinstance(database.obj, SqliteDatabase)


@dataclass(frozen=True)
class Care:
    """What the checks after a Z close found and did (a message for the cashier)."""

    message: str = ""
    problem: bool = False


def after_z_close(settings: Settings) -> Care:
    """The whole file checked (``integrity_check``) and backed up (SQLite's online backup,
    older backups dropped after ``backup_keep_days``). Never raises: the Z is closed."""
    from cashier.errors import DAMAGED_MESSAGE

    db = database.obj
    try:
        problems = integrity.full_check(db)
        if problems:
            return Care(f"{DAMAGED_MESSAGE}（integrity_check：{'；'.join(problems[:2])}）", True)
        if not settings.db_url.startswith("sqlite:///"):
            return Care()
        done = integrity.backup(db, settings.backups_dir, keep_days=settings.backup_keep_days)
    except CashierError as exc:
        return Care(say("station.backup_failed", exc=exc), True)
    except Exception as exc:
        return Care(say("station.backup_failed_type", name=type(exc).__name__, exc=exc), True)
    return Care(say("station.backed_up", name=done.path.name))


def seed_training(station_id: str, *, data: bool = True) -> None:
    """Demo operators (when none exist: every command signs in as one of them); with
    ``data``, the demo catalog (when the catalog is empty) and demo clinic orders for
    sandbox patients (when there have never been any)."""
    if not Operator.select().exists():
        for code, name, role, pin in DEMO_OPERATORS:
            cert = DEMO_PHARMACIST[1] if code == DEMO_PHARMACIST[0] else None
            operators.create_operator(station_id, code, name, role, pin, prac_cert_no=cert)
    if not data:
        return
    if not Item.select().exists():
        from cashier.services import catalog  # only to seed: csv and the catalog wait for first use

        catalog.import_catalog(text=catalog.demo_catalog_text())
    if not ClinicOrder.select().exists():
        from cashier.services import orders

        try:
            orders.import_orders(text=orders.demo_orders_text(), fmt="json", source="demo")
        except orders.OrdersImportError:
            # The station started on its own catalog (imported before the first start): the
            # demo orders name demo items it does not sell, so there are none. Never a
            # start refused for a demonstration.
            pass


@dataclass
class InsurerConnection:
    """The station's insurer client; on a training station, the sandbox it started."""

    client: object  # cashier.insurer.client.InsurerClient (imported lazily: start-up time)
    sandbox: object | None = None  # cashier_sandbox.server.RunningSandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def connect_insurer(settings: Settings) -> InsurerConnection:
    """The insurer gateway of the configuration; a training station starts its own sandbox
    on loopback, keeping its state in the data directory."""
    from cashier.insurer.client import Gateway, InsurerClient
    from cashier.insurer.protocol import Caller

    sandbox = None
    insurer = settings.insurer
    url = insurer.url
    keys = _sm4_keys(insurer)
    xca_key, xca_secret = insurer.xca_key, insurer.xca_secret
    if not url:
        from cashier_sandbox.profiles import demo_counter_keys
        from cashier_sandbox.server import make_insurer, profile_of, start_in_thread

        profile = profile_of(settings)
        sandbox = start_in_thread(make_insurer(settings.data_dir, profile=profile))
        url = sandbox.url
        xca_key, xca_secret = profile.xca_key, profile.xca_secret  # its demo ones, or ours
        if insurer.profile == "sm4" and keys is None:
            keys = demo_counter_keys()  # the training sandbox's published keys
    if insurer.profile == "sm4" and keys is None:
        raise CashierError(say("station.sm4_keys"))
    caller = Caller(
        fixmedins_code=settings.clinic_code,
        fixmedins_name=settings.clinic_name,
        mdtrtarea_admvs=settings.admvs,
        recer_sys_code=insurer.recer_sys_code,
        infver=insurer.infver,
        dev_no=insurer.dev_no,
        dev_safe_info=insurer.dev_safe_info,
        fixmedins_soft_fcty=insurer.fixmedins_soft_fcty,
        insuplc_admdvs=insurer.insuplc_admdvs,
    )
    gateway = Gateway(
        url,
        paasid=insurer.paasid,
        secret=insurer.secret,
        read_timeout=float(insurer.timeout_s),
        ec_base_url=insurer.ec_url,
        local_ec_url=insurer.local_ec_url,
        deadline=float(insurer.deadline_s) or None,
        max_answer_bytes=insurer.max_answer_kib * 1024,
        profile=insurer.profile,
        service_path=insurer.service_path,
        xca_key=xca_key,
        xca_secret=xca_secret,
        sm4=keys,
    )
    return InsurerConnection(InsurerClient(gateway, caller, settings.station_id), sandbox)


@dataclass
class PaymentsConnection:
    """The station's payment providers by name (``wechat``); on a training station, the
    payment sandbox it started."""

    providers: dict
    sandbox: object | None = None  # cashier_sandbox.payments.RunningPayments

    def provider(self, name: str):
        return self.providers.get(name)

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def connect_ebills(settings: Settings):
    """The configured e-receipt service (``[receipts] provider = "fiscal"``), else ``None``;
    a training station with no address issues through its own sandbox on loopback."""
    r = settings.receipts
    if r.provider not in ("fiscal", "tax"):
        return None
    from cashier.ebills.fiscal import FiscalService
    from cashier.ebills.tax import TaxService

    if not r.url and settings.training:
        from cashier_sandbox import ebills as sandbox

        key = str(settings.data_dir)
        if key not in _EBILL_SANDBOXES:
            _EBILL_SANDBOXES[key] = sandbox.start_in_thread(settings.data_dir)
        running = _EBILL_SANDBOXES[key]
        if r.provider == "tax":
            return TaxService(running.tax_url, sandbox.DEMO_APP_KEY, sandbox.DEMO_APP_SECRET,
                              sandbox.DEMO_TOKEN, sandbox.DEMO_SALER_TAX_NUM, r.timeout_s)  # fmt: skip
        return FiscalService(running.url, sandbox.DEMO_APPID, sandbox.DEMO_KEY, r.timeout_s)
    if r.provider == "tax":
        return TaxService(r.url, r.app_key, r.app_secret, r.access_token, r.saler_tax_num,
                          r.timeout_s)  # fmt: skip
    return FiscalService(r.url, r.appid, r.key, r.timeout_s)


#: The training stations' e-receipt sandboxes, one a data directory (tests run several).
_EBILL_SANDBOXES: dict = {}


def connect_payments(settings: Settings) -> PaymentsConnection:
    """The configured providers; a training station with no WeChat Pay gateway configured
    charges the payment sandbox on loopback (its state in the data directory)."""
    from pathlib import Path

    from cashier.payments.alipay import Alipay, App

    wechat, ali = settings.wechat, settings.alipay
    providers: dict = {}
    sandbox = None
    if settings.training and not (wechat.url and ali.url):
        from cashier_sandbox import payments as paysandbox

        sandbox = paysandbox.start_in_thread(settings.data_dir)
        if not wechat.url:
            providers["wechat"] = _sandbox_wechat(wechat, sandbox)
        if not ali.url:
            keys = sandbox.alipay_keys
            providers["alipay"] = Alipay(
                App(
                    f"{sandbox.url}/gateway.do",
                    paysandbox.DEMO_ALIPAY_APP_ID,
                    keys.app_private,
                    keys.alipay_public,
                )
            )
    if ali.url and ali.app_id:
        try:
            private = Path(ali.private_key_file).expanduser().read_bytes()
            public = Path(ali.alipay_public_key_file).expanduser().read_bytes()
        except OSError as exc:
            raise CashierError(say("station.alipay_keys", exc=exc)) from None
        providers["alipay"] = Alipay(
            App(
                ali.url,
                ali.app_id,
                private,
                public,
                app_auth_token=ali.app_auth_token,
                read_timeout=float(ali.timeout_s),
            )
        )
    if wechat.url and wechat.mch_id:
        providers["wechat"] = _wechat(wechat)
    return PaymentsConnection(providers, sandbox)


def _wechat(wechat):
    """A live merchant's WeChat Pay client, v2 or v3 as configured."""
    from pathlib import Path

    from cashier.payments.wechat_v2 import Merchant, WeChatV2
    from cashier.payments.wechat_v3 import MerchantV3, WeChatV3

    def read(name: str, path: str) -> bytes:
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise CashierError(say("station.wechat_file", name=name, exc=exc)) from None

    if wechat.api == "v2":
        return WeChatV2(
            Merchant(
                wechat.url,
                wechat.appid,
                wechat.mch_id,
                wechat.api_key,
                sub_mch_id=wechat.sub_mch_id,
                sub_appid=wechat.sub_appid,
                read_timeout=float(wechat.timeout_s),
                cert_file=wechat.apiclient_cert_file,
                key_file=wechat.apiclient_key_file,
            )
        )
    if wechat.api != "v3":
        raise CashierError(say("station.wechat_api", api=wechat.api))
    missing = [
        k for k in ("apiclient_key_file", "cert_serial_no", "api_v3_key") if not getattr(wechat, k)
    ]
    if missing:
        raise CashierError(say("station.wechat_v3_needs", value="、".join(missing)))
    return WeChatV3(
        MerchantV3(
            wechat.url,
            wechat.appid,
            wechat.mch_id,
            wechat.cert_serial_no,
            read("apiclient_key_file", wechat.apiclient_key_file),
            wechat.api_v3_key,
            sub_mchid=wechat.sub_mch_id,
            sub_appid=wechat.sub_appid,
            platform_cert=(
                read("platform_cert_file", wechat.platform_cert_file)
                if wechat.platform_cert_file
                else b""
            ),
            read_timeout=float(wechat.timeout_s),
        )
    )


def _sandbox_wechat(wechat, sandbox):
    """The training station's WeChat Pay: the sandbox merchant, on the API configured."""
    from cashier.payments.wechat_v2 import Merchant, WeChatV2
    from cashier.payments.wechat_v3 import MerchantV3, WeChatV3
    from cashier_sandbox import payments as paysandbox

    if wechat.api == "v3":
        keys = sandbox.wechat_v3_keys
        return WeChatV3(
            MerchantV3(
                sandbox.url,
                paysandbox.DEMO_APPID,
                paysandbox.DEMO_MCH_ID,
                keys.merchant_serial,
                keys.merchant_private,
                paysandbox.DEMO_API_V3_KEY,
                sub_mchid=wechat.sub_mch_id,
            )
        )
    return WeChatV2(
        Merchant(
            sandbox.url,
            paysandbox.DEMO_APPID,
            paysandbox.DEMO_MCH_ID,
            paysandbox.DEMO_API_KEY,
            sub_mch_id=wechat.sub_mch_id,
        )
    )


def _sm4_keys(insurer):
    """The counter's sm4 keys from the configuration, or ``None`` when none are set."""
    from cashier.insurer.protocol import Sm4Keys

    if not insurer.sm4_key:
        return None
    return Sm4Keys(
        insurer.sm4_key,
        insurer.sm2_private_key,
        insurer.sm2_public_key,
        insurer.gateway_sm2_public_key,
    )


def recover_insurer_calls(settings: Settings, connection: InsurerConnection) -> list:
    """Before new sales (design rule 6): resolve every in-doubt insurer call of this station,
    then cancel with the insurer every settlement no sale finished (crash, power cut).
    The resolutions, then the cancellations; raises when the insurer cannot be asked now."""
    from cashier.insurer import journal, recovery
    from cashier.services import refunds
    from cashier.services.insured import Insurance
    from cashier.store.models import RefundIntent, utcnow

    # A settlement journaled from now on is a counter's sale in progress, never an orphan.
    started = utcnow()
    station = settings.station_id
    pending_refunds = RefundIntent.select().where(
        (RefundIntent.station == station) & (RefundIntent.status == "pending")
    )
    if (
        not journal.unresolved(station)
        and not recovery.unfinished_settlements(station, before=started)
        and not pending_refunds.exists()
    ):
        return []
    resolved = recovery.resolve_all(connection.client, station)
    # Refunds first: a settlement whose refund is pending is a completed sale, not an orphan.
    resumed = refunds.finish_pending_refunds(settings, Insurance(connection.client, settings))
    cancelled = recovery.cancel_unfinished(connection.client, station, before=started)
    return [*resolved, *resumed, *cancelled]
