"""The production code path (ArcFace + RetinaFace on onnxruntime) on tiny stand-in graphs.

The real graphs cannot be downloaded here; these graphs have the same interface (tests/
unit/test_provision.py builds them), so the sessions, threads, detection sizing,
alignment and embedding that production uses all run. Outputs are meaningless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from face_verification.config import load_settings
from face_verification.faces import FaceAnalyzer
from tests.unit.test_provision import arcface_like, retinaface_like


@pytest.fixture(scope="module")
def production_like_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("production_like")
    weights = home / ".deepface" / "weights"
    weights.mkdir(parents=True)
    arcface_like(weights / "arcface_weights.onnx")
    retinaface_like(weights / "retinaface.onnx")
    return home


@pytest.fixture
def analyzer(production_like_home: Path, monkeypatch: pytest.MonkeyPatch) -> FaceAnalyzer:
    monkeypatch.setenv("DEEPFACE_HOME", str(production_like_home))
    settings = load_settings({"REFERENCE_BUCKET": "b", "ONNX_THREADS": "1"})
    return FaceAnalyzer(settings.model_name, settings.detector_backend, settings.detection)


def test_sessions_run_with_the_configured_thread_count(analyzer: FaceAnalyzer):
    recognizer_options = analyzer._recognizer.model.get_session_options()
    detector_options = analyzer._detector.model.session.get_session_options()
    assert recognizer_options.intra_op_num_threads == 1
    assert detector_options.intra_op_num_threads == 1
    assert analyzer._recognizer.input_shape == (112, 112)
    assert analyzer._recognizer.output_shape == 512


def test_retinaface_input_is_padded_then_shrunk_to_what_the_smallest_face_needs(analyzer: FaceAnalyzer):
    prepared = analyzer.prepare(np.full((160, 160, 3), 32, np.uint8))
    assert prepared.padded.shape == (240, 240, 3)  # 25% border on each side
    # MIN_FACE_SIZE 40 px needs only 24 px for RetinaFace: 0.6, never above 1.
    assert analyzer.detection_scale(prepared) == pytest.approx(0.6)


def test_detect_and_embed_run_end_to_end(analyzer: FaceAnalyzer):
    # The stand-in detector scores 0.03 x the mean pixel: 32 -> 0.96, above RetinaFace's 0.9.
    prepared = analyzer.prepare(np.full((160, 160, 3), 32, np.uint8))
    faces = analyzer.detect(prepared)
    assert faces
    assert faces == sorted(faces, key=lambda face: face.area, reverse=True)
    for face in faces:
        assert 0 <= face.x and face.x + face.w <= 160 and 0 <= face.y and face.y + face.h <= 160
    embedding = analyzer.embed(prepared, faces[0])
    assert embedding.shape == (512,)
    assert embedding.dtype == np.float32
    assert np.isfinite(embedding).all()


def test_black_image_has_no_face(analyzer: FaceAnalyzer):
    assert analyzer.detect(analyzer.prepare(np.zeros((160, 160, 3), np.uint8))) == []

