"""Shared fixtures: the offline model pack, the shared labelled photos, a local S3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "faces" / "deepface-unit"
PROVISION = REPO / "layers" / "model_weights" / "provision.py"

# The configuration local runs and CI use: the offline pack, chosen explicitly.
OFFLINE_ENV = {
    "MODEL_NAME": "Dlib",
    "DETECTOR_BACKEND": "dlib",
    "DISTANCE_METRIC": "cosine",
    "DEEPFACE_BACKEND_ENGINE": "onnx",
}
BUCKET = "finday-faces-test"
PREFIX = "references/"


def shared_face(name: str) -> Path:
    """A photo from ../shared/faces/deepface-unit (never copied into the repo)."""
    return SHARED_FACES / name


def require_shared_faces() -> None:
    if not (SHARED_FACES / "master.csv").is_file():
        pytest.skip(
            f"the labelled photos are not at {SHARED_FACES}; the tests on package-shipped "
            "images (astronaut, Grace Hopper) still ran"
        )


@pytest.fixture(scope="session")
def offline_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DEEPFACE_HOME holding the offline pack, provisioned by the project's own script."""
    home = Path(os.environ.get("VERIFY_FACE_TEST_HOME") or tmp_path_factory.mktemp("deepface_home"))
    subprocess.run(
        [sys.executable, str(PROVISION), "--pack", "offline", "--home", str(home)],
        check=True,
        capture_output=True,
    )
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server over HTTP on loopback, with the references bucket created."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint)
