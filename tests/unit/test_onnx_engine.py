"""The production code path (ArcFace + RetinaFace on onnxruntime) on tiny stand-in graphs.

The real graphs cannot be downloaded here; these graphs have the same interface (tests/
unit/test_provision.py builds them), so the sessions, threads, detection sizing,
alignment and embedding that production uses all run. Outputs are meaningless.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from face_verification.config import load_settings
from face_verification.faces import FaceAnalyzer
from deepface.models.Detector import FacialAreaRegion

from face_verification.errors import ModelWeightsMissing
from face_verification.onnx_sessions import load_sessions
from tests.unit.test_provision import arcface_like, provision, retinaface_like, spec_for


def production_like(home: Path, split: bool) -> Path:
    weights = home / ".deepface" / "weights"
    weights.mkdir(parents=True)
    arcface_like(weights / "arcface_weights.onnx")
    retinaface_like(weights / "retinaface.onnx")
    if split:  # as the image stores it: provision.py moves the weights beside the graph
        moved = provision.split_onnx(weights / "arcface_weights.onnx", spec_for("arcface_weights.onnx"), io.StringIO())
        assert moved == [] and (weights / "arcface_weights.onnx.data").is_file()
    return home


@pytest.fixture(scope="module", params=["one file", "weights beside the graph"])
def production_like_home(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """Both layouts a graph can have: as published, and as the image stores it."""
    return production_like(tmp_path_factory.mktemp("production_like"), request.param != "one file")


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
    # idle workers must not spin: the two sessions' pools would take the CPU from each other
    for options in (recognizer_options, detector_options):
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
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



def test_graph_whose_data_file_is_missing_fails_init_with_the_fix(tmp_path: Path):
    home = production_like(tmp_path / "home", split=True)
    (home / ".deepface" / "weights" / "arcface_weights.onnx.data").unlink()
    with pytest.raises(ModelWeightsMissing, match=r"arcface_weights\.onnx cannot be loaded: .*Model weights"):
        load_sessions("ArcFace", "retinaface", home, threads=1)


class ScriptedDetector:
    """Stands in for the detector's raw output: one scripted face box (or none) per call,
    in the coordinates of the input it is given; records the input sizes."""

    def __init__(self, *boxes: tuple[int, int, int, int] | None) -> None:
        self.boxes = list(boxes)
        self.inputs: list[tuple[int, int]] = []

    def __call__(self, img: np.ndarray) -> list[FacialAreaRegion]:
        self.inputs.append(img.shape[:2])
        box = self.boxes[len(self.inputs) - 1]
        if box is None:
            return []
        x, y, w, h = box
        return [FacialAreaRegion(x=x, y=y, w=w, h=h, confidence=0.99,
                                 left_eye=(x + 2 * w // 3, y + h // 3), right_eye=(x + w // 3, y + h // 3))]


# A 512x512 photo: border 128 px, scale 0.6, so the detector sees 307 px without the border
# and 461 px with it; a box (x, y, w, h) it reports maps back as x / 0.6 (- 128 with the border).
@pytest.mark.parametrize(
    ("outputs", "passes", "found"),
    [
        # clear of the edges: one pass, without the border
        ([(100, 60, 70, 80)], [(307, 307)], (167, 100, 117, 133)),
        # touching the left edge: searched again with the border, which finds it whole
        ([(0, 60, 70, 80), (77, 137, 70, 80)], [(307, 307), (461, 461)], (0, 100, 117, 133)),
        # nothing without the border (a tight crop): searched again with it
        ([None, (137, 137, 70, 80)], [(307, 307), (461, 461)], (100, 100, 117, 133)),
        ([None, None], [(307, 307), (461, 461)], None),
    ],
)
def test_registered_photo_is_searched_without_the_border_first(analyzer: FaceAnalyzer, outputs, passes, found):
    detector = ScriptedDetector(*outputs)
    analyzer._run_detector = detector
    prepared = analyzer.prepare(np.full((512, 512, 3), 90, np.uint8))
    face = analyzer.find_largest_face(prepared)
    assert detector.inputs == passes
    if found is None:
        assert face is None
    else:
        assert face is not None and (face.x, face.y, face.w, face.h) == found
        # alignment cuts from the padded image: its region is the same pixels, shifted
        assert (face.region.x - prepared.pad, face.region.y - prepared.pad) == (face.x, face.y)


def test_capture_is_always_searched_with_the_border(analyzer: FaceAnalyzer):
    detector = ScriptedDetector((100, 60, 70, 80))
    analyzer._run_detector = detector
    analyzer.detect(analyzer.prepare(np.full((512, 512, 3), 90, np.uint8)))
    assert detector.inputs == [(461, 461)]  # a second face at the edge must not be missed
