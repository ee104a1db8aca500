"""Issue 21: ``cashier support-bundle`` packs what a technician needs (logs, version,
configuration, the database's health) and nothing secret or personal; it is made even when
the database does not open."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from dataclasses import replace

from cashier import logs
from cashier.config import write_settings
from cashier.services import support
from cashier.services.station import open_station

ID_NUMBER = "110105194912310021"


def test_a_bundle_holds_health_and_logs_and_no_secret(settings, tmp_path):
    settings = replace(settings, insurer=replace(settings.insurer, secret="S3CRET-PAAS"),
                       wechat=replace(settings.wechat, api_key="APIV3-0123"))  # fmt: skip
    ctx = open_station(settings)
    try:
        logs.setup(settings)
        logs.log.error("card read for %s failed", ID_NUMBER)
        path = support.bundle(settings, tmp_path)
    finally:
        ctx.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"about.txt", "config.toml", "health.json"} <= names
        assert any(n.startswith("logs/cashier.log") for n in names)
        text = "\n".join(z.read(n).decode("utf-8") for n in names)
        health = json.loads(z.read("health.json"))
    assert "S3CRET-PAAS" not in text and "APIV3-0123" not in text and "***" in text
    assert ID_NUMBER not in text  # masked in the log as it was written
    assert "yibao-cashier" in text and "textual==" in text
    assert health["database"]["integrity"] == "ok"
    assert health["database"]["schema"] == health["database"]["schema_expected"]
    assert health["audit"]["ok"] is True
    assert set(health["waiting"]) >= {"print_jobs_queued", "insurer_calls_in_doubt", "outbox"}


def test_a_bundle_is_made_when_the_database_does_not_open(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "cashier.db").write_bytes(b"this is not a database" * 100)
    config = tmp_path / "cashier.toml"
    from cashier.config import settings_from_dict

    write_settings(settings_from_dict({}, data_dir=data), config)
    run = subprocess.run(
        [sys.executable, "-m", "cashier", "--config", str(config), "support-bundle",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "CASHIER_DATABASE_URL": ""},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    (bundle,) = tmp_path.glob("cashier-support-*.zip")
    with zipfile.ZipFile(bundle) as z:
        health = json.loads(z.read("health.json"))
    assert "error" in health["database"]
