"""The decision: is the one face in the capture the person registered at face_img_url?"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from deepface.modules.verification import find_distance

from face_verification.config import Settings
from face_verification.errors import (
    FaceNotDetected,
    FaceTooSmall,
    ImageRole,
    MultipleFaces,
    ReferenceNotFound,
)
from face_verification.faces import DetectedFace, Embedding, FaceAnalyzer, PreparedImage
from face_verification.images import decode_image
from face_verification.reference_url import S3Location, parse_reference_url


@dataclass(frozen=True)
class ReferenceObject:
    data: bytes
    etag: str


class ReferenceStore(Protocol):
    def fetch(self, location: S3Location, if_none_match: str | None = None) -> ReferenceObject | None:
        """The object, or None when its ETag still equals ``if_none_match``."""


@dataclass(frozen=True)
class Decision:
    matched: bool
    distance: float
    threshold: float
    model: str
    detector: str
    distance_metric: str
    reference_cached: bool


@dataclass(frozen=True)
class _CachedReference:
    etag: str
    embedding: Embedding


class ReferenceEmbeddingCache:
    """Embeddings of registered images, revalidated against S3's ETag on every use.

    Keyed by bucket and key; the entry remembers the ETag it was computed from, and the
    model/detector/alignment are fixed per process, so a replaced reference or another
    model can never be compared stale.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _CachedReference] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, location: S3Location) -> _CachedReference | None:
        with self._lock:
            entry = self._entries.get((location.bucket, location.key))
            if entry is not None:
                self._entries.move_to_end((location.bucket, location.key))
            return entry

    def put(self, location: S3Location, etag: str, embedding: Embedding) -> None:
        if self._max_entries <= 0 or not etag:
            return
        with self._lock:
            self._entries[(location.bucket, location.key)] = _CachedReference(etag, embedding)
            self._entries.move_to_end((location.bucket, location.key))
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FaceVerifier:
    def __init__(self, settings: Settings, analyzer: FaceAnalyzer, store: ReferenceStore) -> None:
        self._settings = settings
        self._analyzer = analyzer
        self._store = store
        self.reference_cache = ReferenceEmbeddingCache(settings.reference_cache_size)

    def verify(self, capture: bytes, reference_url: str) -> Decision:
        settings = self._settings
        # Cheap checks first: a bad URL or capture costs neither S3 nor the reference's detection.
        location = parse_reference_url(
            reference_url, settings.reference_bucket, settings.reference_prefix
        )
        capture_embedding = self._capture_embedding(capture)
        reference_embedding, cached = self._reference_embedding(location)
        distance = float(
            find_distance(capture_embedding, reference_embedding, settings.distance_metric)
        )
        return Decision(
            matched=distance <= settings.threshold,
            distance=distance,
            threshold=settings.threshold,
            model=settings.model_name,
            detector=settings.detector_backend,
            distance_metric=settings.distance_metric,
            reference_cached=cached,
        )

    def _prepare(self, data: bytes, role: ImageRole) -> PreparedImage:
        return self._analyzer.prepare(decode_image(data, self._settings.images, role=role))

    def _capture_embedding(self, data: bytes) -> Embedding:
        prepared = self._prepare(data, "capture")
        return self._analyzer.embed(prepared, self._only_face(self._analyzer.detect(prepared)))

    def _reference_embedding(self, location: S3Location) -> tuple[Embedding, bool]:
        cached = self.reference_cache.get(location)
        fetched = self._store.fetch(location, if_none_match=cached.etag if cached else None)
        if fetched is None:
            if cached is None:  # a store must not answer "not modified" to an unconditional read
                raise ReferenceNotFound("no registered image at face_img_url")
            return cached.embedding, True
        prepared = self._prepare(fetched.data, "reference")
        # The registered photo may show others; its largest face is the person.
        face = self._analyzer.find_largest_face(prepared)
        if face is None:
            raise FaceNotDetected("no face was found in the registered image", image="reference")
        self._check_size(face, "reference")
        embedding = self._analyzer.embed(prepared, face)
        self.reference_cache.put(location, fetched.etag, embedding)
        return embedding, False

    def _only_face(self, faces: list[DetectedFace]) -> DetectedFace:
        if not faces:
            raise FaceNotDetected("no face was found in the capture", image="capture")
        main = faces[0]
        ratio = self._settings.detection.second_face_area_ratio
        # Someone holding up a photo of the account owner must not pass: the capture may
        # show one face only, bar tiny ones (a poster far behind, a detector's speck).
        others = [face for face in faces[1:] if face.area >= ratio * main.area]
        if others:
            raise MultipleFaces(
                f"the capture shows {1 + len(others)} faces; exactly one is required",
                image="capture",
                faces=1 + len(others),
            )
        self._check_size(main, "capture")
        return main

    def _check_size(self, face: DetectedFace, role: ImageRole) -> None:
        minimum = self._settings.detection.min_face_size
        if face.short_side < minimum:
            raise FaceTooSmall(
                f"the face in the {role} is {face.short_side} px; at least {minimum} px are needed",
                image=role,
            )

