"""Issue 21: the configuration is written as a technician left it: comments, order and
layout kept (tomlkit); only what changed or differs from the default is written."""

from __future__ import annotations

import os
import stat
from dataclasses import replace

from cashier.config import load_settings, settings_from_dict, write_settings

WRITTEN_BY_HAND = """\
# 本院门诊收费 3 号窗口（王工 2026-11-20 安装）
station_id = "C03"   # 窗口编号，勿改
training = true

[printer]
# 热敏打印机，USB 口
url = "pdf://"
paper = "80mm"
"""


def test_a_save_keeps_the_technicians_comments_and_changes_only_what_changed(tmp_path):
    path = tmp_path / "cashier.toml"
    path.write_text(WRITTEN_BY_HAND, encoding="utf-8")
    settings = load_settings(path, str(tmp_path / "data"))
    write_settings(replace(settings, printer=replace(settings.printer, paper="58mm")), path)
    text = path.read_text(encoding="utf-8")
    assert "# 本院门诊收费 3 号窗口（王工 2026-11-20 安装）" in text
    assert 'station_id = "C03"   # 窗口编号，勿改' in text
    assert "# 热敏打印机，USB 口" in text
    assert 'paper = "58mm"' in text and "80mm" not in text
    assert "[wechat]" not in text  # defaults are not spelled out
    again = load_settings(path, None)
    assert (again.station_id, again.printer.paper) == ("C03", "58mm")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_new_file_holds_what_is_particular_to_the_counter(tmp_path):
    path = tmp_path / "new.toml"
    settings = settings_from_dict({"station_id": "P01", "kind": "pharmacy"},
                                  data_dir=tmp_path / "d")  # fmt: skip
    write_settings(settings, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#")
    again = load_settings(path, None)
    assert (again.station_id, again.kind, again.data_dir) == ("P01", "pharmacy", tmp_path / "d")
    assert len(text.splitlines()) < 10
