"""Face verification (人证比对) with the model shipped on PyPI (dlib-bin +
face_recognition_models), on the sample people's photos and on images made here: the
same person matches, different people don't, no face / two faces / corrupt images give
their own outcomes."""

from __future__ import annotations

import asyncio
import io
from datetime import date

import pytest
from PIL import Image, ImageDraw, ImageFilter

from cloudwindow.cases.forms import is_resident_id
from cloudwindow.identity.faces import (
    Face,
    FaceEngine,
    FaceImageCorrupt,
    Outcome,
    counted_faces,
    decode,
    score_of,
)
from cloudwindow.identity.rules import CONSENT_TEXTS, is_expired, mask_id_number, mask_name
from cloudwindow.sample.people import CHEN_LIVE_2, PEOPLE, person

THRESHOLD = 0.4


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(1)


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def two_faces() -> bytes:
    """A 640×480 still with two people side by side (chen and li)."""
    canvas = Image.new("RGB", (640, 480), (200, 200, 200))
    for i, key in enumerate(("chen", "li")):
        face = Image.open(person(key).portrait).convert("RGB").resize((300, 370))
        canvas.paste(face, (10 + i * 320, 60))
    return jpeg(canvas)


def landscape() -> bytes:
    """No face: a sky, hills and a sun."""
    img = Image.new("RGB", (640, 480), (135, 190, 235))
    draw = ImageDraw.Draw(img)
    draw.polygon(
        [(0, 480), (0, 300), (200, 220), (420, 320), (640, 240), (640, 480)], (60, 130, 60)
    )
    draw.ellipse((480, 50, 560, 130), (250, 220, 90))
    return jpeg(img.filter(ImageFilter.GaussianBlur(2)))


def test_same_person_matches(engine: FaceEngine) -> None:
    chen = person("chen")
    assert chen.live is not None
    for live in (chen.live, CHEN_LIVE_2):
        result = engine.compare(chen.portrait.read_bytes(), live.read_bytes(), THRESHOLD)
        assert result.outcome == Outcome.MATCH, (live, result)
        assert result.score is not None and result.score >= 0.55
        assert (result.faces_portrait, result.faces_live) == (1, 1)


@pytest.mark.parametrize("key", ["li", "wang"])
def test_different_people_do_not_match(engine: FaceEngine, key: str) -> None:
    live = person("chen").live
    assert live is not None
    result = engine.compare(person(key).portrait.read_bytes(), live.read_bytes(), THRESHOLD)
    assert result.outcome == Outcome.MISMATCH
    assert result.score is not None and result.score < 0.25


def test_threshold_decides(engine: FaceEngine) -> None:
    chen = person("chen")
    assert chen.live is not None
    strict = engine.compare(chen.portrait.read_bytes(), chen.live.read_bytes(), 0.99)
    assert strict.outcome == Outcome.MISMATCH and strict.threshold == 0.99


def test_no_face_in_the_live_still(engine: FaceEngine) -> None:
    result = engine.compare(person("chen").portrait.read_bytes(), landscape(), THRESHOLD)
    assert (result.outcome, result.side, result.score) == (Outcome.NO_FACE, "live", None)
    blank = jpeg(Image.new("RGB", (640, 480), (30, 30, 30)))
    assert engine.compare(person("chen").portrait.read_bytes(), blank, THRESHOLD).outcome == (
        Outcome.NO_FACE
    )


def test_no_face_in_the_portrait(engine: FaceEngine) -> None:
    live = person("chen").live
    assert live is not None
    result = engine.compare(landscape(), live.read_bytes(), THRESHOLD)
    assert (result.outcome, result.side) == (Outcome.NO_FACE, "portrait")


def test_two_faces(engine: FaceEngine) -> None:
    result = engine.compare(person("chen").portrait.read_bytes(), two_faces(), THRESHOLD)
    assert (result.outcome, result.side, result.faces_live) == (
        Outcome.MULTIPLE_FACES,
        "live",
        2,
    )
    assert engine.count_faces(two_faces()) == 2


