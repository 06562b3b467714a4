"""Builds the verifier once per Lambda execution environment (at init, not per request).

Init is in two steps so that the slow parts overlap: ``start_loading_models`` runs first
in ``app`` and loads the onnx graphs on a background thread (native work that releases
the GIL) while the rest of the function (Powertools, DeepFace, OpenCV, boto3) imports;
``build_verifier`` then puts the pieces together.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import types
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from face_verification.config import Settings
from face_verification.onnx_sessions import load_sessions
from face_verification.weights import ensure_weights_present

if TYPE_CHECKING:
    from face_verification.verifier import FaceVerifier


# Their DEBUG output quotes request data (form fields, S3 keys): never below INFO, whatever
# POWERTOOLS_DEBUG or the Lambda log level say, so no email or key reaches the logs.
QUIET_LOGGERS = ("aws_lambda_powertools.event_handler", "botocore", "boto3", "urllib3", "s3transfer")

# DeepFace and retina-face import these at module level only to download weights or to
# fetch images by URL. Neither happens here (weights are baked in and checked at init;
# images arrive as bytes), and importing them (gdown brings BeautifulSoup) costs about
# 0.3 s of cold start, so each is imported when first used instead.
IMPORTED_ON_FIRST_USE = ("gdown", "requests")


def quiet_third_party_loggers() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def start_loading_models(settings: Settings) -> Future[dict[str, Any]]:
    """Check the weights and start loading the onnx graphs; call it before the heavy imports."""
    # DeepFace and retina-face read these at import time, so they are set before the import.
    os.environ["DEEPFACE_HOME"] = str(settings.deepface_home)
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    ensure_weights_present(settings.deepface_home, settings.model_name, settings.detector_backend)
    for name in IMPORTED_ON_FIRST_USE:
        if name not in sys.modules:
            sys.modules[name] = ImportedOnFirstUse(name)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-models")
    sessions = pool.submit(
        load_sessions, settings.model_name, settings.detector_backend,
        settings.deepface_home, settings.detection.onnx_threads,
    )
    pool.shutdown(wait=False)
    return sessions


def build_verifier(settings: Settings, sessions: Future[dict[str, Any]]) -> FaceVerifier:
    from face_verification.faces import FaceAnalyzer
    from face_verification.verifier import FaceVerifier
    from s3_reference_store import S3ReferenceStore

    store = S3ReferenceStore(settings.s3, max_bytes=settings.images.max_image_bytes)
    analyzer = FaceAnalyzer(settings.model_name, settings.detector_backend, settings.detection,
                            sessions=sessions.result())
    analyzer.warm_up()  # the first inference pays for memory planning; the first user must not
    return FaceVerifier(settings, analyzer, store)


class ImportedOnFirstUse(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is first read,
    then imports the real module and answers from it.

    Not ``importlib.util.LazyLoader``: an ``import gdown`` statement reads the module's
    ``__spec__``, which is an attribute read, so the lazy module would load right there.
    """

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)
