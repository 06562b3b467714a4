"""Init refuses to start without its weight files, and names the file and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from face_verification.errors import ModelWeightsMissing
from face_verification.weights import WEIGHT_FILES, ensure_weights_present, required_files
from tests.conftest import REPO

MANIFEST = REPO / "layers" / "model_weights" / "manifest.json"


def test_every_weight_file_the_function_needs_is_provisioned_by_the_manifest():
    manifest = json.loads(MANIFEST.read_text())
    provisioned = {f["name"] for pack in manifest["packs"].values() for f in pack["files"]}
    needed = {name for names in WEIGHT_FILES.values() for name in names}
    assert needed == provisioned


def test_production_and_offline_packs_hold_exactly_their_models_files():
    manifest = json.loads(MANIFEST.read_text())
    packs = {name: {f["name"] for f in pack["files"]} for name, pack in manifest["packs"].items()}
    assert packs["production"] == set(required_files("ArcFace", "retinaface"))
    assert packs["offline"] == set(required_files("Dlib", "dlib"))


def test_missing_weight_names_the_file_and_the_readme_section(tmp_path: Path):
    weights = tmp_path / ".deepface" / "weights"
    weights.mkdir(parents=True)
    (weights / "retinaface.onnx").write_bytes(b"present")
    with pytest.raises(ModelWeightsMissing) as caught:
        ensure_weights_present(tmp_path, "ArcFace", "retinaface")
    message = str(caught.value)
    assert str(weights / "arcface_weights.onnx") in message
    assert "retinaface.onnx" not in message.replace(str(weights / "arcface_weights.onnx"), "")
    assert 'README section "Model weights"' in message


def test_empty_weight_file_counts_as_missing(tmp_path: Path):
    weights = tmp_path / ".deepface" / "weights"
    weights.mkdir(parents=True)
    (weights / "dlib_face_recognition_resnet_model_v1.dat").write_bytes(b"")
    (weights / "shape_predictor_5_face_landmarks.dat").write_bytes(b"x")
    with pytest.raises(ModelWeightsMissing, match="dlib_face_recognition_resnet_model_v1.dat"):
        ensure_weights_present(tmp_path, "Dlib", "dlib")


def test_opencv_detector_needs_no_weight_file(offline_home: Path):
    ensure_weights_present(offline_home, "Dlib", "opencv")
