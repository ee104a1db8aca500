"""Settings: one TOML file plus environment overrides, read into one typed object.

With no configuration file the cashier is a *training station*: SQLite in the
data directory, the sandbox insurer, the demo catalog and operators, PDF
receipts and a visible 培训模式 banner. ``cashier init`` writes a file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cashier.errors import CashierError
from cashier.messages import say

APP_NAME = "cashier"
KINDS = ("clinic", "pharmacy")
PAPERS = ("80mm", "58mm", "a5", "a4")

#: Default key bindings: action id -> key. The contract in design.md; a config
#: ``[keymap]`` table may remap any of them (``pay = "f9"``).
DEFAULT_KEYMAP: dict[str, str] = {
    "help": "f1",
    "identify": "f2",
    "search": "f3",
    "quantity": "f4",
    "presettle": "f5",
    "toggle_account": "f6",
    "line_split": "f7",  # sale screen: the per-line insured / self-pay split
    "selfpay": "ctrl+s",  # an insured bill paid as self-pay instead
    "hold": "ctrl+g",  # 挂单: park the bill, serve the next patient
    "recall": "ctrl+r",  # 取单: take a parked bill back
    "menu": "ctrl+o",  # 功能: shifts, refunds, lookup, reports, reconciliation
    "pay": "f9",
    "exact_cash": "f10",
    "reprint": "f11",
    "void": "f12",
    "back": "escape",
    "note_50": "f7",
    "note_100": "f8",
    "remove_line": "delete",
    "hardware": "f8",
    "lock": "ctrl+l",
    "logout": "ctrl+q",
    "trace_waive": "ctrl+t",  # a supervisor's exception for boxes without their 追溯码
    "prescription": "ctrl+x",  # the prescription a 处方药 is dispensed on
}


class ConfigError(CashierError):
    """The configuration file is missing, unreadable or has a wrong value."""


@dataclass(frozen=True)
class PrinterSettings:
    url: str = (
        "pdf://"  # pdf://DIR (empty DIR: <data dir>/receipts), tcp://, usb://, serial://, file://
    )
    paper: str = "80mm"
    kick_drawer: bool = True


@dataclass(frozen=True)
class ScannerSettings:
    max_gap_ms: int = 50
    min_length: int = 6
    terminator: str = "enter"  # enter | tab
    serial_port: str = ""  # a USB-COM scanner, e.g. /dev/ttyACM0
    serial_baud: int = 9600
    camera: str = ""  # /dev/video0, or a folder of images (demos, tests)


@dataclass(frozen=True)
class InventorySettings:
    """The pharmacy's duties to the insurer (docs/pharmacy.md)."""

    #: 进销存 reported to the insurer (3501–3507, through the outbox): "auto" = a pharmacy
    #: does, a clinic does not; "on"; "off".
    report: str = "auto"
    #: Extra shapes taken as a box's 追溯码 besides the 20-digit 码上放心 code and a
    #: serialised GS1 code: one regular expression (alternatives with |).
    trace_patterns: str = ""
    #: Days before a batch's expiry (expy_end) that the counter warns about.
    expiry_warning_days: int = 30


@dataclass(frozen=True)
class ReceiptsSettings:
    """E-receipts and e-invoices (docs/receipts.md): ``provider`` none, fiscal (财政电子票据,
    every clinic sale) or tax (数电发票, when the patient asks)."""

    provider: str = "none"
    url: str = ""  # the service's address ("" on a training station: its sandbox)
    appid: str = ""  # fiscal: the clinic's appid
    key: str = ""  # fiscal: the signing key (a secret)
    place_code: str = ""  # fiscal: 开票点编码
    app_key: str = ""  # tax: the open platform's appKey
    app_secret: str = ""  # tax: its appSecret (a secret)
    access_token: str = ""  # tax
    saler_tax_num: str = ""  # tax: the pharmacy's 纳税人识别号
    goods_code: str = "1070301020000000000"  # tax: 税收分类编码 of the goods (the accountant's)
    tax_rate: str = "0.13"  # tax: the rate the prices include
    timeout_s: int = 10