def test_png_still_is_read(engine: FaceEngine) -> None:
    live = person("chen").live
    assert live is not None
    buf = io.BytesIO()
    Image.open(live).save(buf, "PNG")
    result = engine.compare(person("chen").portrait.read_bytes(), buf.getvalue(), THRESHOLD)
    assert result.outcome == Outcome.MATCH


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"%PDF-1.4\n%%EOF", b"GIF89a" + b"\x00" * 40],
    ids=["empty", "text", "pdf", "gif-header"],
)
def test_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(FaceImageCorrupt):
        decode(data)


def test_truncated_jpeg_is_refused() -> None:
    live = person("chen").live
    assert live is not None
    data = live.read_bytes()
    with pytest.raises(FaceImageCorrupt) as caught:
        decode(data[: len(data) // 2])
    assert caught.value.error_id == "face-image-corrupt"


def test_large_still_is_scaled_down() -> None:
    img = decode(jpeg(Image.new("RGB", (4000, 3000), (90, 90, 90))))
    assert max(img.size) == 1024


def test_small_background_faces_do_not_count() -> None:
    big, small, medium = Face((0, 0, 200, 200)), Face((300, 0, 360, 60)), Face((0, 0, 120, 120))
    assert counted_faces([small, big]) == [big]
    assert counted_faces([big, medium, small]) == [big, medium]
    assert counted_faces([]) == []


def test_score_is_one_minus_distance() -> None:
    assert score_of(0.336) == 0.664
    assert score_of(1.7) == 0.0
    assert score_of(-0.1) == 1.0


def test_sample_people_follow_the_contract() -> None:
    assert len(PEOPLE) >= 3
    assert len({p.key for p in PEOPLE}) == len(PEOPLE)
    today = date(2026, 11, 27)
    assert any(p.expired(today) for p in PEOPLE)
    for p in PEOPLE:
        assert is_resident_id(p.id_number) and p.id_number.startswith("440118")
        assert p.id_number[6:14] == p.birth_date.strftime("%Y%m%d")
        assert int(p.id_number[16]) % 2 == (1 if p.sex == "男" else 0)
        assert p.portrait.is_file() and (p.live is None or p.live.is_file())
        card = p.id_card()
        assert card["id_number"] == p.id_number and len(card["photo"]) > 1000


def test_masks_and_expiry() -> None:
    assert mask_id_number("440118196108040353") == "4401**********0353"
    assert mask_name("陈建国") == "陈**"
    assert is_expired(date(2025, 6, 1), date(2025, 6, 2))
    assert not is_expired(date(2025, 6, 1), date(2025, 6, 1))
    assert not is_expired(None, date(2099, 1, 1))


def test_consent_texts_say_what_why_and_how_long() -> None:
    for text in CONSENT_TEXTS.values():
        joined = "".join(text.points_zh)
        for word in ("收集什么", "为什么", "保存多久", "不同意"):
            assert word in joined, (text.purpose, word)
        assert len(text.points_zh) == len(text.points_en)
        assert text.sha256 != ""


def test_concurrent_checks_on_two_workers() -> None:
    """dlib's networks are not thread-safe: each worker thread has its own copy, so
    concurrent checks neither crash the process nor mix their results up."""
    chen, li = person("chen"), person("li")
    assert chen.live is not None
    live = chen.live.read_bytes()
    engine = FaceEngine(2)

    async def burst() -> list[Outcome]:
        jobs = [
            engine.run(engine.compare, p.portrait.read_bytes(), live, THRESHOLD)
            for p in (chen, li, chen, li, chen, li)
        ]
        return [c.outcome for c in await asyncio.gather(*jobs)]

    assert asyncio.run(burst()) == [Outcome.MATCH, Outcome.MISMATCH] * 3
