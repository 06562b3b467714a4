"""Configuration is read once into one typed object; bad values fail at start, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from face_verification.config import ConfigError, load_settings

BASE = {"REFERENCE_BUCKET": "faces"}


def test_defaults_are_the_production_models_with_the_documented_threshold():
    settings = load_settings(BASE)
    assert (settings.model_name, settings.detector_backend, settings.distance_metric) == (
        "ArcFace",
        "retinaface",
        "cosine",
    )
    assert settings.threshold == 0.55
    assert settings.reference_prefix == ""
    assert settings.images.max_image_bytes == 5_000_000
    assert settings.images.max_image_pixels == 25_000_000


@pytest.mark.parametrize(("model", "detector", "threshold"),
                         [("Dlib", "dlib", 0.06), ("Dlib", "opencv", 0.05), ("ArcFace", "dlib", 0.55)])
def test_each_model_and_detector_gets_its_calibrated_threshold(model, detector, threshold):
    settings = load_settings({**BASE, "MODEL_NAME": model, "DETECTOR_BACKEND": detector})
    assert settings.threshold == threshold


def test_other_metric_falls_back_to_deepface_pretuned_threshold():
    settings = load_settings({**BASE, "DISTANCE_METRIC": "euclidean_l2"})
    assert settings.threshold == pytest.approx(1.13)  # DeepFace's ArcFace/euclidean_l2


def test_explicit_threshold_wins_and_names_are_case_insensitive():
    settings = load_settings({**BASE, "VERIFY_THRESHOLD": "0.42", "MODEL_NAME": "arcface",
                              "DETECTOR_BACKEND": "RetinaFace", "DEEPFACE_HOME": "/opt/deepface"})
    assert settings.threshold == 0.42
    assert settings.model_name == "ArcFace"  # DeepFace's own spelling
    assert settings.detector_backend == "retinaface"
    assert settings.deepface_home == Path("/opt/deepface")


def test_empty_threshold_means_the_default():
    assert load_settings({**BASE, "VERIFY_THRESHOLD": ""}).threshold == 0.55


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "REFERENCE_BUCKET is required"),
        ({**BASE, "MODEL_NAME": "VGG-Face"}, "MODEL_NAME='VGG-Face' is not supported"),
        ({**BASE, "DETECTOR_BACKEND": "mtcnn"}, "DETECTOR_BACKEND='mtcnn' is not supported"),
        ({**BASE, "DISTANCE_METRIC": "manhattan"}, "DISTANCE_METRIC='manhattan' is not supported"),
        ({**BASE, "VERIFY_THRESHOLD": "abc"}, "VERIFY_THRESHOLD='abc' is not a number"),
        ({**BASE, "VERIFY_THRESHOLD": "-1"}, "VERIFY_THRESHOLD='-1' is below the minimum"),
        ({**BASE, "VERIFY_THRESHOLD": "nan"}, "VERIFY_THRESHOLD='nan' is not a finite number"),
        ({**BASE, "MAX_IMAGE_BYTES": "10"}, "MAX_IMAGE_BYTES='10' is below the minimum"),
        ({**BASE, "SECOND_FACE_AREA_RATIO": "2"}, "SECOND_FACE_AREA_RATIO='2' is above the maximum"),
        ({**BASE, "REFERENCE_PREFIX": "/faces/"}, "REFERENCE_PREFIX must be a folder-like key prefix"),
        ({**BASE, "REFERENCE_PREFIX": "faces"}, "REFERENCE_PREFIX must be a folder-like key prefix"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env)
