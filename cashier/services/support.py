"""``cashier support-bundle``: one file a technician sends when a counter misbehaves.

A zip (mode 0600) with what the cashier knows of itself and nothing of anyone's:
- ``about.txt``: the version, Python, the system, the zones and the clock, every
  installed package with its version;
- ``config.toml``: the configuration as in force, every secret replaced by ``***`` (keys,
  secrets, tokens, passwords, the database password);
- ``health.json``: the database (kind, schema, size, integrity, the audit chain), what
  waits (print jobs, insurer calls in doubt, the outbox), the last backup, the disk;
- ``logs/``: the cashier's log files as kept (ID numbers and long digit runs are masked
  as they are written).
A part that cannot be read (a database that does not open) says why in its place: a
bundle is most needed when something is broken.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import zipfile
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cashier import __version__, logs
from cashier.config import Settings

#: A setting whose name holds one of these is a secret: never in a bundle.
SECRET_WORDS = ("secret", "key", "password", "token", "pin", "apiv3", "private")


def bundle(settings: Settings, out: Path | None = None, *, now: datetime | None = None) -> Path:
    """Write the bundle (to ``out``, or ``cashier-support-STATION-TIME.zip`` here)."""
    now = now or datetime.now().astimezone()
    name = f"cashier-support-{settings.station_id}-{now:%Y%m%d-%H%M%S}.zip"
    out = Path(out) if out else Path.cwd() / name
    if out.is_dir():
        out = out / name
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("about.txt", about(now))
        z.writestr("config.toml", config_text(settings))
        z.writestr("health.json", json.dumps(health(settings), ensure_ascii=False, indent=2))
        for path in log_files(settings):
            z.write(path, f"logs/{path.name}")
    return out


def about(now: datetime) -> str:
    packages = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]
    )
    lines = [
        f"cashier {__version__} (yibao-cashier)",
        f"python {sys.version.split()[0]} ({sys.executable})",
        f"system {platform.platform()} {platform.machine()}",
        f"host {platform.node()}",
        f"local time {now.isoformat(timespec='seconds')} (TZ={os.environ.get('TZ', '')})",
        f"utc {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        "packages:",
        *packages,
    ]
    return "\n".join(lines) + "\n"


def redacted(value: Any, name: str = "") -> Any:
    """``value`` with every secret replaced by ``***`` (by its setting's name)."""
    from cashier.store import redact

    if isinstance(value, dict):
        return {k: redacted(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v, name) for v in value]
    if name == "database_url" and isinstance(value, str):
        return redact(value)
    if value and any(word in name.lower() for word in SECRET_WORDS) and name != "keymap":
        return "***"
    return value


def config_text(settings: Settings) -> str:
    import tomlkit

    data = asdict(settings)
    data["data_dir"] = str(settings.data_dir)
    data["config_path"] = str(settings.config_path or "")
    clean = redacted(data)
    return tomlkit.dumps(_no_none(clean))


def _no_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_none(v) for k, v in value.items() if v is not None}
    return value


def health(settings: Settings) -> dict[str, Any]:
    """What the database and the counter's queues say, each part on its own: one that
    fails says why and the others are still read."""
    out: dict[str, Any] = {"station": settings.station_id, "training": settings.training}
    parts = {
        "database": _database,
        "waiting": _waiting,
        "audit": _audit,
        "backups": _backups,
        "disk": _disk,
    }
    for name, read in parts.items():
        try:
            out[name] = read(settings)
        except Exception as exc:  # a broken part is what the bundle is for: said, not raised
            out[name] = {"error": f"{type(exc).__name__}: {logs.mask(str(exc))}"}
    return out


def _database(settings: Settings) -> dict[str, Any]:
    from cashier.store import SCHEMA_VERSION, database, redact
    from cashier.store.integrity import full_check
    from cashier.store.models import Sale, SchemaVersion

    url = settings.db_url
    info: dict[str, Any] = {"url": redact(url), "schema_expected": SCHEMA_VERSION}
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        info["size_bytes"] = path.stat().st_size if path.exists() else None
    info["schema"] = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first().version
    info["sales"] = Sale.select().count()
    problems = full_check(database.obj)
    info["integrity"] = problems or "ok"
    return info


def _waiting(settings: Settings) -> dict[str, Any]:
    from cashier.insurer.journal import Status
    from cashier.services import outbox
    from cashier.store.models import InsurerCall, PrintJob, Shift

    return {
        "print_jobs_queued": PrintJob.select().where(PrintJob.status == "queued").count(),
        "insurer_calls_in_doubt": InsurerCall.select()
        .where(InsurerCall.status == Status.IN_DOUBT.value)
        .count(),
        "outbox": outbox.counts(),
        "open_shifts": Shift.select().where(Shift.status == "open").count(),
    }


def _audit(settings: Settings) -> dict[str, Any]:
    from cashier.services import audit

    check = audit.verify()
    return {"ok": check.ok, "entries": check.entries, "problem": check.problem or ""}


def _backups(settings: Settings) -> dict[str, Any]:
    from cashier.store.integrity import backups

    found = backups(settings.backups_dir)
    if not found:
        return {"folder": str(settings.backups_dir), "last": None}
    last = found[-1]
    at = datetime.fromtimestamp(last.stat().st_mtime).astimezone()
    return {"folder": str(settings.backups_dir), "last": last.name,
            "at": at.isoformat(timespec="seconds"), "count": len(found)}  # fmt: skip


def _disk(settings: Settings) -> dict[str, Any]:
    usage = shutil.disk_usage(settings.data_dir)
    return {"data_dir": str(settings.data_dir), "free_mb": usage.free // 2**20,
            "total_mb": usage.total // 2**20}  # fmt: skip


def log_files(settings: Settings) -> list[Path]:
    folder = logs.log_dir(settings)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("cashier.log*") if p.is_file())
