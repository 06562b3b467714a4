"""Find faces and turn one face into an embedding, with DeepFace's models and alignment.

DeepFace's ``verify``/``represent`` run the detector the way each client hard-codes it
(RetinaFace upscales every image's shorter side to 1024 px) on an image they pad by 50%.
Here detection is driven directly so its input is sized for the job: the image is padded
(tight webcam crops are otherwise missed), then shrunk as far as the smallest accepted face
allows and to at most ``detector_max_side``, and never upscaled. A registered photo needs
only its largest face, and is searched without the border first. Alignment, cropping and
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

# Scores at or above which a detector's box is a face it is sure of. DeepFace passes dlib's
# HOG boxes on down to a score of 0: on the test photos real faces score 0.62 or more
# (1.0 once clipped) and stray boxes (a sleeve, a patch of a suit) 0.12 or less, at times
# as large as the face. RetinaFace's boxes are already cut at 0.9; OpenCV's scores do not
# tell faces from the rest.
CONFIDENT_SCORE = {"dlib": 0.3}

# A face found without the border counts as found when the image shows this share of
# its size beyond the box on every side: the border would not change what is seen.
EDGE_CLEARANCE = 0.1


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
        self._onnx_models = frozenset(sessions)  # warmed up as they loaded
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
        """All faces found in the padded image: those the detector is sure of first, each
        group largest first."""
        return self._detect_in(prepared.padded, prepared, offset=0)

    def find_largest_face(self, prepared: PreparedImage) -> DetectedFace | None:
        """The largest face (of those the detector is sure of, if any), which is all a
        registered photo needs.

        The border is there for faces that reach the image's edge. So the image is first
        searched without it (2.25x fewer pixels at the default padding, the bulk of a
        cold reference's cost), and with it only when no face clear of the edges is found.
        A larger face cut off by the edge is not looked for once one in view is found.
        """
        pad = prepared.pad
        if pad:
            unpadded = prepared.padded[pad : pad + prepared.height, pad : pad + prepared.width]
            faces = self._detect_in(unpadded, prepared, offset=pad)
            if faces and _clear_of_edges(faces[0], prepared):
                return faces[0]
        faces = self.detect(prepared)
        return faces[0] if faces else None

    def _detect_in(self, image: BGRImage, prepared: PreparedImage, offset: int) -> list[DetectedFace]:
        # ``image`` is ``prepared.padded`` or a window of it starting at (offset, offset);
        # both are scaled alike, so the border is the only difference between them.
        scale = self.detection_scale(prepared)
        detector_input = image
        if scale < 1.0:
            detector_input = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = []
        for region in self._run_detector(detector_input):
            face = _to_image_coordinates(_to_padded(region, 1.0 / scale, offset), prepared)
            if face is not None:
                faces.append(face)
        confident = CONFIDENT_SCORE.get(self.detector_backend, 0.0)
        faces.sort(key=lambda face: (face.confidence >= confident, face.area, face.confidence), reverse=True)
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
        """One pass through each model not warmed up yet (onnx sessions warm up as they
        load; DeepFace's dlib and OpenCV clients do not), so the first user does not pay
        for first-inference set-up."""
        blank = np.full((160, 160, 3), 128, dtype=np.uint8)
        prepared = self.prepare(blank)
        if self.detector_backend not in self._onnx_models:
            self.detect(prepared)
        if self.model_name not in self._onnx_models:
            h, w = blank.shape[:2]
            region = FacialAreaRegion(x=prepared.pad, y=prepared.pad, w=w, h=h, confidence=1.0,
                                      left_eye=(prepared.pad + 100, prepared.pad + 60),
                                      right_eye=(prepared.pad + 60, prepared.pad + 60))
            self.embed(prepared, DetectedFace(x=0, y=0, w=w, h=h, confidence=1.0, region=region))


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


def _to_padded(region: FacialAreaRegion, factor: float, offset: int) -> FacialAreaRegion:
    """A region found in a scaled window of the padded image, in the padded image's pixels."""
    if factor == 1.0 and offset == 0:
        return region

    def point(value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is None:
            return None
        return int(round(value[0] * factor)) + offset, int(round(value[1] * factor)) + offset

    return FacialAreaRegion(
        x=int(round(region.x * factor)) + offset, y=int(round(region.y * factor)) + offset,
        w=int(round(region.w * factor)), h=int(round(region.h * factor)),
        left_eye=point(region.left_eye), right_eye=point(region.right_eye),
        nose=point(region.nose), mouth_left=point(region.mouth_left),
        mouth_right=point(region.mouth_right), confidence=region.confidence,
    )


def _clear_of_edges(face: DetectedFace, prepared: PreparedImage) -> bool:
    margin = EDGE_CLEARANCE * face.short_side
    return (
        face.x >= margin and face.y >= margin
        and face.x + face.w <= prepared.width - margin
        and face.y + face.h <= prepared.height - margin
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
