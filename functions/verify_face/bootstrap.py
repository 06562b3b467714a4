"""Builds the verifier once per Lambda execution environment (at init, not per request)."""

from __future__ import annotations

import os

from face_verification.config import Settings
from face_verification.weights import ensure_weights_present


def build_verifier(settings: Settings):  # -> FaceVerifier (imported late, see below)
    # DeepFace and retina-face read these at import time, so they are set before the import.
    os.environ["DEEPFACE_HOME"] = str(settings.deepface_home)
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    ensure_weights_present(settings.deepface_home, settings.model_name, settings.detector_backend)

    from face_verification.faces import FaceAnalyzer
    from face_verification.verifier import FaceVerifier
    from s3_reference_store import S3ReferenceStore

    analyzer = FaceAnalyzer(settings.model_name, settings.detector_backend, settings.detection)
    analyzer.warm_up()
    store = S3ReferenceStore(settings.s3, max_bytes=settings.images.max_image_bytes)
    return FaceVerifier(settings, analyzer, store)
