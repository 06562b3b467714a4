"""Builds the verifier once per Lambda execution environment (at init, not per request)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from face_verification.config import Settings
from face_verification.onnx_sessions import load_sessions
from face_verification.weights import ensure_weights_present

if TYPE_CHECKING:
    from face_verification.verifier import FaceVerifier


# Their DEBUG output quotes request data (form fields, S3 keys): never below INFO, whatever
# POWERTOOLS_DEBUG or the Lambda log level say, so no email or key reaches the logs.
QUIET_LOGGERS = ("aws_lambda_powertools.event_handler", "botocore", "boto3", "urllib3", "s3transfer")


def quiet_third_party_loggers() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def build_verifier(settings: Settings) -> FaceVerifier:
    # DeepFace and retina-face read these at import time, so they are set before the import.
    os.environ["DEEPFACE_HOME"] = str(settings.deepface_home)
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    ensure_weights_present(settings.deepface_home, settings.model_name, settings.detector_backend)

    # Loading the graphs is native work that releases the GIL; importing DeepFace, OpenCV
    # and boto3 is Python work. Doing them side by side shortens the cold start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        sessions = pool.submit(
            load_sessions, settings.model_name, settings.detector_backend,
            settings.deepface_home, settings.detection.onnx_threads,
        )
        from face_verification.faces import FaceAnalyzer
        from face_verification.verifier import FaceVerifier
        from s3_reference_store import S3ReferenceStore

        store = S3ReferenceStore(settings.s3, max_bytes=settings.images.max_image_bytes)
        analyzer = FaceAnalyzer(settings.model_name, settings.detector_backend, settings.detection,
                                sessions=sessions.result())
    analyzer.warm_up()  # the first inference pays for memory planning; the first user must not
    return FaceVerifier(settings, analyzer, store)
