"""Which weight files each model needs, and a check that they are baked in.

DeepFace downloads a missing weight file on first use. In Lambda that would mean a
network fetch from GitHub during a login, so init checks the files first and fails
with a message that says how to fix the image instead.
"""

from __future__ import annotations

from pathlib import Path

from face_verification.errors import ModelWeightsMissing

# File names as DeepFace and retina-face look for them under $DEEPFACE_HOME/.deepface/weights.
# layers/model_weights/manifest.json provisions the same files (a unit test keeps them in step).
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "ArcFace": ("arcface_weights.onnx",),
    "Dlib": ("dlib_face_recognition_resnet_model_v1.dat",),
    "retinaface": ("retinaface.onnx",),
    "dlib": ("shape_predictor_5_face_landmarks.dat",),
    "opencv": (),  # Haar cascades ship inside the opencv wheel
}

FIX_HINT = 'see README section "Model weights" (layers/model_weights/provision.py)'


def weights_dir(deepface_home: Path) -> Path:
    return deepface_home / ".deepface" / "weights"


def required_files(model_name: str, detector_backend: str) -> list[str]:
    return [*WEIGHT_FILES[model_name], *WEIGHT_FILES[detector_backend]]


def ensure_weights_present(deepface_home: Path, model_name: str, detector_backend: str) -> None:
    folder = weights_dir(deepface_home)
    missing = [
        name
        for name in required_files(model_name, detector_backend)
        if not (folder / name).is_file() or (folder / name).stat().st_size == 0
    ]
    if missing:
        listed = ", ".join(str(folder / name) for name in missing)
        raise ModelWeightsMissing(
            f"model weights missing for {model_name}/{detector_backend}: {listed}; {FIX_HINT}"
        )