@dataclass(frozen=True)
class DisplaySettings:
    url: str = ""  # customer pole display, e.g. serial:///dev/ttyUSB0?baud=2400&protocol=escq


@dataclass(frozen=True)
class WeChatSettings:
    """WeChat Pay 付款码 (docs/payments.md). A training station with no ``url`` charges the
    payment sandbox on loopback; a live station with no ``mch_id`` takes no WeChat codes."""

    api: str = "v2"  # v2: pay/micropay (XML, HMAC-SHA256); v3: codepay (JSON, RSA)
    url: str = ""  # https://api.mch.weixin.qq.com; empty: the sandbox (training only)
    appid: str = ""  # a 服务商's own appid (sp_appid) when sub_mch_id is set
    mch_id: str = ""  # a 服务商's own mch_id (sp_mchid) when sub_mch_id is set
    api_key: str = ""  # the v2 API key (商户平台 → API安全); keep this file 0600
    sub_mch_id: str = ""  # a 服务商's sub-merchant
    sub_appid: str = ""
    timeout_s: int = 10
    #: The merchant API certificate (商户平台 → API安全 → API证书): v2 presents it on
    #: reverse and refund (mutual TLS); v3 signs every request with its key.
    apiclient_cert_file: str = ""  # apiclient_cert.pem
    apiclient_key_file: str = ""  # apiclient_key.pem, mode 0600
    cert_serial_no: str = ""  # v3: the API certificate's serial number
    api_v3_key: str = ""  # v3: the APIv3 key (32 characters), opens the platform certificates
    platform_cert_file: str = ""  # v3: a pinned platform certificate (else downloaded)


@dataclass(frozen=True)
class AlipaySettings:
    """Alipay 当面付 条码支付 (docs/payments.md). Like [wechat]: training without ``url``
    charges the payment sandbox; a live station without ``app_id`` takes no Alipay codes."""

    url: str = ""  # https://openapi.alipay.com/gateway.do; empty: the sandbox (training only)
    app_id: str = ""
    private_key_file: str = ""  # the app's RSA2 private key (PEM), mode 0600
    alipay_public_key_file: str = ""  # 支付宝公钥 (PEM)
    app_auth_token: str = ""  # a 服务商 acting for the clinic
    timeout_s: int = 10


PROFILES = ("tif", "xca", "sm4")


@dataclass(frozen=True)
class InsurerSettings:
    """The insurer's gateway and everything a province sets (docs/insurer.md, "Province
    profiles"): going live in a province is this section, never a code change."""

    url: str = ""  # empty: the sandbox insurer on loopback (training)
    profile: str = "tif"  # tif | xca | sm4: how the gateway wants the message carried
    service_path: str = ""  # empty: /fsi/api/rsfComIfsService/callService (xca: /fsi/api/{infno})
    paasid: str = ""  # tif
    secret: str = ""  # tif: the signature secret
    xca_key: str = ""  # xca: x-ca-key
    xca_secret: str = ""  # xca: the HMAC-SM3 secret
    sm4_key: str = ""  # sm4: 32 hex; empty on a training station: the sandbox's demo keys
    sm2_private_key: str = ""  # sm4: this counter's SM2 key pair (64 / 128 hex)
    sm2_public_key: str = ""
    gateway_sm2_public_key: str = ""  # sm4: the gateway's, to verify its answers
    infver: str = "V1.0"
    recer_sys_code: str = "YBXT"
    dev_no: str = ""
    dev_safe_info: str = ""
    fixmedins_soft_fcty: str = ""  # 软件厂商, where the province asks for it
    insuplc_admdvs: str = ""  # the insured region to send before 1101 has said it
    ec_url: str = ""  # the e-voucher service; empty: the gateway's host
    local_ec_url: str = ""  # a localQrCodeQuery service on this PC (a certified scanner's)
    timeout_s: int = 30
    deadline_s: int = 0  # the whole call; 0: connect + read timeout
    max_answer_kib: int = 8192


