"""Pure decisions about sealed documents: check codes, masking, verdicts, and what each
document says (house rule 3: no I/O here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from cloudwindow.cases.deadlines import china_date
from cloudwindow.cases.models import Case
from cloudwindow.catalog.models import Department
from cloudwindow.trust.render import DocumentContent
from cloudwindow.trust.schemas import Verdict

# No 0/O, 1/I/L: the code is read off paper and typed by elderly people.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8

VERDICT_MESSAGES: dict[Verdict, dict[str, str]] = {
    "genuine": {
        "zh-CN": "验证通过：本文书由本平台签发，电子印章有效，内容未被篡改。",
        "en": "Genuine: issued by this platform, the electronic seal is valid and the "
        "content is unchanged.",
    },
    "forged": {
        "zh-CN": "验证未通过：文书内容与签发时不一致或电子印章无效，可能被篡改或伪造。",
        "en": "Not genuine: the content differs from what was issued or the electronic seal "
        "is invalid; it may have been altered or forged.",
    },
    "revoked": {
        "zh-CN": "该文书已被签发部门撤销，不再有效。",
        "en": "This document was revoked by the issuing department and is no longer valid.",
    },
}


def new_check_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    """What a person typed: spaces, dashes and lower case are forgiven."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())[: CODE_LENGTH * 2]


def verify_url(base: str, doc_id: str, code: str) -> str:
    return f"{base.rstrip('/')}/verify/{doc_id}?c={code}"


def mask_case_number(number: str) -> str:
    """CW20261127-000042 → CW2026****-**0042: enough to recognise, not to look up."""
    if len(number) < 10:
        return "*" * len(number)
    middle = "".join("-" if ch == "-" else "*" for ch in number[6:-4])
    return number[:6] + middle + number[-4:]


def verdict(intact: bool, revoked: bool) -> Verdict:
    if not intact:
        return "forged"
    return "revoked" if revoked else "genuine"


def _cn_date(at: datetime | None) -> str:
    if at is None:
        return ""
    d = china_date(at)
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass
class Issue:
    """The facts a document is made from (the case, its item and department, the
    applicant's masked ID number) and the new document's identity."""

    case: Case
    item_name: str
    dept: Department
    id_masked: str
    at: datetime  # issue time
    doc_id: str
    code: str
    url: str  # the verification address in the QR code

    def common_rows(self) -> list[tuple[str, str]]:
        return [
            ("办件编号", self.case.number),
            ("申请人", self.case.applicant_masked),
            ("证件号码", self.id_masked),
            ("申请事项", self.item_name),
            ("受理日期", _cn_date(self.case.accepted_at)),
        ]

    def document(
        self,
        title: str,
        mark: str,
        paragraphs: list[str],
        rows: list[tuple[str, str]],
        notes: list[str] | None = None,
    ) -> DocumentContent:
        short = self.dept.short_name or self.dept.name
        return DocumentContent(
            title=title,
            doc_number=f"{short}{mark}〔{china_date(self.at).year}〕{self.case.number}号",
            addressee=f"{self.case.applicant_masked or '申请人'}：",
            paragraphs=paragraphs,
            rows=[*self.common_rows(), *rows],
            department_name=self.dept.name,
            issued_on=china_date(self.at),
            verify_url=self.url,
            document_id=self.doc_id,
            check_code=self.code,
            notes=notes or [],
        )


def receipt_content(issue: Issue) -> DocumentContent:
    """受理回执: the application was accepted on …, will be decided by …"""
    case = issue.case
    due = case.due_date
    due_text = f"{due.year}年{due.month}月{due.day}日" if due is not None else ""
    limit = f"（{case.promised_days}个工作日）" if case.promised_days else "（即办）"
    return issue.document(
        "受理回执",
        "受",
        [
            f"您于{_cn_date(case.accepted_at)}通过云窗口申请办理的“{issue.item_name}”事项，"
            "经审查，申请材料齐全、符合法定形式，本机关决定予以受理。",
            "本机关将在承诺时限内作出决定，办理结果将以短信通知您。您可凭办件编号和手机号码在"
            "“办件查询”中查询办理进度、下载办理结果。",
        ],
        [("承诺办结日期", due_text + limit), ("受理部门", issue.dept.name)],
        ["注：本回执证明您的申请已被受理，不作为办理结果的凭证。"],
    )


def decision_content(issue: Issue) -> DocumentContent:
    """办结通知书 (concluded) or 不予许可决定书 (rejected, with the reason and the
    citizen's remedies)."""
    case = issue.case
    applied = f"您于{_cn_date(case.accepted_at)}申请办理的“{issue.item_name}”事项，经审查，"
    rows = [("决定日期", _cn_date(issue.at)), ("办理部门", issue.dept.name)]
    if case.state == "concluded":
        return issue.document(
            "办结通知书",
            "结",
            [
                applied + "符合法定条件和标准，本机关决定准予办理，现予办结。",
                "请凭本通知书及有效身份证件办理后续事宜。",
            ],
            [*rows, ("办理结果", "准予办理（已办结）")],
        )
    return issue.document(
        "不予许可决定书",
        "不许",
        [
            applied + "不符合法定条件，本机关决定不予许可。",
            f"理由：{case.outcome_reason or '不符合法定条件'}",
        ],
        [*rows, ("办理结果", "不予许可")],
        [
            "如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，"
            "或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼。"
        ],
    )
