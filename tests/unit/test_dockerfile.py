"""The image recipe, read as text: Docker cannot run on the development machines, so what
matters about functions/verify_face/Dockerfile is checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTION = REPO / "functions" / "verify_face"
DOCKERFILE = FUNCTION / "Dockerfile"


def stages() -> dict[str, str]:
    """Each build stage's instructions (continuation lines joined), by stage name."""
    text = re.sub(r" *\\\n\s*", " ", DOCKERFILE.read_text())
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    parts = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    named = {}
    for part in parts:
        header = part.splitlines()[0].split()
        named[header[2] if len(header) > 2 else "function"] = part
    return named


@pytest.fixture(scope="module")
def function_stage() -> str:
    return stages()["function"]


def test_two_stages_on_the_lambda_python_base():
    assert list(stages()) == ["model-weights", "function"]
    for stage in stages().values():
        assert stage.startswith("public.ecr.aws/lambda/python:3.12")


def test_packages_and_code_are_compiled_at_build_time(function_stage: str):
    # Lambda's file system is read-only: without .pyc every cold start compiles the
    # packages again (bench/coldstart.py measures it: about 2.5 s more).
    assert "--no-compile" not in DOCKERFILE.read_text()
    assert "PYTHONDONTWRITEBYTECODE" not in function_stage
    assert "pip install -r /tmp/requirements.txt" in function_stage
    assert "python -m compileall -q ${LAMBDA_TASK_ROOT}" in function_stage


def test_weights_come_verified_and_split_from_their_stage(function_stage: str):
    weights = stages()["model-weights"]
    assert "provision.py --pack production --home /opt/deepface" in weights
    pinned = re.search(r"^onnx==(\S+)", (REPO / "requirements-dev.txt").read_text(), re.MULTILINE)
    assert pinned and f"onnx=={pinned.group(1)}" in weights  # the version the tests split with
    assert "COPY --from=model-weights /opt/deepface /opt/deepface" in function_stage
    assert "ENV DEEPFACE_BACKEND_ENGINE=onnx DEEPFACE_HOME=/opt/deepface" in function_stage


def test_every_module_of_the_function_is_copied(function_stage: str):
    copied = set(re.findall(r"functions/verify_face/([\w/]+(?:\.py|/))", function_stage))
    modules = {path.name for path in FUNCTION.glob("*.py")} | {
        f"{path.name}/" for path in FUNCTION.iterdir() if (path / "__init__.py").is_file()
    }
    assert copied == modules
    assert 'CMD ["app.lambda_handler"]' in function_stage
