"""The file transactions: 9101 upload, 9102 download, and 3202's detail files.

Real gateways reconcile the detail of a period as files, not as JSON rows: the counter
uploads its settlements (9101 ``fsUploadIn``: the file's bytes as a JSON array of numbers),
sends 3202 with the upload's ``file_qury_no``, and downloads the answer named in 3202's
``fileinfo`` (9102 ``fsDownloadIn``), a zip holding one text file. Both files are UTF-8,
one settlement a line, fields separated by tabs, amounts in yuan with two decimals.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cashier.domain.money import Fen, MoneyError
from cashier.insurer.protocol.answers import ReconDetail
from cashier.insurer.protocol.errors import _bad_request, _unreadable
from cashier.insurer.protocol.reader import _Reader
from cashier.messages import say

#: The counter's upload: what it holds of each settlement of the period.
UPLOAD_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
)
#: The insurer's answer file: its view of each settlement, with its verdict.
RESULT_COLUMNS = (
    "psn_no",
    "mdtrt_id",
    "setl_id",
    "msgid",
    "stmt_rslt",
    "refd_setl_flag",
    "memo",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
)
_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
#: The largest text a detail file may unpack to (a day of a large clinic is far below it).
MAX_TEXT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """9101's output and 3202's ``fileinfo``: where a file waits to be fetched."""

    file_qury_no: str
    filename: str
    dld_endtime: str = ""

    @classmethod
    def from_json(cls, node: object) -> FileInfo:
        r = _Reader(node, "fileinfo", _unreadable)
        return cls(
            file_qury_no=r.text("file_qury_no", required=True),
            filename=r.text("filename", required=True),
            dld_endtime=r.text("dld_endtime"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file_qury_no": self.file_qury_no,
            "filename": self.filename,
            "dld_endtime": self.dld_endtime,
        }


def input_9101(*, filename: str, data: bytes, fixmedins_code: str) -> dict[str, Any]:
    """文件上传."""
    return {
        "fsUploadIn": {"in": list(data), "filename": filename, "fixmedins_code": fixmedins_code}
    }


def input_9102(*, file_qury_no: str, filename: str, fixmedins_code: str) -> dict[str, Any]:
    """文件下载: the answer is the file itself, not a JSON envelope."""
    return {
        "fsDownloadIn": {
            "file_qury_no": file_qury_no,
            "filename": filename,
            "fixmedins_code": fixmedins_code,
        }
    }


def uploaded_bytes(node: object) -> tuple[str, bytes]:
    """The file of a 9101 ``fsUploadIn`` (the gateway's side): its name and bytes."""
    r = _Reader(node, "fsUploadIn", _bad_request)
    data = r.node.get("in")
    if not isinstance(data, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in data
    ):
        raise _bad_request(say("insurer.files.bad_upload"))
    return r.text("filename", required=True), bytes(data)


def zip_text(name: str, text: str) -> bytes:
    """A zip holding one text file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text.encode("utf-8"))
    return out.getvalue()


def unzip_text(data: bytes, *, fail=_unreadable) -> str:
    """The one text file of a zip; refused when it is not a zip, holds something else, or
    unpacks to more than :data:`MAX_TEXT_BYTES` (checked before and while unpacking)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise fail(say("insurer.files.not_zip")) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise fail(say("insurer.files.members", members=len(members)))
        member = members[0]
        if member.file_size > MAX_TEXT_BYTES:
            raise fail(say("insurer.files.too_large_size", file_size=member.file_size))
        try:
            with archive.open(member) as fh:
                raw = fh.read(MAX_TEXT_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise fail(say("insurer.files.damaged", exc=exc)) from None
    if len(raw) > MAX_TEXT_BYTES:
        raise fail(say("insurer.files.too_large"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail(say("insurer.files.not_utf8")) from None


def _lines(rows: Iterable[Mapping[str, object]], columns: tuple[str, ...]) -> str:
    out = []
    for row in rows:
        cells = []
        for name in columns:
            value = row.get(name)
            text = "" if value is None else str(value)  # a Fen is its yuan: 12.50
            if "\t" in text or "\n" in text or "\r" in text:
                raise ValueError(f"{name} holds a tab or a line break: {text!r}")
            cells.append(text)
        out.append("\t".join(cells))
    return "".join(line + "\n" for line in out)


def _rows(text: str, columns: tuple[str, ...], fail) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise fail(
                say("insurer.files.columns", number=number, columns=len(columns), cells=len(cells))
            )
        row: dict[str, Any] = dict(zip(columns, (c.strip() for c in cells), strict=True))
        for name in _AMOUNTS:
            try:
                row[name] = Fen.from_json(row[name])
            except MoneyError:
                raise fail(
                    say("insurer.files.not_money", number=number, name=name, row=row[name])
                ) from None
        rows.append(row)
    return rows


def recon_upload_file(rows: Iterable[Mapping[str, object]]) -> str:
    """The counter's upload text (:data:`UPLOAD_COLUMNS`); zip it with :func:`zip_text`."""
    return _lines(rows, UPLOAD_COLUMNS)


def read_recon_upload(data: bytes) -> list[dict[str, Any]]:
    """The counter's upload (the gateway's side)."""
    return _rows(unzip_text(data, fail=_bad_request), UPLOAD_COLUMNS, _bad_request)


def recon_result_file(rows: Iterable[ReconDetail]) -> str:
    """The insurer's answer text (:data:`RESULT_COLUMNS`)."""
    return _lines((row.to_json() for row in rows), RESULT_COLUMNS)


def read_recon_result(data: bytes) -> tuple[ReconDetail, ...]:
    """The insurer's 3202 answer file, read into rows (the counter's side)."""
    rows = _rows(unzip_text(data), RESULT_COLUMNS, _unreadable)
    return tuple(ReconDetail(**row) for row in rows)
