"""The command line, run as users' scripts run it: a subprocess, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

from cashier.services.catalog import COLUMNS
from tests.support.cli import assert_one_line_error, run, run_as_supervisor
from tests.support.tools import require_tool


def test_init_writes_a_private_config_and_migrates(tmp_path):
    config = tmp_path / "station.toml"
    proc = run(
        "init",
        "--config",
        str(config),
        "--station",
        "MZ-01",
        "--kind",
        "pharmacy",
        data_dir=tmp_path / "d",
    )
    assert proc.returncode == 0, proc.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    text = config.read_text()
    assert 'station_id = "MZ-01"' in text and 'kind = "pharmacy"' in text
    assert (tmp_path / "d" / "cashier.db").exists()
    # The written file reads back, and init is repeatable.
    again = run("init", "--config", str(config), data_dir=tmp_path / "d")
    assert again.returncode == 0, again.stderr
    assert "MZ-01" in again.stdout


def test_import_catalog_reports_every_bad_row_with_its_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        ",".join(COLUMNS)
        + "\nX1,,好商品,,盒,1.00,,甲,0,,西药费,1\nX2,,坏价格,,盒,abc,,甲,0,,西药费,1\n"
        + "X3,,坏等级,,盒,1.00,,戊,0,,西药费,1\n",
        encoding="utf-8",
    )
    proc = run_as_supervisor("import", "catalog", str(bad), data_dir=tmp_path / "d")
    assert_one_line_error_or_rows(proc, [f"{bad}:3:", f"{bad}:4:"])
    good = tmp_path / "good.csv"
    good.write_text(",".join(COLUMNS) + "\nX1,,好商品,,盒,1.00,,甲,0,,西药费,1\n", encoding="utf-8")
    proc = run_as_supervisor("import", "catalog", str(good), data_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    assert "新增 1" in proc.stdout


def assert_one_line_error_or_rows(proc, row_prefixes) -> None:
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    for prefix in row_prefixes:
        assert any(line.startswith(prefix) for line in lines), proc.stderr
    assert lines[-1].startswith("cashier: ") and "未导入" in lines[-1]


def test_missing_file_and_bad_config_are_one_line_errors(tmp_path):
    assert_one_line_error(
        run_as_supervisor("import", "catalog", str(tmp_path / "nope.csv"), data_dir=tmp_path)
    )
    cfg = tmp_path / "bad.toml"
    cfg.write_text("station_id = \n")
    assert_one_line_error(run("verify-audit", "--config", str(cfg), data_dir=tmp_path))
    cfg.write_text('colour = "red"\n')
    proc = run("verify-audit", "--config", str(cfg), data_dir=tmp_path)
    assert_one_line_error(proc)
    assert "colour" in proc.stderr
    assert_one_line_error(run("--config", str(tmp_path / "missing.toml"), data_dir=tmp_path))


def test_print_test_to_pdf(tmp_path):
    pdftotext = require_tool("pdftotext", "poppler-utils")
    out = tmp_path / "out"
    proc = run("print-test", "--printer", f"pdf://{out}", data_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    pdfs = list(out.glob("*.pdf"))
    assert len(pdfs) == 1
    text = subprocess.run(
        [pdftotext, "-layout", str(pdfs[0]), "-"], capture_output=True, text=True
    ).stdout
    assert "阿莫西林胶囊" in text and "25.00" in text


def test_print_test_to_dead_printer_is_a_clear_error(tmp_path):
    proc = run("print-test", "--printer", "tcp://127.0.0.1:1", data_dir=tmp_path / "d")
    assert_one_line_error(proc)
    assert "打印机" in proc.stderr


def test_verify_audit_names_the_first_bad_entry(tmp_path):
    data = tmp_path / "d"
    assert run("operator", "list", data_dir=data).returncode == 0  # seeds the training station
    ok = run("verify-audit", data_dir=data)
    assert ok.returncode == 0 and "3 条" in ok.stdout, ok.stdout
    import sqlite3

    db = sqlite3.connect(data / "cashier.db")
    db.execute("UPDATE audit_entry SET subject = 'forged' WHERE id = 2")
    db.commit()
    db.close()
    proc = run("verify-audit", data_dir=data)
    assert proc.returncode == 1
    assert "第 2 条" in proc.stderr and "Traceback" not in proc.stderr


def test_operator_add_and_unlock_need_a_supervisor(tmp_path):
    data = tmp_path / "d"
    add = ("operator", "add", "2001", "--name", "张三", "--pin-stdin")
    # Without an operator, or as a cashier, or with a wrong PIN: refused, nothing saved.
    for proc in (
        run(*add, data_dir=data, stdin="2468\n"),
        run(*add, "--operator", "1001", data_dir=data, stdin="1234\n2468\n"),
        run(*add, "--operator", "9001", data_dir=data, stdin="0000\n2468\n"),
    ):
        assert_one_line_error(proc)
    assert "2001" not in run("operator", "list", data_dir=data).stdout
    proc = run_as_supervisor(*add, data_dir=data, stdin="2468\n")
    assert proc.returncode == 0, proc.stderr
    listing = run("operator", "list", data_dir=data).stdout
    assert "2001\t张三\t收费员" in listing
    # A supervisor may not make an administrator.
    proc = run_as_supervisor("operator", "add", "7777", "--name", "X", "--role", "admin",
                             "--pin-stdin", data_dir=data, stdin="1357\n")  # fmt: skip
    assert_one_line_error(proc)
    assert "管理员" in proc.stderr
    assert_one_line_error(run("operator", "unlock", "2001", data_dir=data))
    assert run_as_supervisor("operator", "unlock", "2001", data_dir=data).returncode == 0
    verify = run("verify-audit", data_dir=data)
    assert verify.returncode == 0, verify.stderr


def test_privileged_commands_are_audited_as_their_operator(tmp_path):
    import sqlite3

    data = tmp_path / "d"
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(
        ",".join(COLUMNS) + "\nA001,,阿莫西林胶囊,0.25g*24粒,盒,0.01,,甲,0,,西药费,1\n",
        encoding="utf-8",
    )
    refused = run("import", "catalog", str(csv_file), data_dir=data)
    assert_one_line_error(refused)
    assert "--operator" in refused.stderr
    proc = run_as_supervisor("import", "catalog", str(csv_file), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    db = sqlite3.connect(data / "cashier.db")
    rows = db.execute(
        "SELECT operator FROM audit_entry WHERE action IN ('catalog.prices', 'login')"
    ).fetchall()
    db.close()
    assert rows and {r[0] for r in rows} == {"9001"}


def test_first_person_in_charge_of_a_new_station_needs_no_operator(tmp_path):
    data = tmp_path / "d"
    config = tmp_path / "c.toml"
    config.write_text(
        "training = false\n",
        encoding="utf-8",
    )
    first = ("operator", "add", "8001", "--name", "赵管理", "--role", "admin", "--pin-stdin")
    proc = run(*first, "--config", str(config), data_dir=data, stdin="8642\n")
    assert proc.returncode == 0, proc.stderr
    second = run(*first[:2], "8002", *first[3:], "--config", str(config), data_dir=data,
                 stdin="8642\n")  # fmt: skip
    assert_one_line_error(second)


def test_parallel_pin_guessing_gets_at_most_five_checks(tmp_path):
    """Eight processes, five wrong PINs each, at once: the lock holds after five checks."""
    import sqlite3

    data = tmp_path / "d"
    assert run("operator", "list", data_dir=data).returncode == 0
    env = {**os.environ, "CASHIER_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(data / "x")}
    env.pop("CASHIER_CONFIG", None)
    guess = [sys.executable, "-m", "cashier", "report", "eod", "--date", "2025-03-10",
             "--out", str(tmp_path / "r.csv"), "--operator", "9001", "--pin-stdin"]  # fmt: skip
    procs = []
    for n in range(8):
        for k in range(5):
            procs.append(
                subprocess.Popen(
                    guess,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    text=True,
                )
            )
            procs[-1].stdin.write(f"{n}{k}00\n")
            procs[-1].stdin.close()
    for proc in procs:
        proc.wait(timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    db = sqlite3.connect(data / "cashier.db")
    checked = db.execute(
        "SELECT COUNT(*) FROM audit_entry WHERE action IN ('login.failed', 'login.locked')"
    ).fetchone()[0]
    locked = db.execute("SELECT locked FROM operator WHERE code = '9001'").fetchone()[0]
    db.close()
    assert checked <= 5 and locked
    assert not (tmp_path / "r.csv").exists()


def test_tui_without_a_terminal_says_so(tmp_path):
    proc = run(data_dir=tmp_path / "d")
    assert_one_line_error(proc)
    assert "终端" in proc.stderr


def test_data_dir_before_or_after_the_command(tmp_path):
    for args in (
        ("--data-dir", str(tmp_path / "a"), "operator", "list"),
        ("operator", "list", "--data-dir", str(tmp_path / "b")),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "cashier", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")},
        )
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "cashier.db").exists() and (tmp_path / "b" / "cashier.db").exists()
    assert not (tmp_path / "xdg").exists()  # nothing went to the default data dir