@dataclass(frozen=True)
class VisitDefaults:
    """What a walk-in clinic bill (no doctor's order) sends the insurer as its department and
    doctor (2201, 2203, 2204); the diagnosis is asked at the counter. ``caty``: the 科别 to
    send when a department code is not one (see ``[departments]``)."""

    dept_code: str = ""
    dept_name: str = ""
    doctor_code: str = ""
    doctor_name: str = ""
    caty: str = ""


#: The training station's walk-in department and doctor.
TRAINING_VISIT = VisitDefaults(
    dept_code="A03", dept_name="内科", doctor_code="D000", doctor_name="门诊医生", caty="A03"
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_path: Path | None = None
    station_id: str = "TRAIN-01"
    station_name: str = "培训收费台"
    clinic_code: str = "H00000000001"
    clinic_name: str = "培训诊所（演示）"
    admvs: str = "110105"  # 就医地 area code (mdtrtarea_admvs)
    kind: str = "clinic"
    database_url: str = ""
    training: bool = True
    idle_lock_seconds: int = 300
    auto_presettle: bool = True  # pre-settle as soon as the patient is identified and lines are in
    #: Cash handed over this many times what is still due (above a ¥100 note), or ¥1000 or
    #: more over it, is confirmed with the change shown before it is taken (a mistyped 1250
    #: for ¥12.50). 0: never asked.
    cash_confirm_factor: int = 10
    #: Where the log file goes ("" = the user log directory, or logs/ in a data directory
    #: given with --data-dir). Also CASHIER_LOG_DIR.
    log_dir: str = ""
    orders_folder: str = ""  # the clinic system's drop folder; empty: <data dir>/orders-inbox
    console_host: str = "127.0.0.1"  # `cashier console`: the supervisor console in a browser
    console_port: int = 8765
    #: The console's address as the supervisors' browsers reach it, when that is not the
    #: address they asked (behind a reverse proxy: "https://console.clinic.lan"); empty:
    #: each page is built with the address its browser used.
    console_public_url: str = ""
    low_spec: bool = False  # docs/low-spec.md: ANSI colours, no animation; CASHIER_LOW_SPEC=1
    #: The business time zone (cashier.timezone): receipts, business days and the insurer's
    #: inf_time are China's whatever the PC's own zone is.
    time_zone: str = "Asia/Shanghai"
    #: The station key (audit chain, personal data at rest); empty: <data dir>/station.key.
    #: Counters sharing one database share one key file (CASHIER_KEY_FILE).
    key_file: str = ""
    backup_dir: str = ""  # `cashier backup` and each Z close; empty: <data dir>/backups
    backup_keep_days: int = 30
    printer: PrinterSettings = field(default_factory=PrinterSettings)
    scanner: ScannerSettings = field(default_factory=ScannerSettings)
    insurer: InsurerSettings = field(default_factory=InsurerSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    inventory: InventorySettings = field(default_factory=InventorySettings)
    receipts: ReceiptsSettings = field(default_factory=ReceiptsSettings)
    visit: VisitDefaults = field(default_factory=VisitDefaults)
    wechat: WeChatSettings = field(default_factory=WeChatSettings)
    alipay: AlipaySettings = field(default_factory=AlipaySettings)
    keymap: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYMAP))
    #: The clinic's department codes → 科别 codes (``caty``), for codes that are not 科别 codes.
    departments: dict[str, str] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'cashier.db'}"

    @property
    def key_path(self) -> Path:
        return Path(self.key_file).expanduser() if self.key_file else self.data_dir / "station.key"

    @property
    def backups_dir(self) -> Path:
        return Path(self.backup_dir).expanduser() if self.backup_dir else self.data_dir / "backups"

    @property
    def receipts_dir(self) -> Path:
        return self.data_dir / "receipts"

    @property
    def reports_dir(self) -> Path:
        """Where exported reports go (end of day, reconciliation)."""
        return self.data_dir / "reports"

    @property
    def orders_dir(self) -> Path:
        return Path(self.orders_folder) if self.orders_folder else self.data_dir / "orders-inbox"

    def key(self, action: str) -> str:
        return self.keymap.get(action, DEFAULT_KEYMAP[action])

    @property
    def reports_inventory(self) -> bool:
        """Whether this station reports 进销存 to the insurer (3501–3507)."""
        if self.inventory.report == "auto":
            return self.kind == "pharmacy"
        return self.inventory.report == "on"

    @property
    def ebill_place(self) -> str | None:
        """The 开票点 of this station's 财政电子票据, or ``None`` when it issues none."""
        return (
            self.receipts.place_code or self.station_id
            if self.receipts.provider == "fiscal"
            else None
        )

    @property
    def trace_patterns(self) -> tuple[re.Pattern, ...]:
        text = self.inventory.trace_patterns
        return (re.compile(text),) if text else ()

    @property
    def walk_in(self) -> VisitDefaults:
        """The walk-in department and doctor: configured, else the training station's."""
        if self.visit.dept_code or not self.training:
            return self.visit
        return TRAINING_VISIT


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False)) / "cashier.toml"


