"""Code tables of the interface (docs/insurer-interface.md): certificate types, insurance types, funds, setlinfo's amounts."""

from __future__ import annotations

import re

TRANSACTIONS: dict[str, str] = {
    "9001": "签到",
    "9002": "签退",
    "1101": "人员信息获取",
    "2201": "门诊挂号",
    "2203": "就诊信息上传",
    "2204": "门诊费用明细上传",
    "2205": "撤销费用明细",
    "2206": "门诊预结算",
    "2207": "门诊结算",
    "2208": "门诊结算撤销",
    "2101": "药店预结算",
    "2102": "药店结算",
    "2103": "药店结算撤销",
    "2601": "冲正",
    "3501": "商品盘存",
    "3502": "商品库存变更",
    "3503": "商品采购",
    "3504": "商品采购退货",
    "3505": "商品销售",
    "3506": "商品销售退货",
    "3507": "商品信息删除",
    "3201": "对总账",
    "3202": "对明细账",
    "5203": "结算信息查询",
    "9101": "文件上传",
    "9102": "文件下载",
}
MDTRT_CERT_TYPES = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}
INSUTYPES = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "390": "城乡居民基本医疗保险",
    "392": "城乡居民大病",
    "510": "生育保险",
}
MED_TYPES = {"11": "普通门诊", "13": "急诊", "14": "门诊慢特病", "41": "定点药店购药"}
CHRGITM_LV = {"01": "甲类", "02": "乙类", "03": "丙类"}
#: 科别 (``caty`` of 2201, ``diag_dept`` of 2203): the codes of the 医疗机构诊疗科目名录, as the
#: platform takes them. A clinic maps its own department codes onto these (``[departments]``).
CATY = {
    "A01": "预防保健科",
    "A02": "全科医疗科",
    "A03": "内科",
    "A04": "外科",
    "A05": "妇产科",
    "A06": "妇女保健科",
    "A07": "儿科",
    "A08": "小儿外科",
    "A09": "儿童保健科",
    "A10": "眼科",
    "A11": "耳鼻咽喉科",
    "A12": "口腔科",
    "A13": "皮肤科",
    "A14": "医疗美容科",
    "A15": "精神科",
    "A16": "传染科",
    "A17": "结核病科",
    "A18": "地方病科",
    "A19": "肿瘤科",
    "A20": "急诊医学科",
    "A21": "康复医学科",
    "A22": "运动医学科",
    "A23": "职业病科",
    "A24": "临终关怀科",
    "A26": "麻醉科",
    "A27": "疼痛科",
    "A28": "重症医学科",
    "A30": "医学检验科",
    "A31": "病理科",
    "A32": "医学影像科",
    "A50": "中医科",
    "A51": "民族医学科",
    "A52": "中西医结合科",
    "A69": "其他业务科室",
}
#: 2203 ``diag_type``: 1 西医诊断, 2 中医主病诊断, 3 中医主证诊断.
DIAG_TYPES = {"1": "西医诊断", "2": "中医主病诊断", "3": "中医主证诊断"}
FUND_PAY_TYPES = {
    "310100": "职工统筹基金",
    "310200": "职工个人账户",
    "320100": "公务员补助",
    "330100": "大额补助",
    "390100": "城乡居民基本",
    "390200": "城乡居民大病",
    "610100": "医疗救助",
    "999996": "医院垫付",
}
#: What the counter, receipts and reports call the ``setlinfo`` amounts.
SETLINFO_LABELS = {
    "medfee_sumamt": "医疗费总额",
    "fulamt_ownpay_amt": "全自费",
    "overlmt_selfpay": "超限价自付",
    "preselfpay_amt": "先行自付",
    "hifp_pay": "统筹基金",
    "cvlserv_pay": "公务员补助",
    "hifes_pay": "企业补充",
    "hifmi_pay": "大病保险",
    "hifob_pay": "大额补助",
    "maf_pay": "医疗救助",
    "oth_pay": "其他基金",
    "hifdm_pay": "伤残人员医疗保障",
    "othfund_pay": "其他基金支付",
    "fund_pay_sumamt": "基金支付合计",
    "acct_pay": "个人账户",
    "acct_mulaid_pay": "共济支付",
    "psn_cash_pay": "个人现金",
}
#: The funds other than the pooled one (统筹), in the order they are shown.
OTHER_FUNDS = (
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "hifdm_pay",
    "othfund_pay",
)
EC_BUSINESS_OUTPATIENT = "01301"  # 门诊结算
EC_BUSINESS_PHARMACY = "02121"  # 药店购药

#: Every amount of ``setlinfo``, in the doc's order (yuan, two decimals on the wire).
SETLINFO_AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "hifdm_pay",
    "othfund_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
)
#: The funds whose sum is ``fund_pay_sumamt``: every fund field of the interface.
FUNDS = ("hifp_pay", *OTHER_FUNDS)

#: Other names real gateways give an amount, tried in order when the interface's own name is
#: absent or null: 5203, 2103 and 2305 answer with ``psn_pay`` / ``cash_payamt`` (one gateway
#: spells it ``cashPayamt``), some 2208s with ``pdn_cash_pay``; inpatient cancellations carry
#: the hospital's share as ``ownpay_hosp_part``.
AMOUNT_ALIASES: dict[str, tuple[str, ...]] = {
    "psn_part_amt": ("psn_pay",),
    "psn_cash_pay": ("cash_payamt", "cashPayamt", "pdn_cash_pay"),
    "hosp_part_amt": ("ownpay_hosp_part",),
}
#: Amounts real answers leave out or send as ``null`` (2208, 2103, 2101, 2102, 5203), and what
#: they then are. ``psn_part_amt`` is derived (``acct_pay + psn_cash_pay``); the others are
#: zero, which the invariants then check: a fund left out that paid something breaks the fund
#: sum, a hospital share left out breaks ``medfee_sumamt``. The rest must be there.
AMOUNTS_MAY_BE_ABSENT = frozenset(
    {
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
        "act_pay_dedc",
        *FUNDS,
        "psn_part_amt",
        "hosp_part_amt",
        "balc",
        "acct_mulaid_pay",
    }
)


TIF_HEADERS = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")

_INF_TIME = "%Y-%m-%d %H:%M:%S"
_STAMP = "%Y%m%d%H%M%S"
_ADMVS = re.compile(r"[0-9]{6}")
_EC_TOKEN = re.compile(r"[0-9]{6}ec[0-9a-z]{30}")
