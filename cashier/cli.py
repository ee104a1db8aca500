"""The command line (a contract: see design.md). Errors: one line on stderr, exit non-zero."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import replace
from pathlib import Path

from cashier import logs
from cashier.config import (
    KINDS,
    Settings,
    config_warnings,
    default_config_path,
    load_settings,
    write_settings,
)
from cashier.errors import BUSY_MESSAGE, CashierError, database_trouble, internal
from cashier.messages import say

EXIT_ERROR = 1
EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    # On subcommands the default is SUPPRESS, so `cashier --data-dir D sandbox`
    # keeps D instead of the subcommand's empty default overwriting it.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config", metavar="FILE", default=default, help="配置文件（或环境变量 CASHIER_CONFIG）"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", default=default, help="数据目录（或环境变量 CASHIER_DATA_DIR）"
    )


def _privileged(parser: argparse.ArgumentParser) -> None:
    """A command that needs an operator of a role: asked at the terminal, or given to scripts
    as ``--operator CODE --pin-stdin`` (the PIN is the first line of standard input)."""
    parser.add_argument("--operator", metavar="CODE", help="执行此命令的收费组长工号")
    parser.add_argument(
        "--pin-stdin",
        action="store_true",
        help="从标准输入读取 PIN（脚本用；第一行为 --operator 的 PIN）",
    )


def build_parser() -> argparse.ArgumentParser:
    from cashier import __version__

    parser = argparse.ArgumentParser(prog="cashier", description="门诊收费 / 药店收银")
    parser.add_argument("--version", action="version",
                        version=f"cashier {__version__} (yibao-cashier)")  # fmt: skip
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="创建或升级数据库并写入配置")
    _common(p)
    p.add_argument("--database", metavar="URL", help="sqlite:///路径 或 postgresql://…")
    p.add_argument("--station", metavar="ID", help="收费台编号，如 MZ-01")
    p.add_argument("--kind", choices=KINDS, help="clinic（诊所）或 pharmacy（药店）")
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="第一台收费台的站点密钥（共用 PostgreSQL 的收费台共用一把），复制到本机",
    )

    p = sub.add_parser("import", help="导入商品目录或医嘱")
    _common(p)
    p.add_argument("what", choices=("catalog", "orders"))
    p.add_argument("file", metavar="FILE")
    _privileged(p)

    p = sub.add_parser(
        "stock",
        help="药店库存（按批次）：receive 入库 / count 盘点 / adjust 变更 / return 退供应商 / "
        "recall 召回 / list",
    )
    _common(p)
    p.add_argument("action", choices=("receive", "count", "adjust", "return", "recall", "list"))
    p.add_argument(
        "target", nargs="?", metavar="FILE|BATCH|ITEM",
        help="receive：送货单 CSV；count：盘点 CSV（bchno,counted）；adjust/return/recall：批次号；"
        "list：商品编码（可不填）",
    )  # fmt: skip
    p.add_argument("--boxes", type=int, help="盒数（adjust、return）")
    p.add_argument(
        "--kind", choices=("gain", "loss", "damage", "transfer_in", "transfer_out"),
        help="变更类型（adjust）：gain 盘盈 / loss 盘亏 / damage 报损 / transfer_in / transfer_out",
    )  # fmt: skip
    p.add_argument("--reason", default="", help="原因（adjust、return、recall）")
    _privileged(p)

    p = sub.add_parser("outbox", help="医保进销存上报队列：list / send / retry ID / drop ID")
    _common(p)
    p.add_argument("action", choices=("list", "send", "retry", "drop", "withdraw"))
    p.add_argument("id", nargs="?", type=int, help="单据序号（retry、drop、withdraw）")
    p.add_argument("--reason", help="原因（drop 放弃上报、withdraw 用 3507 撤回已上报的单据）")
    _privileged(p)

    p = sub.add_parser(
        "catalog", help="医保目录：sync 下载（1301/1302/1305）/ map 对照上传（3301）或删除（3302）"
    )
    _common(p)
    p.add_argument("action", choices=("sync", "map"))
    p.add_argument("item", nargs="?", metavar="ITEM", help="map：本店商品编码（不填：列出待对照）")
    p.add_argument("code", nargs="?", metavar="MED_LIST_CODG", help="map：医保目录编码")
    p.add_argument("--kind", choices=("1301", "1302", "1305"), help="sync：只下载一个目录")
    p.add_argument("--delete", action="store_true", help="map：删除该商品的对照（3302）")
    _privileged(p)

    p = sub.add_parser(
        "support-bundle",
        help="打包日志、版本、配置（不含密钥）和数据库健康状况，发给技术支持",
    )
    _common(p)
    p.add_argument("--out", metavar="FILE", help="写到此文件或目录（默认当前目录）")

    p = sub.add_parser(
        "selftest", help="安装后自检：在临时培训站完成一笔自费和一笔医保收费，打印 PDF 收据"
    )
    p.add_argument("--keep", metavar="DIR", help="培训站放在此目录并保留（查看收据）")

    p = sub.add_parser("print-test", help="打印一张测试收据")
    _common(p)
    p.add_argument("--printer", metavar="URL", help="tcp://、usb://、serial://、file://、pdf://DIR")

    p = sub.add_parser("verify-audit", help="校验审计日志的哈希链")
    _common(p)

    p = sub.add_parser("reconcile", help="对账：payments 付款码收款与支付平台的对账单核对")
    _common(p)
    p.add_argument("what", choices=("payments",))
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="日期（本地）")
    p.add_argument(
        "--provider", choices=("wechat", "alipay"), help="只核对一个支付平台（默认：已配置的全部）"
    )
    _privileged(p)

    p = sub.add_parser("payments", help="付款码：check 检查支付平台的配置")
    _common(p)
    p.add_argument("action", choices=("check",))

    p = sub.add_parser("backup", help="备份数据库（SQLite 在线备份），或列出备份")
    _common(p)
    p.add_argument(
        "--to", metavar="DIR", help="备份目录（默认配置中的 backup_dir，即 数据目录/backups）"
    )
    p.add_argument("--list", action="store_true", help="列出已有的备份，最新的在前")
    _privileged(p)

    p = sub.add_parser("operator", help="收费员：add / unlock / list")
    _common(p)
    p.add_argument("action", choices=("add", "unlock", "list"))
    p.add_argument("code", nargs="?", help="工号")
    p.add_argument("--name", help="姓名（add）")
    p.add_argument("--role", choices=("cashier", "supervisor", "admin"), default="cashier")
    p.add_argument(
        "--cert-no", help="药师的执业资格证号（add；审核处方药的药师须登记）", default=None
    )
    _privileged(p)

    p = sub.add_parser("sandbox", help="模拟医保平台：运行服务，或 people / qr")
    _common(p)
    p.add_argument(
        "action",
        nargs="?",
        choices=("people", "qr", "card", "paycode", "payments"),
        help="不给出则运行服务",
    )
    p.add_argument(
        "person",
        nargs="?",
        help="人员编号、身份证号、卡号或姓名（qr / card）；paycode：wechat 或 alipay",
    )
    p.add_argument(
        "--scenario",
        default="pay",
        help="paycode：pay、password、password-cancel、insufficient、expired、"
        "system-error、lost-answer、no-answer、refund-lost、late",
    )
    p.add_argument(
        "--amount-limit", metavar="YUAN", help="paycode：顾客余额，超过此金额的收款答余额不足"
    )
    p.add_argument("--json", action="store_true", help="payments：以 JSON 输出")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="默认：配置中的端口或 8701")
    p.add_argument("--people", metavar="FILE", help="新沙箱的人员文件（TOML）")
    p.add_argument("--policy", metavar="FILE", help="结算政策文件（TOML）")
    p.add_argument("--catalog", metavar="FILE", help="医保目录 CSV")
    p.add_argument(
        "--profile",
        choices=("tif", "xca", "sm4"),
        help="网关传输方式（默认：配置中的 insurer.profile，即 tif）",
    )
    p.add_argument(
        "--server-timing",
        action="store_true",
        help="每个答复附 Server-Timing 头，说明沙箱处理用时（基准测试用）",
    )
    p.add_argument("--png", metavar="FILE", help="qr：另存为 PNG")
    p.add_argument("--payload", action="store_true", help="qr：只输出扫码内容")
    p.add_argument("--vpcd", metavar="HOST:PORT", help="card：虚拟读卡器地址")
    p.add_argument("--qr-lifetime", type=int, metavar="SECONDS", help="医保码有效期（默认 60 秒）")
    p.add_argument(
        "--hospital",
        action="append",
        default=[],
        metavar="CODE=LEVEL",
        help="医院等级（1/2/3），未列出的为一级；可重复",
    )

    p = sub.add_parser("read-card", help="读社保卡并输出各字段")
    _common(p)
    p.add_argument("--reader", metavar="NAME", help="读卡器名称（默认：第一个插着卡的）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--full", action="store_true", help="不遮盖姓名和社会保障号码")

    p = sub.add_parser("console", help="组长控制台：在浏览器中打开报表、班次、查单和对账")
    _common(p)
    p.add_argument("--host", help="监听地址（默认配置中的 console_host，即 127.0.0.1）")
    p.add_argument("--port", type=int, help="端口（默认配置中的 console_port）")
    p.add_argument("--app", action="store_true", help="在本终端中运行控制台（不经浏览器）")

    p = sub.add_parser("report", help="报表：eod 日结报表（PDF、CSV 或 Excel xlsx）")
    _common(p)
    p.add_argument("which", choices=("eod",), help="eod：日结报表")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="日期（本地），或起始日期")
    p.add_argument("--to", metavar="YYYY-MM-DD", help="结束日期（含），默认同 --date")
    p.add_argument("--format", choices=("pdf", "csv", "xlsx"), help="默认按 --out 的扩展名")
    p.add_argument("--out", required=True, metavar="FILE", help="输出文件")
    p.add_argument("--station", metavar="ID", help="只统计一个收费台（默认：全院）")
    _privileged(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except CashierError as exc:
        print(f"cashier: {exc}", file=sys.stderr)
        logs.shown(str(exc), exc, where=f"cli {args.command or ''}".strip())
        return EXIT_ERROR
    except BrokenPipeError:  # `cashier ... | head`: the reader left, nothing to say
        return 0
    except KeyboardInterrupt:
        print(say("cli.interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, never a traceback
        trouble = database_trouble(exc)
        if trouble == BUSY_MESSAGE:
            print(say("cli.busy", BUSY_MESSAGE=BUSY_MESSAGE), file=sys.stderr)
            return EXIT_ERROR
        if trouble:
            print(f"cashier: {trouble}", file=sys.stderr)
            return EXIT_ERROR
        print(f"cashier: {internal(exc)}", file=sys.stderr)
        logs.shown(internal(exc), exc, where=f"cli {args.command or ''}")
        return EXIT_ERROR


def _settings(args: argparse.Namespace) -> Settings:
    from cashier import timezone

    settings = load_settings(args.config, args.data_dir)
    # Every command dates in the business zone, one that opens no station too: a 医保码
    # issued by `cashier sandbox qr` on a PC left on UTC died eight hours before the
    # counter (on China's time) read it.
    timezone.use(settings.time_zone)
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise CashierError(say("cli.data_dir_is_file", data_dir=settings.data_dir))
    for warning in config_warnings(settings):
        print(say("cli.warning", warning=warning), file=sys.stderr)
    return settings


def _existing(settings: Settings) -> Settings:
    """The settings of a station that exists: a command that reads a station's books never
    makes an empty one from a mistyped --data-dir (and reports zeros with success)."""
    if settings.database_url:
        return settings  # a shared server: the station is wherever the server says
    if not (settings.data_dir / "cashier.db").exists():
        raise CashierError(say("cli.no_station", data_dir=settings.data_dir))
    return settings


class _Stdin:
    """Standard input read a line at a time: the operator's PIN first, then (``operator add``)
    the new PIN."""

    def __init__(self) -> None:
        self._lines = None

    def line(self, what: str) -> str:
        if self._lines is None:
            self._lines = iter(sys.stdin.read().splitlines())
        try:
            return next(self._lines).strip()
        except StopIteration:
            raise CashierError(say("cli.stdin_missing", what=what)) from None


def _sign_in(args: argparse.Namespace, station: str, need, stdin: _Stdin):
    """The operator a privileged command runs as (core rules: ``operators.authorize``)."""
    from cashier.services import operators

    code = args.operator
    if args.pin_stdin:
        if not code:
            raise CashierError(say("cli.needs_operator", label=need.label))
        pin = stdin.line(" --operator 的 PIN")
    elif sys.stdin.isatty():
        code = code or input(f"{need.label}工号：").strip()
        pin = getpass.getpass("PIN：")
    else:
        raise CashierError(say("cli.needs_operator_stdin", label=need.label))
    return operators.authorize(station, code, pin, need, via=f"cli {args.command}")


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        return _run_tui(args)
    if command == "init":
        return _init(args)
    if command == "import":
        return _import(args)
    if command == "print-test":
        return _print_test(args)
    if command == "support-bundle":
        return _support_bundle(args)
    if command == "selftest":
        from cashier import selftest

        return selftest.run(keep=Path(args.keep) if args.keep else None)
    if command == "stock":
        return _stock(args)
    if command == "catalog":
        return _catalog(args)
    if command == "outbox":
        return _outbox(args)
    if command == "verify-audit":
        return _verify_audit(args)
    if command == "operator":
        return _operator(args)
    if command == "backup":
        return _backup(args)
    if command == "payments":
        return _payments(args)
    if command == "reconcile":
        return _reconcile(args)
    if command == "sandbox":
        return _sandbox(args)
    if command == "read-card":
        return _read_card(args)
    if command == "report":
        return _report(args)
    if command == "console":
        return _console(args)
    print(say("cli.not_in_version", command=command), file=sys.stderr)
    return EXIT_USAGE


def _run_tui(args: argparse.Namespace) -> int:
    from cashier.services.locks import hold_station
    from cashier.services.station import open_station

    settings = _settings(args)
    hold_station(settings)  # held until the process ends: one running counter per station
    ctx = open_station(
        settings,
        on_wait=lambda message: print(f"cashier: {message}", file=sys.stderr),
        check_beside=True,  # ten years of sales are not read before the login screen
    )
    from cashier.services import claims, trace

    claims.release_all(settings.station_id)  # its bills from before this start are gone
    trace.release_stale(settings.station_id)  # and the boxes they held
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        print(say("cli.needs_terminal"), file=sys.stderr)
        return EXIT_USAGE
    from cashier.ui.app import CashierApp

    CashierApp(ctx).run()
    return 0


def _console(args: argparse.Namespace) -> int:
    from cashier.services.station import open_station

    settings = _settings(args)
    if not args.app:
        from cashier.ui.console import serve

        host = args.host or settings.console_host
        port = args.port or settings.console_port
        print(say("cli.console_at", host=host, port=port), file=sys.stderr)
        return serve(settings, host=host, port=port, config=args.config, data_dir=args.data_dir)
    ctx = open_station(settings)
    from cashier.ui.console import ConsoleApp

    ConsoleApp(ctx).run()
    return 0


def _init(args: argparse.Namespace) -> int:
    from cashier.services.station import open_station

    path = Path(args.config or os.environ.get("CASHIER_CONFIG") or default_config_path())
    if path.is_file():
        settings = load_settings(path, args.data_dir)
    else:
        settings = load_settings(None, args.data_dir)
        settings = replace(settings, config_path=path)
    if args.database:
        settings = replace(settings, database_url=args.database)
    if args.station:
        settings = replace(settings, station_id=args.station, station_name=f"收费台 {args.station}")
    if args.kind:
        settings = replace(settings, kind=args.kind)
    if args.key_file:
        _copy_key(Path(args.key_file).expanduser(), settings.key_path)
    ctx = open_station(settings)
    write_settings(settings, path)
    from cashier.store import SCHEMA_VERSION, redact

    print(say("cli.config_path", path=path))
    print(say("cli.database", value=redact(settings.db_url), SCHEMA_VERSION=SCHEMA_VERSION))
    print(
        say(
            "cli.station",
            station_id=settings.station_id,
            kind=settings.kind,
            value="，培训模式" if ctx.training else "",
        )
    )
    return 0


def _copy_key(source: Path, target: Path) -> None:
    """The station key of the first counter, copied here owner-only (never over another)."""
    from cashier.store.keys import load_key

    key = load_key(source, create=False)  # checks it is a key
    if target.exists():
        if load_key(target, create=False).secret != key.secret:
            raise CashierError(say("cli.key_exists", target=target))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.secret.hex() + "\n")


def _bar(show: bool, done: int, total: int | None, label: str = "") -> None:
    """A progress bar on the terminal (stderr, only when it is one): ``[####....] done/total``,
    or the running count when the total is not known."""
    if not show:
        return
    head = f"{label} " if label else ""
    if not total:
        print(f"\r{head}{done:,}", end="", file=sys.stderr, flush=True)
        return
    width = 30
    filled = min(width * done // total, width)
    print(f"\r{head}[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end="",
          file=sys.stderr, flush=True)  # fmt: skip


def _import(args: argparse.Namespace) -> int:
    from cashier.services.catalog import CatalogImportError, import_catalog
    from cashier.services.operators import Role
    from cashier.services.station import open_station

    if args.what == "orders":
        return _import_orders(args)
    settings = _settings(args)  # a new station may start with its own catalog
    open_station(settings, seed=False, operators_only=True)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    show = sys.stderr.isatty()
    try:
        result = import_catalog(
            args.file,
            progress=lambda done, total: _bar(show, done, total),
            by=who,
            station_id=settings.station_id,
        )
    except CatalogImportError as exc:
        for line, message in exc.problems:
            print(f"{args.file}:{line}: {message}", file=sys.stderr)
        raise
    if show:
        print(file=sys.stderr)
    print(say("cli.imported", total=result.total, created=result.created, updated=result.updated))
    return 0


def _stock(args: argparse.Namespace) -> int:
    from cashier.services import stock
    from cashier.services.operators import Role
    from cashier.services.station import open_station

    settings = _existing(_settings(args))
    open_station(settings, seed=False)
    station, reports = settings.station_id, settings.reports_inventory
    if args.action == "list":
        for b in stock.batches(args.target):
            state = say("cli.stock_recalled") if b.recalled else ""
            print(f"{b.bchno}\t{b.item.code}\t{b.item.name}\t{b.manu_lotnum}\t"
                  f"{b.expy_end}\t{b.quantity}\t{state}".rstrip())  # fmt: skip
        return 0
    if not args.target:
        raise CashierError(say("cli.stock_target"))
    who = _sign_in(args, station, Role.SUPERVISOR, _Stdin())
    if args.action in ("receive", "count"):
        path = Path(args.target)
        try:
            with path.open(encoding="utf-8-sig", newline="") as f:
                if args.action == "count":
                    counted = _counted(f)
                    for bchno, books, found in stock.count(station, counted, who, reports=reports):
                        print(f"{bchno}\t{books}\t{found}\t{found - books:+d}")
                    return 0
                rows = stock.read_delivery(f, args.target)
        except FileNotFoundError:
            raise CashierError(say("catalog.file_missing", path=args.target)) from None
        except UnicodeDecodeError:
            raise CashierError(say("catalog.not_utf8", path=args.target)) from None
        except stock.StockImportError as exc:
            for line, message in exc.problems:
                print(f"{args.target}:{line}: {message}", file=sys.stderr)
            raise
        done = stock.receive(station, rows, who, reports=reports, source=args.target)
        print(say("cli.stock_received", batches=len(done.batches), boxes=done.boxes))
        return 0
    if args.action == "recall":
        batch = stock.recall(station, args.target, args.reason, who)
    elif args.action == "return":
        batch = stock.return_to_supplier(station, args.target, args.boxes or 0, args.reason, who,
                                         reports=reports)  # fmt: skip
    else:
        batch = stock.adjust(station, args.target, args.boxes or 0, args.kind or "",
                             args.reason, who, reports=reports)  # fmt: skip
    print(say("cli.stock_batch", bchno=batch.bchno, quantity=batch.quantity))
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from cashier.services import insurer_catalogs
    from cashier.services.operators import Role
    from cashier.services.station import connect_insurer, open_station
    from cashier.store.models import Item

    settings = _existing(_settings(args))
    open_station(settings, seed=False)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    if args.action == "map" and not args.item:  # what waits for a mapping, with suggestions
        waiting = insurer_catalogs.unmapped_items()
        for item in waiting:
            found = insurer_catalogs.candidates(item, limit=3)
            shown = "；".join(f"{c.med_list_codg} {c.name} {c.spec}" for c in found)
            print(f"{item.code}\t{item.name}\t{item.spec}\t{shown}")
        print(say("cli.catalog_unmapped", count=len(waiting)))
        return 0
    connection = connect_insurer(settings)
    operator = (who.code, who.name)
    show = sys.stderr.isatty()
    try:
        if args.action == "sync":
            for kind in [args.kind] if args.kind else list(insurer_catalogs.CATALOGS):
                done = insurer_catalogs.sync(
                    connection.client, operator, kind, fixmedins_code=settings.clinic_code,
                    progress=lambda read, expected, kind=kind: _bar(show, read, expected, kind),
                )  # fmt: skip
                if show:
                    print(file=sys.stderr)
                print(say("cli.catalog_synced", catalog=kind, entries=done.entries,
                          files=done.files, ver=done.ver))  # fmt: skip
            return 0
        item = Item.get_or_none(Item.code == args.item)
        if item is None:
            raise CashierError(say("checkout.no_item", code=args.item))
        if args.delete:
            insurer_catalogs.delete_mapping(connection.client, operator, settings.station_id, item)
            print(say("cli.catalog_unmapped_one", code=item.code))
            return 0
        if not args.code:
            for c in insurer_catalogs.candidates(item):
                print(f"{c.med_list_codg}\t{c.name}\t{c.spec}\t{c.aprvno}\t{c.maker}")
            return 0
        insurer_catalogs.upload_mapping(connection.client, operator, settings.station_id, item,
                                        args.code)  # fmt: skip
        print(say("cli.catalog_mapped", code=item.code, med_list_codg=args.code))
        return 0
    finally:
        connection.close()


def _counted(rows) -> dict[str, int]:
    """A count sheet: ``bchno,counted`` with a header."""
    import csv

    counted: dict[str, int] = {}
    for n, row in enumerate(csv.DictReader(rows), 2):
        bchno, found = (row.get("bchno") or "").strip(), (row.get("counted") or "").strip()
        if not bchno or not found.isdigit():
            raise CashierError(say("cli.stock_count_row", line=n))
        counted[bchno] = int(found)
    return counted


def _outbox(args: argparse.Namespace) -> int:
    from cashier.services import inventory, outbox, senders
    from cashier.services.operators import Role
    from cashier.services.station import connect_insurer, open_station

    settings = _existing(_settings(args))
    open_station(settings, seed=False)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    if args.action == "list":
        for doc in outbox.waiting():
            why = f"\t{doc.last_error}" if doc.last_error else ""
            print(f"{doc.id}\t{doc.infno}\t{doc.doc_no}\t{outbox.label(doc.status)}{why}")
        counts = outbox.counts()
        print(say("cli.outbox_counts", queued=counts["queued"] + counts["in_doubt"],
                  refused=counts["refused"]))  # fmt: skip
        return EXIT_ERROR if counts["refused"] else 0
    if args.action in ("retry", "drop", "withdraw"):
        if args.id is None:
            raise CashierError(say("cli.outbox_id"))
        if args.action == "retry":
            outbox.retry(args.id, settings.station_id, who.code)
        elif args.action == "withdraw":
            inventory.withdraw(args.id, settings.station_id, who, args.reason or "")
        else:
            outbox.drop(args.id, settings.station_id, who.code, args.reason or "")
        print(say(f"cli.outbox_{args.action}", id=args.id))
        return 0
    from cashier.services.station import connect_ebills

    connection = connect_insurer(settings)
    try:
        service, kind = connect_ebills(settings), settings.receipts.provider
        services = {kind: service, "settings": settings} if service is not None else {}
        report = outbox.send_due(senders.sender(connection.client, **services))
    finally:
        connection.close()
    print(say("cli.outbox_sent", sent=report.sent, refused=report.refused, waiting=report.waiting))
    if report.error:
        print(f"cashier: {report.error}", file=sys.stderr)
    return EXIT_ERROR if report.refused or report.error else 0


def _import_orders(args: argparse.Namespace) -> int:
    from cashier.services.orders import OrdersImportError, import_orders
    from cashier.services.station import open_station

    open_station(_settings(args), seed=False)
    show = sys.stderr.isatty()
    try:
        result = import_orders(
            Path(args.file),
            source=args.file,
            progress=lambda done, total: _bar(show, done, total),
        )
    except OrdersImportError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"cashier: {exc.summary}", file=sys.stderr)
        return EXIT_ERROR
    if show:
        print(file=sys.stderr)
    print(result.summary())
    return 0


def _print_test(args: argparse.Namespace) -> int:
    from cashier.devices.printer import printer_from_url
    from cashier.services.printing import print_test
    from cashier.services.station import open_station

    settings = _settings(args)
    open_station(settings, seed=False)  # the test page is recorded in the print log
    url = args.printer or settings.printer.url
    printer = printer_from_url(url, data_dir=settings.data_dir, paper=settings.printer.paper)
    printed = print_test(settings, printer)
    print(say("cli.test_receipt", where=printed.where))
    return 0


def _support_bundle(args: argparse.Namespace) -> int:
    from cashier.services import support
    from cashier.services.station import open_station

    settings = _settings(args)
    try:
        open_station(settings, seed=False)
    except CashierError as exc:  # a database that does not open: the bundle says so
        print(say("cli.bundle_no_database", why=exc), file=sys.stderr)
    path = support.bundle(settings, Path(args.out) if args.out else None)
    print(say("cli.bundle_written", path=path))
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    from cashier.services import audit
    from cashier.services.station import open_station

    open_station(_existing(_settings(args)), seed=False)
    check = audit.verify()
    if check.ok:
        print(say("cli.audit_intact", entries=check.entries))
        return 0
    print(
        say("cli.audit_broken", first_bad_id=check.first_bad_id, problem=check.problem),
        file=sys.stderr,
    )
    return EXIT_ERROR


def _operator(args: argparse.Namespace) -> int:
    from cashier.services import operators
    from cashier.services.operators import Role
    from cashier.services.station import open_station
    from cashier.store.models import Operator

    ctx = open_station(_settings(args))  # a new station's demo operators, or its first one
    if args.action == "list":
        for op in Operator.select().order_by(Operator.code):
            state = "已锁定" if op.locked else ("停用" if not op.active else "")
            print(f"{op.code}\t{op.name}\t{Role(op.role).label}\t{state}".rstrip())
        return 0
    if not args.code:
        raise CashierError(say("cli.give_code"))
    stdin = _Stdin()
    # The first person in charge of a new station is added without one (audited "bootstrap").
    first = args.action == "add" and not operators.anyone_in_charge() and not args.operator
    who = None if first else _sign_in(args, ctx.station_id, Role.SUPERVISOR, stdin)
    if args.action == "unlock":
        operators.unlock(ctx.station_id, args.code, who)
        print(say("cli.unlocked", code=args.code))
        return 0
    if not args.name:
        raise CashierError(say("cli.give_name"))
    if args.pin_stdin:
        pin = stdin.line("新工号的 PIN")
    else:
        pin = getpass.getpass(f"{args.code} 的 PIN：")
        if getpass.getpass("再次输入 PIN：") != pin:
            raise CashierError(say("cli.pins_differ"))
    operators.create_operator(
        ctx.station_id, args.code, args.name, Role(args.role), pin, by=who,
        prac_cert_no=args.cert_no,
    )  # fmt: skip
    print(say("cli.operator_saved", code=args.code, name=args.name, label=Role(args.role).label))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from cashier.payments import LABELS
    from cashier.reports.eod import parse_day
    from cashier.services.operators import Role
    from cashier.services.payment_bills import reconcile_day
    from cashier.services.station import connect_payments, open_station

    day = parse_day(args.date, "--date")
    settings = _existing(_settings(args))
    open_station(settings, seed=False, operators_only=True)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    connection = connect_payments(settings)
    try:
        names = [args.provider] if args.provider else list(connection.providers)
        if not names:
            raise CashierError(say("cli.no_providers"))
        missing = [name for name in names if connection.provider(name) is None]
        if missing:
            name = missing[0]
            raise CashierError(say("cli.provider_missing", LABELS=LABELS[name], name=name))
        providers = [connection.provider(name) for name in names]
        results = reconcile_day(providers, day, settings.station_id, who.code)
    finally:
        connection.close()
    for result in results:
        print(
            say(
                "cli.paycode_reconciled",
                day=day,
                LABELS=LABELS[result.provider],
                trades=result.trades,
                charges=result.charges,
                mismatches=len(result.mismatches),
            )
        )
        for m in result.mismatches:
            print(m.line)
    return 0


def _payments(args: argparse.Namespace) -> int:
    from cashier.services.payments import check
    from cashier.services.station import connect_payments

    settings = _settings(args)
    connection = connect_payments(settings)
    try:
        if not connection.providers:
            raise CashierError(say("cli.no_providers"))
        failed = 0
        for provider in connection.providers.values():
            result = check(provider)
            print(say("cli.check_ok" if result.ok else "cli.check_bad", message=result.message))
            failed += not result.ok
        return EXIT_ERROR if failed else 0
    finally:
        connection.close()


def _backup(args: argparse.Namespace) -> int:
    from cashier.services import audit
    from cashier.services.operators import Role
    from cashier.services.station import open_station
    from cashier.store import integrity
    from cashier.store.models import database

    settings = _settings(args)
    folder = Path(args.to).expanduser() if args.to else settings.backups_dir
    if args.list:
        found = integrity.backups(folder)
        for path in found:
            print(f"{path}\t{path.stat().st_size // 1024} KiB")
        if not found:
            print(say("cli.no_backups", folder=folder))
        return 0
    open_station(_existing(settings), seed=False, operators_only=True)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    done = integrity.backup(database.obj, folder, keep_days=settings.backup_keep_days)
    audit.record(settings.station_id, "backup", operator=who.code, subject=done.path.name)
    print(say("cli.backed_up", path=done.path, value=done.size // 1024))
    if done.removed:
        print(
            say(
                "cli.backups_removed",
                backup_keep_days=settings.backup_keep_days,
                removed=len(done.removed),
            )
        )
    return 0


def _report(args: argparse.Namespace) -> int:
    from cashier.reports.eod import eod_report, parse_day
    from cashier.reports.render import FORMATS, write_report
    from cashier.services import audit
    from cashier.services.operators import Role
    from cashier.services.station import open_station

    date_from = parse_day(args.date, "--date")
    date_to = parse_day(args.to, "--to") if args.to else None
    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise CashierError(say("cli.format_unknown", name=out.name))
    settings = _existing(_settings(args))
    open_station(settings, seed=False, operators_only=True)
    who = _sign_in(args, settings.station_id, Role.SUPERVISOR, _Stdin())
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print(say("cli.counting", done=done, total=total), end="", file=sys.stderr)

    report = eod_report(date_from, date_to, station=args.station, progress=progress)
    audit.record(settings.station_id, "report.eod", operator=who.code, subject=report.period)
    if show:
        print(file=sys.stderr)
    written = write_report(
        report, out, fmt, clinic_name=settings.clinic_name, training=settings.training
    )
    total = report.total
    print(
        say(
            "cli.eod_summary",
            period=report.period,
            scope=report.scope,
            sales=total.sales,
            refunds=total.refunds,
            voids=total.voids,
            net_takings=total.net_takings,
        )
    )
    print(say("cli.written", written=written))
    return 0


def _paysandbox(args: argparse.Namespace, settings: Settings) -> int:
    """The payment sandbox's codes and ledger (its state in the data directory)."""
    import json

    from cashier.domain.money import Fen
    from cashier_sandbox.payments import SCENARIOS, PaymentLedger

    ledger = PaymentLedger(settings.data_dir / "paysandbox.db")
    try:
        if args.action == "paycode":
            provider = args.person or "wechat"
            if provider not in ("wechat", "alipay"):
                raise CashierError(say("cli.paycode_providers"))
            if args.scenario not in SCENARIOS:
                raise CashierError(say("cli.bad_scenario", value="、".join(SCENARIOS)))
            limit = None
            if args.amount_limit is not None:
                limit = Fen.parse(args.amount_limit, allow_zero=True).fen
            print(ledger.issue(provider, args.scenario, limit))
            return 0
        trades = ledger.trades()
        if args.json:
            print(json.dumps([t.__dict__ for t in trades], ensure_ascii=False))
        else:
            for t in trades:
                print(
                    f"{t.provider}\t{t.out_trade_no}\t{Fen(t.amount)}\t{t.state}"
                    f"\t{t.transaction_id}\t{Fen(t.refunded)}"
                )
        return 0
    finally:
        ledger.close()


def _read_card(args: argparse.Namespace) -> int:
    import json

    from cashier.devices.cardreader import read_card

    card = read_card(args.reader)
    fields = card.to_json(full=args.full)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False))
        return 0
    labels = {
        "card_no": "卡号",
        "card_sn": "卡识别码",
        "name": "姓名",
        "social_security_no": "社会保障号码",
        "spec_version": "规范版本",
        "issue_date": "发卡日期",
        "expiry_date": "有效期至",
    }
    for key, label in labels.items():
        print(f"{label}：{fields[key]}")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from cashier_sandbox import state

    settings = _settings(args)
    if args.action in ("paycode", "payments"):
        return _paysandbox(args, settings)
    state.open_sandbox(
        state.sandbox_path(settings.data_dir), Path(args.people) if args.people else None
    )
    if args.qr_lifetime is not None:
        if args.qr_lifetime < 1:
            raise CashierError(say("cli.bad_qr_lifetime"))
        state.set_setting("qr_lifetime_s", str(args.qr_lifetime))
    for pair in args.hospital:
        code, _, level = pair.partition("=")
        if len(code) != 12 or level not in ("1", "2", "3"):
            raise CashierError(say("cli.bad_hospital", pair=pair))
        state.set_setting(f"level:{code}", level)
    if args.action == "people":
        kinds = {"310": "职工", "390": "城乡居民"}
        for p in state.Person.select().order_by(state.Person.psn_no):
            notes = state.person_notes(p)
            kind = kinds.get(p.insutype, p.insutype) + (" " + " ".join(notes) if notes else "")
            print(f"{p.psn_no}\t{p.name}\t{p.insutype}\t{kind}\t{p.card_no}")
        return 0
    if args.action == "qr":
        if not args.person:
            raise CashierError(say("cli.qr_needs_person"))
        voucher = state.issue_evoucher(state.find_person(args.person))
        if args.png:
            import qrcode

            qrcode.make(voucher.payload).save(args.png)
        if args.payload:
            print(voucher.payload)
            return 0
        import io

        import qrcode

        code = qrcode.QRCode(border=1)
        code.add_data(voucher.payload)
        buffer = io.StringIO()
        code.print_ascii(out=buffer, invert=True)
        print(buffer.getvalue(), end="")
        print(voucher.payload)
        print(say("cli.qr_valid_until", expires_at=voucher.expires_at, state=state.qr_lifetime()))
        return 0
    if args.action == "card":
        if not args.person:
            raise CashierError(say("cli.card_needs_person"))
        from cashier_sandbox import virtualcard

        vpcd = ["--vpcd", args.vpcd] if args.vpcd else []
        return virtualcard.main(["--data-dir", str(settings.data_dir), args.person, *vpcd])
    from cashier_sandbox.server import serve

    return serve(
        settings,
        host=args.host,
        port=args.port,
        policy=args.policy,
        catalog=args.catalog,
        profile=args.profile or "",
        server_timing=args.server_timing,
    )


if __name__ == "__main__":
    sys.exit(main())