_SECTIONS = {
    "printer": PrinterSettings,
    "scanner": ScannerSettings,
    "insurer": InsurerSettings,
    "display": DisplaySettings,
    "inventory": InventorySettings,
    "receipts": ReceiptsSettings,
    "visit": VisitDefaults,
    "wechat": WeChatSettings,
    "alipay": AlipaySettings,
}
_TOP = {f.name for f in fields(Settings)} - {
    "data_dir",
    "config_path",
    *_SECTIONS,
    "keymap",
    "departments",
}


def load_settings(config: str | Path | None = None, data_dir: str | Path | None = None) -> Settings:
    """Read the settings: arguments first, then ``CASHIER_CONFIG`` / ``CASHIER_DATA_DIR``.

    A configuration path that was named but does not exist is an error; with
    none named and none at the default place, the training station's defaults.
    """
    config = config or os.environ.get("CASHIER_CONFIG") or None
    data_dir = data_dir or os.environ.get("CASHIER_DATA_DIR") or None
    path: Path | None
    if config:
        path = Path(config).expanduser()
        if not path.is_file():
            raise ConfigError(say("config.file_missing", path=path))
    else:
        path = default_config_path()
        if not path.is_file():
            path = None
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(say("config.file_unreadable", path=path, exc=exc)) from None
        except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
            raise ConfigError(
                say("config.file_problem", path=path, value=toml_problem(str(exc)))
            ) from None
    settings = settings_from_dict(raw, data_dir=data_dir, config_path=path)
    if os.environ.get("CASHIER_DATABASE_URL"):
        settings = replace(settings, database_url=os.environ["CASHIER_DATABASE_URL"])
    if os.environ.get("CASHIER_KEY_FILE"):
        settings = replace(settings, key_file=os.environ["CASHIER_KEY_FILE"])
    if os.environ.get("CASHIER_LOG_DIR"):
        settings = replace(settings, log_dir=os.environ["CASHIER_LOG_DIR"])
    low_spec = env_flag("CASHIER_LOW_SPEC")
    if low_spec is not None:
        settings = replace(settings, low_spec=low_spec)
    return settings


#: tomllib's messages, in the words of the person who edits the file.
_TOML_WORDS = (
    ("Expected '=' after a key", say("config.toml.eq_missing")),
    ("Invalid value", say("config.toml.bad_value")),
    ("Expected ']' at the end of a table", say("config.toml.table_bracket")),
    ("Unclosed array", say("config.toml.array_bracket")),
    ("Unterminated string", say("config.toml.quote")),
    ("Illegal character", say("config.toml.bad_char")),
    ("Cannot overwrite a value", say("config.toml.value_twice")),
    ("Cannot declare", say("config.toml.table_twice")),
    ("Invalid statement", say("config.toml.unreadable_line")),
    ("Invalid initial character for a key", say("config.toml.key_start")),
    ("Expected newline or end of document", say("config.toml.one_per_line")),
)


