"""Face verification (人证比对): the ID card photo against a still from the kiosk camera.

The model ships inside registry packages (no download at run time; docs/identity.md):

- ``dlib-bin`` (PyPI, prebuilt dlib): the HOG + linear SVM frontal face detector that is
  compiled into dlib, and the inference code;
- ``face_recognition_models`` (PyPI): dlib's 5-point shape predictor (aligns the face)
  and its ResNet face-recognition model (a 128-d descriptor per face; two photos of one
  person lie closer than 0.6 apart, 99.38 % on LFW).

Both photos are decoded completely with Pillow (a truncated or non-image file is refused
before the model sees it), turned upright from EXIF, scaled so their longer side is at
most ``MAX_SIDE``, and searched for faces. The check's **score** is ``1 − distance``
(higher is more alike); it matches when the score reaches the configured threshold
(``CLOUDWINDOW_FACE_MATCH_THRESHOLD``, 0.4 = dlib's distance 0.6).

The model runs on a thread pool of ``face_workers`` threads (``FaceEngine.run``): the
event loop never waits on it, and at most that many checks use the CPU at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cloudwindow.errors import CloudWindowError

T = TypeVar("T")
MAX_SIDE = 1024  # longer stills are scaled down: faster, and a face still has ≥ 100 px
MAX_PIXELS = 40_000_000  # refused before decoding (decompression bombs)
UPSAMPLE = 1  # the detector looks once at 2× too: finds faces down to ~40 px
# A second face counts only if it is at least this fraction of the largest face's width:
# a passer-by far behind the citizen, or a face printed on a poster, does not.
SECOND_FACE_RATIO = 0.5
MODEL_NAME = "dlib-resnet-v1"


class Outcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    NO_ID_CARD = "no_id_card"
    NO_CONSENT = "no_consent"


class FaceImageCorrupt(CloudWindowError):
    error_id = "face-image-corrupt"
    status_code = 422
    message_zh = "照片不是有效的图片，或图片不完整（请重新拍摄）"
    message_en = "The photo is not a valid image, or it is incomplete (take it again)"


class FaceModelMissing(CloudWindowError):
    error_id = "face-model-missing"
    status_code = 503
    message_zh = "人脸比对模型未安装（需 dlib-bin 与 face_recognition_models）"
    message_en = "The face model is not installed (dlib-bin and face_recognition_models)"


@dataclass(frozen=True)
class Face:
    """One detected face: its box (left, top, right, bottom) in the scaled image."""

    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class Comparison:
    outcome: Outcome
    score: float | None  # 1 − distance; None when a side had no single face
    threshold: float
    faces_portrait: int
    faces_live: int
    side: str | None  # for no_face / multiple_faces: "portrait" or "live"
    elapsed_ms: int


def decode(data: bytes) -> Image.Image:
    """The image in ``data`` decoded completely, upright, RGB, at most ``MAX_SIDE`` px;
    ``face-image-corrupt`` for anything else (not an image, truncated, a bomb)."""
    if not data:
        raise FaceImageCorrupt({"reason": "empty"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in ("JPEG", "PNG", "WEBP"):
                    raise FaceImageCorrupt({"reason": f"format {img.format}"})
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise FaceImageCorrupt({"reason": "too many pixels"})
                img.load()
                upright = ImageOps.exif_transpose(img).convert("RGB")
    except FaceImageCorrupt:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FaceImageCorrupt({"reason": "too many pixels"}) from exc
    except UnidentifiedImageError as exc:
        raise FaceImageCorrupt({"reason": "not an image"}) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FaceImageCorrupt({"reason": str(exc)[:120]}) from exc
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return upright


def counted_faces(faces: list[Face]) -> list[Face]:
    """The faces that count: the largest, and others at least ``SECOND_FACE_RATIO`` of it."""
    if not faces:
        return []
    ordered = sorted(faces, key=lambda f: f.width, reverse=True)
    largest = ordered[0].width
    return [f for f in ordered if f.width >= SECOND_FACE_RATIO * largest]


def score_of(distance: float) -> float:
    return round(max(0.0, min(1.0, 1.0 - distance)), 4)


def _model_dir() -> Path:
    # Found without importing the package: its __init__ needs pkg_resources, which
    # recent setuptools no longer ship.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissing()
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceEngine:
    """dlib's detector, aligner and descriptor, run on a bounded pool. dlib's objects are
    not safe to share between threads (two checks at once on one network crash the
    process), so each worker thread loads its own copy (~30 MB) on its first check."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="face")
        self._local = threading.local()

    def _load(self) -> tuple[Any, Any, Any]:
        models: tuple[Any, Any, Any] | None = getattr(self._local, "models", None)
        if models is None:
            try:
                import dlib  # heavy: loaded on first use only
            except ImportError as exc:
                raise FaceModelMissing() from exc
            folder = _model_dir()
            predictor = folder / "shape_predictor_5_face_landmarks.dat"
            resnet = folder / "dlib_face_recognition_resnet_model_v1.dat"
            if not (predictor.is_file() and resnet.is_file()):
                raise FaceModelMissing({"folder": str(folder)})
            models = (
                dlib.get_frontal_face_detector(),
                dlib.shape_predictor(str(predictor)),
                dlib.face_recognition_model_v1(str(resnet)),
            )
            self._local.models = models
        return models

    def warm_up(self) -> None:
        """Load the model in the calling thread (benchmarks; the pool loads its own)."""
        self._load()

    def find_faces(self, img: Image.Image) -> tuple[np.ndarray[Any, Any], list[Any]]:
        detector, _, _ = self._load()
        pixels = np.asarray(img)
        rects = list(detector(pixels, UPSAMPLE))
        return pixels, rects

    def descriptor(self, pixels: np.ndarray[Any, Any], rect: Any) -> np.ndarray[Any, Any]:
        _, predictor, resnet = self._load()
        shape = predictor(pixels, rect)
        return np.asarray(resnet.compute_face_descriptor(pixels, shape))

    def analyse(self, data: bytes) -> tuple[list[Face], np.ndarray[Any, Any] | None]:
        """The counted faces in one photo, and the descriptor when there is exactly one."""
        pixels, rects = self.find_faces(decode(data))
        faces = [Face((r.left(), r.top(), r.right(), r.bottom())) for r in rects]
        counted = counted_faces(faces)
        if len(counted) != 1:
            return counted, None
        rect = rects[faces.index(counted[0])]
        return counted, self.descriptor(pixels, rect)

    def compare(self, portrait: bytes, live: bytes, threshold: float) -> Comparison:
        """Blocking: the portrait (ID card photo) against the live still."""
        start = time.perf_counter()
        p_faces, p_desc = self.analyse(portrait)
        l_faces, l_desc = self.analyse(live)

        def done(outcome: Outcome, score: float | None, side: str | None) -> Comparison:
            ms = int((time.perf_counter() - start) * 1000)
            return Comparison(outcome, score, threshold, len(p_faces), len(l_faces), side, ms)

        # The live still first: it is what the citizen can fix by standing differently.
        for side, faces in (("live", l_faces), ("portrait", p_faces)):
            if not faces:
                return done(Outcome.NO_FACE, None, side)
            if len(faces) > 1:
                return done(Outcome.MULTIPLE_FACES, None, side)
        assert p_desc is not None and l_desc is not None
        score = score_of(float(np.linalg.norm(p_desc - l_desc)))
        return done(Outcome.MATCH if score >= threshold else Outcome.MISMATCH, score, None)

    def count_faces(self, data: bytes) -> int:
        """Blocking: how many faces count in one photo (the ID card photo is checked)."""
        return len(self.analyse(data)[0])

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the engine's pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)


@lru_cache(maxsize=4)
def engine_for(workers: int) -> FaceEngine:
    """One engine per process (and pool size): the model is loaded once, ~30 MB."""
    return FaceEngine(workers)
