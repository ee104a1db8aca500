"""The insurer's catalogs as files: 1301 西药中成药, 1302 中药饮片, 1305 医疗服务项目.

A catalog download (1301 / 1302 / 1305, input ``data.ver``: the version the counter holds)
answers ``file_qury_no`` and ``filename`` of a zip, fetched with 9102; the zip holds one
UTF-8 text file, tab-separated, no header, one catalog entry a line, ``null`` for an empty
field. Each catalog has its own column count; the columns the counter reads are named here
by their (1-based) position. 1301's positions are those of the national interface as public
client code reads them (97 columns: ``med_list_codg`` 1, ``aprvno`` 61, ``vali_flag`` 78,
``rid`` 79, ``ver`` 82); 1302's and 1305's as the sandbox writes them (docs/insurer.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cashier.insurer.protocol.errors import ProtocolError
from cashier.messages import say

#: ``list_type`` of 3301 / 3302 for each catalog (目录类别).
LIST_TYPES = {"1301": "101", "1302": "102", "1305": "201"}


@dataclass(frozen=True)
class Layout:
    columns: int
    fields: dict[str, int]  # name → 1-based position


LAYOUTS: dict[str, Layout] = {
    "1301": Layout(
        97,
        {
            "med_list_codg": 1,
            "drug_prodname": 2,
            "genname_codg": 3,
            "drug_genname": 4,
            "dosform_name": 11,
            "drug_spec": 14,
            "min_salunt": 27,
            "aprvno": 61,
            "prodentp_name": 65,
            "vali_flag": 78,
            "rid": 79,
            "updt_time": 81,
            "ver": 82,
        },
    ),
    "1302": Layout(
        36,
        {
            "med_list_codg": 1,
            "tcmherb_name": 2,
            "medi_part": 7,
            "drug_spec": 10,
            "vali_flag": 30,
            "rid": 31,
            "updt_time": 33,
            "ver": 34,
        },
    ),
    "1305": Layout(
        28,
        {
            "med_list_codg": 1,
            "prcunt": 2,
            "prcunt_name": 3,
            "medsrv_name": 12,
            "vali_flag": 20,
            "rid": 21,
            "updt_time": 23,
            "ver": 24,
        },
    ),
}


@dataclass(frozen=True)
class CatalogEntry:
    """What the counter keeps of one catalog line."""

    med_list_codg: str
    name: str
    genname: str
    dosform: str
    spec: str
    aprvno: str
    maker: str
    unit: str
    vali_flag: str
    rid: str
    ver: str


def _field(cells: list[str], layout: Layout, name: str) -> str:
    at = layout.fields.get(name)
    value = cells[at - 1].strip() if at else ""
    return "" if value == "null" else value


def read_catalog_file(text: str, infno: str) -> list[CatalogEntry]:
    """Every line of a downloaded catalog file; a line with another column count is refused
    (the file is not the catalog it claims to be) with its number."""
    layout = LAYOUTS[infno]
    out: list[CatalogEntry] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != layout.columns:
            raise ProtocolError(
                say("insurer.catalogs.columns", infno=infno, number=number,
                    columns=layout.columns, cells=len(cells)),
                detail=f"{infno} line {number}: {len(cells)} columns",
            )  # fmt: skip
        code = _field(cells, layout, "med_list_codg")
        if not code:
            raise ProtocolError(
                say("insurer.catalogs.no_code", infno=infno, number=number),
                detail=f"{infno} line {number}: no med_list_codg",
            )
        name = (
            _field(cells, layout, "drug_prodname")
            or _field(cells, layout, "drug_genname")
            or _field(cells, layout, "tcmherb_name")
            or _field(cells, layout, "medsrv_name")
        )
        out.append(
            CatalogEntry(
                med_list_codg=code,
                name=name,
                genname=_field(cells, layout, "drug_genname"),
                dosform=_field(cells, layout, "dosform_name"),
                spec=_field(cells, layout, "drug_spec"),
                aprvno=_field(cells, layout, "aprvno"),
                maker=_field(cells, layout, "prodentp_name"),
                unit=_field(cells, layout, "min_salunt") or _field(cells, layout, "prcunt_name"),
                vali_flag=_field(cells, layout, "vali_flag") or "1",
                rid=_field(cells, layout, "rid"),
                ver=_field(cells, layout, "ver"),
            )
        )
    return out


def catalog_line(infno: str, values: dict[str, str]) -> str:
    """One line of a catalog file in ``infno``'s layout (the sandbox writes them): the named
    fields where they belong, every other column ``null``."""
    layout = LAYOUTS[infno]
    cells = ["null"] * layout.columns
    for name, value in values.items():
        cells[layout.fields[name] - 1] = value
    return "\t".join(cells)