def toml_problem(message: str) -> str:
    """A tomllib error as the cashier's technician reads it: where, and what is wrong."""
    import re

    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    at = say("config.toml.at", where=where[1], where2=where[2]) if where else ""
    if not where and "(at end of document)" in message:
        at, where = say("config.toml.at_end"), True
    words = next((zh for en, zh in _TOML_WORDS if message.startswith(en)), "")
    if not words:
        words = (
            say("config.toml.syntax") if where else say("config.toml.syntax_said", message=message)
        )
    return f"{at}：{words}" if at else words


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_flag(name: str) -> bool | None:
    """A yes/no environment variable: ``None`` when unset or empty; a wrong value is an error."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(say("config.env_flag", name=name, environ=os.environ[name]))


def settings_from_dict(
    raw: dict[str, Any], *, data_dir: str | Path | None = None, config_path: Path | None = None
) -> Settings:
    """Validate a parsed TOML table into :class:`Settings`; unknown keys are named and refused.
    Every problem is found and said at once (one line), not the first one per try."""
    where = str(config_path) if config_path else say("config.toml.the_config")
    problems: list[str] = []

    def typed(name: str, value: Any, annotation: Any) -> tuple[bool, Any]:
        try:
            return True, _typed(name, value, annotation)
        except ConfigError as exc:
            problems.append(str(exc))
            return False, None

    unknown = set(raw) - _TOP - set(_SECTIONS) - {"keymap", "data_dir", "departments"}
    if unknown:
        problems.append(say("config.unknown_settings", value=", ".join(sorted(unknown))))
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in _TOP and f.name in raw:
            ok, value = typed(f.name, raw[f.name], f.type)
            if ok:
                kwargs[f.name] = value
    for name, cls in _SECTIONS.items():
        section = raw.get(name, {})
        if not isinstance(section, dict):
            problems.append(say("config.not_table", name=name))
            continue
        bad = set(section) - {f.name for f in fields(cls)}
        if bad:
            problems.append(say("config.unknown_in_table", name=name, value=", ".join(sorted(bad))))
        values = {}
        for f in fields(cls):
            if f.name in section:
                ok, value = typed(f"{name}.{f.name}", section[f.name], f.type)
                if ok:
                    values[f.name] = value
        kwargs[name] = cls(**values)
    keymap = dict(DEFAULT_KEYMAP)
    user_keys = raw.get("keymap", {})
    if not isinstance(user_keys, dict) or not all(isinstance(v, str) for v in user_keys.values()):
        problems.append(say("config.keymap_shape"))
    else:
        bad = set(user_keys) - set(DEFAULT_KEYMAP)
        if bad:
            problems.append(say("config.keymap_unknown", value=", ".join(sorted(bad))))
        keymap.update({k: v for k, v in user_keys.items() if k in DEFAULT_KEYMAP})
    kwargs["keymap"] = keymap
    departments = raw.get("departments", {})
    if not isinstance(departments, dict) or not all(
        isinstance(v, str) for v in departments.values()
    ):
        problems.append(say("config.departments_shape"))
        departments = {}
    kwargs["departments"] = dict(departments)
    chosen_dir = data_dir
    if not chosen_dir:
        _, chosen_dir = typed("data_dir", raw.get("data_dir", ""), "str")
    try:
        kwargs["data_dir"] = Path(chosen_dir).expanduser() if chosen_dir else default_data_dir()
    except RuntimeError:  # ~user whose home directory is unknown
        problems.append(say("config.data_dir_tilde", chosen_dir=chosen_dir))
        kwargs["data_dir"] = default_data_dir()
    settings = Settings(config_path=config_path, **kwargs)
    if settings.kind not in KINDS:
        problems.append(say("config.kind", kind=settings.kind))
    if settings.printer.paper not in PAPERS:
        problems.append(say("config.paper", value=" / ".join(PAPERS)))
    if settings.insurer.profile not in PROFILES:
        problems.append(say("config.profile", value=" / ".join(PROFILES)))
    if settings.scanner.terminator not in ("enter", "tab"):
        problems.append(say("config.terminator"))
    if settings.receipts.provider not in ("none", "fiscal", "tax"):
        problems.append(say("config.receipts_provider"))
    if settings.inventory.report not in ("auto", "on", "off"):
        problems.append(say("config.inventory_report"))
    try:
        from cashier.timezone import tz_value

        tz_value(settings.time_zone)
    except CashierError as exc:
        problems.append(str(exc))
    try:
        settings.trace_patterns  # noqa: B018 (compiled here to say what is wrong)
    except re.error as exc:
        problems.append(say("config.trace_patterns", why=str(exc)))
    if problems:
        count = say("config.problem_count", problems=len(problems)) if len(problems) > 1 else ""
        raise ConfigError(f"{where}：{count}{'；'.join(problems)}")
    return settings


def _typed(name: str, value: Any, annotation: Any) -> Any:
    expected = {"str": str, "int": int, "bool": bool}.get(str(annotation))
    if expected is None:
        return value
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(say("config.whole_number", name=name))
    if not isinstance(value, expected):
        raise ConfigError(
            say(
                "config.must_be",
                name=name,
                value={str: say("config.text_type"), bool: "true/false"}[expected],
            )
        )
    return value


def config_warnings(settings: Settings) -> tuple[str, ...]:
    """What the cashier warns about at start (the command line on stderr, the app in a
    notice): a configuration file holding a secret, or a private key file, that others can
    read."""
    secrets = (
        settings.insurer.secret
        or settings.wechat.api_key
        or settings.wechat.api_v3_key
        or settings.receipts.key
        or settings.receipts.app_secret
    )
    files = [
        (settings.config_path, say("config.config_file"), say("config.holds_keys"))
        if settings.config_path is not None and secrets
        else None,
        *(
            (Path(name).expanduser(), say("config.private_key"), "")
            for name in (settings.wechat.apiclient_key_file, settings.alipay.private_key_file)
            if name
        ),
    ]
    warnings = []
    for entry in filter(None, files):
        path, kind, holds = entry
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(
                say(
                    "config.others_can_read",
                    kind=kind,
                    path=path,
                    holds=holds,
                    value="，" if holds else "",
                    stat=stat.filemode(mode),
                )
            )
    return tuple(warnings)


def write_settings(settings: Settings, path: Path) -> None:
    """Write the configuration file, mode 0600 (it may hold the insurer's secret).

    The file is read and changed in place (tomlkit, a round-trip TOML library): a
    technician's comments, order and layout stay; a setting already in the file is kept
    there (changed when it changed); one not in it is added only when it differs from the
    training station's default, so the file says what is particular to this counter."""
    import tomlkit

    data = _as_table(settings)
    defaults = _as_table(settings_from_dict({}, data_dir=settings.data_dir))
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
        doc = None  # unreadable: written anew (load_settings has said why already)
    if doc is None:
        doc = tomlkit.document()
        doc.add(tomlkit.comment(say("config.written_by")))
    _merge(doc, data, defaults)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(tomlkit.dumps(doc))
    os.replace(tmp, path)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def _as_table(settings: Settings) -> dict[str, Any]:
    data = asdict(settings)
    data.pop("config_path")
    data["data_dir"] = str(settings.data_dir)
    data["keymap"] = {k: v for k, v in settings.keymap.items() if DEFAULT_KEYMAP.get(k) != v}
    return data


def _merge(doc, data: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Set ``data`` into the TOML ``doc`` in place: a key in the file follows ``data``; a
    key not in it is added when it is not its default. TOML has no null: ``None`` is
    left out (and taken out of the file)."""
    import tomlkit

    for key, value in data.items():
        default = defaults.get(key) if isinstance(defaults, dict) else None
        value = list(value) if isinstance(value, tuple) else value
        default = list(default) if isinstance(default, tuple) else default
        if isinstance(value, dict):
            if key not in doc:
                if value == default or not value:
                    continue
                doc[key] = tomlkit.table()
            _merge(doc[key], value, default if isinstance(default, dict) else {})
        elif value is None:
            if key in doc:
                del doc[key]
        elif key in doc:
            if doc[key] != value:
                doc[key] = value
        elif value != default or key == "data_dir":
            doc[key] = value
