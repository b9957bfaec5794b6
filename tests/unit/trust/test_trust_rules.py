"""Pure rules of sealed documents: masking, check codes, verdicts, official dates, line
breaking of Chinese text, and what each document says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reportlab.pdfbase import pdfmetrics

from cloudwindow.cases.models import Case
from cloudwindow.catalog.models import Department
from cloudwindow.trust import rules
from cloudwindow.trust.render import FONT, chinese_date, register_font, wrap


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("CW20261127-000042", "CW2026****-**0042"),
        ("CW20260101-123456", "CW2026****-**3456"),
        ("SHORT", "*****"),
        ("", ""),
    ],
)
def test_case_number_masked_keeps_prefix_and_tail(number: str, masked: str) -> None:
    assert rules.mask_case_number(number) == masked


def test_check_codes_avoid_confusable_characters() -> None:
    codes = {rules.new_check_code() for _ in range(200)}
    assert len(codes) == 200  # random, not a counter
    for code in codes:
        assert len(code) == rules.CODE_LENGTH
        assert not set(code) & set("01OIL")


@pytest.mark.parametrize(
    ("typed", "normal"),
    [("k7q2-9xmb", "K7Q29XMB"), (" K7Q2 9XMB ", "K7Q29XMB"), ("", "")],
)
def test_typed_codes_are_forgiven_spaces_dashes_case(typed: str, normal: str) -> None:
    assert rules.normalize_code(typed) == normal


@pytest.mark.parametrize(
    ("intact", "revoked", "verdict"),
    [(True, False, "genuine"), (True, True, "revoked"), (False, False, "forged"),
     (False, True, "forged")],
)  # fmt: skip
def test_verdict_table(intact: bool, revoked: bool, verdict: str) -> None:
    assert rules.verdict(intact, revoked) == verdict
    assert rules.VERDICT_MESSAGES[rules.verdict(intact, revoked)]["zh-CN"]


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 11, 27), "二〇二六年十一月二十七日"),
        (date(2025, 1, 1), "二〇二五年一月一日"),
        (date(2030, 10, 10), "二〇三〇年十月十日"),
        (date(2026, 12, 31), "二〇二六年十二月三十一日"),
    ],
)
def test_official_chinese_dates(day: date, text: str) -> None:
    assert chinese_date(day) == text


@given(st.text(alphabet="政务服务云窗口办件受理，。、ABC123 ", min_size=0, max_size=300),
       st.floats(min_value=60, max_value=400))  # fmt: skip
def test_wrap_keeps_every_character_and_fits_the_width(text: str, width: float) -> None:
    register_font()
    lines = wrap(text, 12, width)
    assert "".join(lines) == text
    for line in lines:
        # A line may only overflow by one closing punctuation mark kept off the next line.
        body = line[:-1] if line and line[-1] in "，。、；：）》」”" else line
        assert len(body) <= 1 or pdfmetrics.stringWidth(body, FONT, 12) <= width
    for line in lines[1:]:
        assert not line or line[0] not in "，。、；：）》」”"


def _issue(state: str) -> rules.Issue:
    case = Case(
        number="CW20261127-000042", applicant_masked="张*", state=state,
        accepted_at=datetime(2026, 11, 27, 2, 0, tzinfo=UTC), due_date=date(2026, 12, 4),
        promised_days=5, outcome_reason="申请材料与事实不符",
    )  # fmt: skip
    dept = Department(code="ZC-SBJ", name="广州市增城区社会保险基金管理局", short_name="区社保局")
    return rules.Issue(case, "社会保障卡补领", dept, "4401**********1234",
                       datetime(2026, 11, 30, 3, 0, tzinfo=UTC), "ab" * 16, "K7Q29XMB",
                       "https://zw.example/verify/abab?c=K7Q29XMB")  # fmt: skip


def test_receipt_says_accepted_with_due_date_and_masked_id() -> None:
    doc = rules.receipt_content(_issue("under_approval"))
    assert doc.title == "受理回执"
    assert doc.doc_number == "区社保局受〔2026〕CW20261127-000042号"
    rows = dict(doc.rows)
    assert rows["证件号码"] == "4401**********1234"
    assert rows["承诺办结日期"] == "2026年12月4日（5个工作日）"
    assert rows["受理日期"] == "2026年11月27日"
    assert "予以受理" in doc.paragraphs[0]
    assert doc.issued_on == date(2026, 11, 30)


def test_decisions_concluded_and_rejected() -> None:
    done = rules.decision_content(_issue("concluded"))
    assert done.title == "办结通知书" and dict(done.rows)["办理结果"].startswith("准予")
    refused = rules.decision_content(_issue("rejected"))
    assert refused.title == "不予许可决定书"
    assert "理由：申请材料与事实不符" in refused.paragraphs
    assert any("行政复议" in n for n in refused.notes)
