"""Find faces and turn one face into an embedding, with DeepFace's models and alignment.

DeepFace's ``verify``/``represent`` run the detector the way each client hard-codes it
(RetinaFace upscales every image's shorter side to 1024 px) on an image they pad by 50%.
Here detection is driven directly so its input is sized for the job: the image is padded
(tight webcam crops are otherwise missed), then shrunk as far as the smallest accepted face
allows and to at most ``detector_max_side``, and never upscaled. Alignment, cropping and
preprocessing reuse DeepFace's own functions so the embeddings are the ones DeepFace's
thresholds were tuned on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from deepface.commons import folder_utils
from deepface.models.Detector import FacialAreaRegion
from deepface.models.facial_recognition.onnx.OnnxFacialRecognition import OnnxFacialRecognition
from deepface.modules import detection, modeling, preprocessing

from face_verification.config import DetectionSettings
from face_verification.images import BGRImage
from face_verification.onnx_sessions import load_sessions

Embedding = NDArray[np.float32]

# RetinaFace's own default score threshold, as DeepFace's client uses it.
RETINAFACE_SCORE_THRESHOLD = 0.9

# The smallest face (px, shorter side) each detector finds reliably at its input scale.
# RetinaFace's smallest anchors are 16 px (stride 8); dlib's HOG window is 80 px on an
# image DeepFace upsamples twice; OpenCV's Haar cascade starts at about 30-40 px.
MIN_DETECTABLE_FACE = {"retinaface": 24, "dlib": 40, "opencv": 40}


@dataclass(frozen=True)
class DetectedFace:
    """A face found in an image, in that image's pixel coordinates."""

    x: int
    y: int
    w: int
    h: int
    confidence: float
    # The detector's region in the padded working image, kept for alignment.
    region: FacialAreaRegion

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def short_side(self) -> int:
        return min(self.w, self.h)


@dataclass(frozen=True)
class PreparedImage:
    """An image with the border detection needs; faces are aligned and cut from it."""

    padded: BGRImage
    pad: int
    height: int
    width: int


