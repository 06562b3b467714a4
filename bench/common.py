"""What the benchmarks share: the two model packs, the inputs, a local S3, the handler.

Packs:
  random   production graphs (ArcFace + RetinaFace, onnx) exported WITH RANDOM WEIGHTS by
           bench/export_random_weights.py: the same graphs and compute cost as the real
           weights, meaningless output. RetinaFace finds no face with random weights, so
           where a face box is needed the known box of the sample face stands in for its
           output (the detector still runs, at full cost). Timing and memory only.
  offline  the offline pack (Dlib + dlib detector, real weights from PyPI).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
import socket
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FUNCTION = REPO / "functions" / "verify_face"
sys.path[:0] = [str(FUNCTION), str(REPO)]

BUCKET, PREFIX = "finday-faces-bench", "references/"
# Kept outside the repository, as export_random_weights.py requires (`make bench-export`).
RANDOM_HOME = Path(os.environ.get("RANDOM_WEIGHTS_HOME",
                                  Path.home() / ".cache" / "finday-verify-face" / "deepface-random"))
OFFLINE_HOME = Path(os.environ.get("OFFLINE_HOME", REPO / ".cache" / "deepface-offline"))
LABEL = {
    "random": "production graphs ArcFace+RetinaFace, RANDOM WEIGHTS: compute cost only",
    "offline": "offline pack Dlib+dlib, real weights",
}


@dataclass(frozen=True)
class Pack:
    name: str
    model: str
    detector: str
    home: Path

    @property
    def label(self) -> str:
        return LABEL[self.name]

    def env(self) -> dict[str, str]:
        return {
            "MODEL_NAME": self.model,
            "DETECTOR_BACKEND": self.detector,
            "DEEPFACE_HOME": str(self.home),
            "DEEPFACE_BACKEND_ENGINE": "onnx",
            "REFERENCE_BUCKET": BUCKET,
            "REFERENCE_PREFIX": PREFIX,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


RANDOM_FILES = ("arcface_weights.onnx", "retinaface.onnx")

PACKS = {
    "random": Pack("random", "ArcFace", "retinaface", RANDOM_HOME),
    "offline": Pack("offline", "Dlib", "dlib", OFFLINE_HOME),
}


def ensure_pack(pack: Pack) -> None:
    """The pack's files in place, in the layout the image has (provision.py: onnx graphs
    with their weights beside them, which load faster)."""
    weights = pack.home / ".deepface" / "weights"
    if pack.name == "random" and not all((weights / name).is_file() for name in RANDOM_FILES):
        sys.exit(
            f"random-weight graphs missing in {weights}: run `make bench-export` "
            "(bench/export_random_weights.py in a Python 3.11 venv with torch==2.13.0)"
        )
    # The random graphs stand in for the production pack: provision.py finds them present
    # (the production entries pin no sha256 yet) and splits them as the image build does.
    subprocess.run([sys.executable, str(REPO / "layers/model_weights/provision.py"),
                    "--pack", "production" if pack.name == "random" else "offline",
                    "--home", str(pack.home)], check=True, stdout=subprocess.DEVNULL)


# -- inputs ------------------------------------------------------------------------------

# Where the astronaut's face is in each input (x, y, w, h), found by looking at them.
CROP_FACE = (16, 11, 128, 138)  # the 160x160 capture of events/match.json
FRAME_FACE = (235, 37, 112, 122)  # the 640x480 frame built below
REFERENCE_FACE = (165, 40, 120, 130)  # skimage.data.astronaut(), 512x512
FACE_BOXES = {(160, 160): CROP_FACE, (480, 640): FRAME_FACE, (512, 512): REFERENCE_FACE}


@dataclass(frozen=True)
class Inputs:
    reference: bytes  # the registered photo (astronaut, 512x512 JPEG)
    crop: bytes  # the frontend's capture: the face box cut from a 360x270 frame
    frame: bytes  # a whole 640x480 webcam frame


def inputs() -> Inputs:
    from PIL import Image
    from skimage import data

    from events import samples

    astronaut = Image.fromarray(data.astronaut())  # 512x512; face about x 165-285, y 40-170
    # A whole webcam frame: the photo scaled to 480 px high on a 640x480 canvas.
    frame = Image.new("RGB", (640, 480), (40, 40, 40))
    frame.paste(astronaut.resize((480, 480)), (80, 0))
    return Inputs(
        reference=samples.reference_jpeg(),
        # What the frontend posts: the face box cut from the frame, 160x160 (events/match.json).
        crop=samples.match_capture_jpeg(),
        frame=_jpeg(frame),
    )


def _jpeg(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


# -- local S3 and the handler ------------------------------------------------------------

def start_s3() -> Any:
    from moto.server import ThreadedMotoServer
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{port}"
    return server


def upload_reference(data: bytes, key: str = "astronaut.jpg") -> str:
    import boto3

    s3 = boto3.client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=BUCKET, Key=PREFIX + key, Body=data)
    return f"https://{BUCKET}.s3.us-east-1.amazonaws.com/{PREFIX}{key}"


@contextmanager
def local_stack(pack: Pack) -> Iterator[tuple[Inputs, str]]:
    """The pack's environment and a local S3 holding the registered photo: (inputs, its URL)."""
    ensure_pack(pack)
    os.environ.update(pack.env())
    server = start_s3()
    try:
        sample = inputs()
        yield sample, upload_reference(sample.reference)
    finally:
        server.stop()


def event(capture: bytes, url: str) -> dict[str, Any]:
    from events import apigw

    body, content_type = apigw.multipart_body(
        {"face_img_url": url}, {"face_image": ("capture.jpg", capture, "image/jpeg")},
        boundary="bench-boundary",
    )
    return apigw.rest_api_event(body, content_type, request_id="bench")


class Context:
    function_name = "VerifyFaceFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:VerifyFaceFunction"
    memory_limit_in_mb = 3008
    aws_request_id = "bench"


def stand_in_face_boxes(app: Any, boxes: dict[tuple[int, int], tuple[int, int, int, int]] = FACE_BOXES) -> None:
    """Random weights find no face: after the real detector has run on its input (full
    cost), answer with the known face box of the input of that size, so the rest of the
    path (alignment, embedding, the reference's single pass) runs as with real weights."""
    from deepface.models.Detector import FacialAreaRegion

    from face_verification.faces import DetectedFace

    analyzer = app.verifier._analyzer
    real_detect_in = analyzer._detect_in

    def detect_in(image, prepared, offset):
        faces = real_detect_in(image, prepared, offset)
        if faces:
            return faces
        x, y, w, h = boxes[(prepared.height, prepared.width)]
        p = prepared.pad
        region = FacialAreaRegion(x=x + p, y=y + p, w=w, h=h, confidence=0.99,
                                  left_eye=(x + p + int(0.7 * w), y + p + int(0.4 * h)),
                                  right_eye=(x + p + int(0.3 * w), y + p + int(0.4 * h)))
        return [DetectedFace(x=x, y=y, w=w, h=h, confidence=0.99, region=region)]

    analyzer._detect_in = detect_in


def summary(samples_s: list[float]) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    ordered = sorted(samples_s)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record))
