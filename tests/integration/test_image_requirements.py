"""The image installs functions/verify_face/requirements.txt and nothing else: with only
those packages the handler must import and build the production models (ArcFace +
RetinaFace on onnxruntime, here on stand-in graphs of the same interface).

Runs in .venv-prod, which `make test` builds from that file alone (Docker cannot run on
the development machines, so this is the closest check of the image's Python side).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BUCKET, REPO
from tests.unit.test_onnx_engine import production_like

IMAGE_PYTHON = Path(os.environ.get("VERIFY_FACE_IMAGE_PYTHON", REPO / ".venv-prod" / "bin" / "python"))


def test_handler_inits_with_production_models_on_the_image_packages_alone(tmp_path: Path):
    if not IMAGE_PYTHON.is_file():
        pytest.skip(f"{IMAGE_PYTHON} is missing: `make test` builds it from functions/verify_face/requirements.txt")
    production_like(tmp_path, split=True)  # the layout the image build leaves
    script = (
        "import json, sys, importlib.util as u, app; "
        "print(json.dumps({'model': app.settings.model_name, 'detector': app.settings.detector_backend, "
        "'frameworks': [m for m in ('tensorflow', 'torch', 'dlib') if u.find_spec(m)], "
        "'loaded': sorted(m for m in ('gdown', 'requests', 'bs4') if type(sys.modules.get(m)).__name__ == 'module')}))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DEEPFACE_HOME": str(tmp_path),
        "DEEPFACE_BACKEND_ENGINE": "onnx",
        "REFERENCE_BUCKET": BUCKET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    result = subprocess.run([str(IMAGE_PYTHON), "-c", script], cwd=REPO / "functions" / "verify_face",
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # gdown and requests (DeepFace's downloaders) stay unloaded: 0.3 s of cold start
    assert report == {"model": "ArcFace", "detector": "retinaface", "frameworks": [], "loaded": []}