class FaceAnalyzer:
    """Builds the recognition model and the detector once; detects and embeds per request."""

    def __init__(
        self,
        model_name: str,
        detector_backend: str,
        settings: DetectionSettings,
        sessions: Mapping[str, Any] | None = None,
    ) -> None:
        """``sessions``: onnx sessions from ``onnx_sessions.load_sessions``, when the caller
        loaded them ahead (bootstrap does, while the rest of the function imports)."""
        self.model_name = model_name
        self.detector_backend = detector_backend
        self.settings = settings
        if sessions is None:
            home = Path(folder_utils.get_deepface_home())
            sessions = load_sessions(model_name, detector_backend, home, settings.onnx_threads)
        self._recognizer = _build_recognizer(model_name, sessions)
        self._detector = _build_detector(detector_backend, sessions)
        # (height, width) the recognizer takes
        self._input_shape: tuple[int, int] = tuple(self._recognizer.input_shape)  # type: ignore[assignment]

    # -- detection ---------------------------------------------------------------------

    def prepare(self, image: BGRImage) -> PreparedImage:
        height, width = image.shape[:2]
        pad = int(round(self.settings.padding_ratio * max(height, width)))
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        return PreparedImage(padded=padded, pad=pad, height=height, width=width)

    def detection_scale(self, prepared: PreparedImage) -> float:
        """How much to shrink the padded image for the detector: never enlarge it, keep its
        longer side within ``detector_max_side``, and shrink no further than keeps the
        smallest accepted face (``min_face_size``) at the size this detector still finds."""
        by_side = self.settings.detector_max_side / max(prepared.padded.shape[:2])
        smallest_found = MIN_DETECTABLE_FACE.get(self.detector_backend, self.settings.min_face_size)
        by_face = smallest_found / self.settings.min_face_size
        return min(1.0, by_side, by_face)

    def detect(self, prepared: PreparedImage) -> list[DetectedFace]:
        """All faces found, largest first."""
        padded = prepared.padded
        scale = self.detection_scale(prepared)
        detector_input = padded
        if scale < 1.0:
            detector_input = cv2.resize(padded, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

        faces = []
        for region in self._run_detector(detector_input):
            region = _rescale(region, 1.0 / scale) if scale < 1.0 else region
            face = _to_image_coordinates(region, prepared)
            if face is not None:
                faces.append(face)
        faces.sort(key=lambda face: (face.area, face.confidence), reverse=True)
        return faces

    def _run_detector(self, img: BGRImage) -> list[FacialAreaRegion]:
        if self.detector_backend == "retinaface":
            return _retinaface_regions(self._detector.model, img)
        return list(self._detector.detect_faces(img))

    # -- embedding ---------------------------------------------------------------------

    def embed(self, prepared: PreparedImage, face: DetectedFace) -> Embedding:
        """Align and crop ``face`` as DeepFace does, then run the recognition model."""
        extracted = detection.extract_face(
            facial_area=face.region,
            img=prepared.padded,
            align=self.settings.align,
            expand_percentage=0,
            width_border=prepared.pad,
            height_border=prepared.pad,
            detector_backend=self.detector_backend,
        )
        crop = extracted.img
        if crop.size == 0:
            crop = prepared.padded[
                face.y + prepared.pad : face.y + prepared.pad + face.h,
                face.x + prepared.pad : face.x + prepared.pad + face.w,
            ]
        # Same steps as DeepFace.represent: [0, 1] floats, letterboxed to the model input.
        pixels = crop.astype(np.float32) / 255.0
        batch = preprocessing.resize_image(img=pixels, target_size=self._input_shape)
        batch = preprocessing.normalize_input(img=batch, normalization="base")
        embedding = np.asarray(self._recognizer.forward(batch), dtype=np.float32)
        return embedding.reshape(-1)

    def warm_up(self) -> None:
        """One inference through both models, so graph optimisation happens at init."""
        blank = np.full((160, 160, 3), 128, dtype=np.uint8)
        prepared = self.prepare(blank)
        self.detect(prepared)
        h, w = blank.shape[:2]
        region = FacialAreaRegion(x=prepared.pad, y=prepared.pad, w=w, h=h, confidence=1.0,
                                  left_eye=(prepared.pad + 100, prepared.pad + 60),
                                  right_eye=(prepared.pad + 60, prepared.pad + 60))
        face = DetectedFace(x=0, y=0, w=w, h=h, confidence=1.0, region=region)
        self.embed(prepared, face)


class OnnxRecognizer(OnnxFacialRecognition):
    """DeepFace's onnx recognizer (its forward and predict) on a session built by us."""

    def __init__(self, model_name: str, session: Any) -> None:
        self.model_name = model_name
        self.model = session
        _, height, width, _ = session.get_inputs()[0].shape  # channels last: (n, h, w, 3)
        self.input_shape = (int(height), int(width))
        self.output_shape = int(session.get_outputs()[0].shape[-1])


class RetinaFaceDetector:
    """retina-face's onnx wrapper on a session built by us; detection is driven directly."""

    def __init__(self, session: Any) -> None:
        from retinaface.model.retinaface_onnx_model import RetinaFace

        self.model = RetinaFace(session)


def _build_recognizer(model_name: str, sessions: Mapping[str, Any]) -> Any:
    if model_name in sessions:
        return OnnxRecognizer(model_name, sessions[model_name])
    return modeling.build_model(task="facial_recognition", model_name=model_name)


def _build_detector(detector_backend: str, sessions: Mapping[str, Any]) -> Any:
    if detector_backend == "retinaface":
        return RetinaFaceDetector(sessions["retinaface"])
    return modeling.build_model(task="face_detector", model_name=detector_backend)


def _retinaface_regions(model: Any, img: BGRImage) -> list[FacialAreaRegion]:
    # Called directly (not through DeepFace's client) to turn off its upscaling to 1024 px.
    from retinaface import RetinaFace as rf

    found = rf.detect_faces(img, threshold=RETINAFACE_SCORE_THRESHOLD, model=model, allow_upscaling=False)
    if not isinstance(found, dict):
        return []
    regions = []
    for identity in found.values():
        x1, y1, x2, y2 = (int(v) for v in identity["facial_area"])
        marks = identity["landmarks"]

        def point(name: str) -> tuple[int, int] | None:
            value = marks.get(name)
            return None if value is None else (int(value[0]), int(value[1]))

        regions.append(
            FacialAreaRegion(
                x=x1, y=y1, w=x2 - x1, h=y2 - y1,
                # RetinaFace names the eyes from the person's point of view, as DeepFace does.
                left_eye=point("left_eye"), right_eye=point("right_eye"),
                nose=point("nose"), mouth_left=point("mouth_left"), mouth_right=point("mouth_right"),
                confidence=float(identity["score"]),
            )
        )
    return regions


def _rescale(region: FacialAreaRegion, factor: float) -> FacialAreaRegion:
    def point(value: tuple[int, int] | None) -> tuple[int, int] | None:
        return None if value is None else (int(round(value[0] * factor)), int(round(value[1] * factor)))

    return FacialAreaRegion(
        x=int(round(region.x * factor)), y=int(round(region.y * factor)),
        w=int(round(region.w * factor)), h=int(round(region.h * factor)),
        left_eye=point(region.left_eye), right_eye=point(region.right_eye),
        nose=point(region.nose), mouth_left=point(region.mouth_left),
        mouth_right=point(region.mouth_right), confidence=region.confidence,
    )


def _to_image_coordinates(region: FacialAreaRegion, prepared: PreparedImage) -> DetectedFace | None:
    # The box clipped to the original image: a face that lies in the border only is noise.
    x1 = max(0, region.x - prepared.pad)
    y1 = max(0, region.y - prepared.pad)
    x2 = min(prepared.width, region.x + region.w - prepared.pad)
    y2 = min(prepared.height, region.y + region.h - prepared.pad)
    if x2 <= x1 or y2 <= y1:
        return None
    return DetectedFace(
        x=x1, y=y1, w=x2 - x1, h=y2 - y1,
        confidence=float(region.confidence or 0.0), region=region,
    )
