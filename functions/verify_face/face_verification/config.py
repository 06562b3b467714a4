"""Configuration, read once from the environment at start into one typed object.

A bad value fails the Lambda init with a message naming the variable, instead of
surfacing later as a confusing per-request error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Models whose weights the project provisions (see layers/model_weights/manifest.json).
SUPPORTED_MODELS = ("ArcFace", "Dlib")
SUPPORTED_DETECTORS = ("retinaface", "dlib", "opencv")
SUPPORTED_METRICS = ("cosine", "euclidean", "euclidean_l2", "angular")

# Default decision thresholds for a login second factor, per (model, detector, metric):
# alignment differs per detector, and so do the distances. Set below the closest impostor
# pair of master.csv with this pipeline (bench/accuracy.py; README, "Thresholds").
# ArcFace keeps the value the original Flask service documented, for any detector.
DEFAULT_THRESHOLDS: dict[tuple[str, str | None, str], float] = {
    ("ArcFace", None, "cosine"): 0.55,
    ("Dlib", "dlib", "cosine"): 0.06,  # closest impostor 0.0676; DeepFace's 0.07 lets one in
    ("Dlib", "opencv", "cosine"): 0.05,  # closest impostor 0.0510
}


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


@dataclass(frozen=True)
class ImageLimits:
    max_image_bytes: int
    max_image_pixels: int
    max_body_bytes: int
    # Large photos are scaled down to this longer side before anything else runs,
    # so time and memory do not grow with the camera's resolution.
    max_image_side: int


@dataclass(frozen=True)
class DetectionSettings:
    # Border added around the image before detection, as a share of its longer side:
    # detectors miss faces that fill the whole frame (the frontend sends tight crops).
    padding_ratio: float
    # Longer side of the (padded) image handed to the detector.
    detector_max_side: int
    # Smallest face accepted, in pixels of the detected box's shorter side.
    min_face_size: int
    # A second face at least this share of the main face's area rejects the capture.
    second_face_area_ratio: float
    # onnxruntime threads per inference: the vCPUs Lambda gives the function.
    onnx_threads: int
    align: bool = True


@dataclass(frozen=True)
class S3Settings:
    connect_timeout: float
    read_timeout: float
    max_attempts: int


@dataclass(frozen=True)
class Settings:
    model_name: str
    detector_backend: str
    distance_metric: str
    threshold: float
    reference_bucket: str
    reference_prefix: str
    deepface_home: Path
    images: ImageLimits
    detection: DetectionSettings
    s3: S3Settings
    allowed_origin: str
    reference_cache_size: int


def default_threshold(model_name: str, detector_backend: str, distance_metric: str) -> float:
    """The shipped threshold: ours where we calibrated it, else DeepFace's pre-tuned one."""
    for key in ((model_name, detector_backend, distance_metric), (model_name, None, distance_metric)):
        if key in DEFAULT_THRESHOLDS:
            return DEFAULT_THRESHOLDS[key]
    from deepface.modules.verification import find_threshold  # heavy import, only when needed

    return float(find_threshold(model_name, distance_metric))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    reader = _EnvReader(env)

    model_name = reader.choice("MODEL_NAME", "ArcFace", SUPPORTED_MODELS)
    detector_backend = reader.choice("DETECTOR_BACKEND", "retinaface", SUPPORTED_DETECTORS)
    distance_metric = reader.choice("DISTANCE_METRIC", "cosine", SUPPORTED_METRICS)
    threshold = reader.number("VERIFY_THRESHOLD", None, minimum=0.0, maximum=100.0)
    if threshold is None:
        threshold = default_threshold(model_name, detector_backend, distance_metric)

    bucket = reader.text("REFERENCE_BUCKET", None)
    if not bucket:
        raise ConfigError("REFERENCE_BUCKET is required: the S3 bucket that holds registered faces")
    prefix = reader.text("REFERENCE_PREFIX", "") or ""
    if prefix.startswith("/") or (prefix and not prefix.endswith("/")):
        # "references" would also admit "references-evil/...": a prefix is a whole folder.
        raise ConfigError("REFERENCE_PREFIX must be a folder-like key prefix ending in '/', without a leading '/'")

    home = reader.text("DEEPFACE_HOME", None) or str(Path.home())

    settings = Settings(
        model_name=model_name,
        detector_backend=detector_backend,
        distance_metric=distance_metric,
        threshold=threshold,
        reference_bucket=bucket,
        reference_prefix=prefix,
        deepface_home=Path(home),
        images=ImageLimits(
            max_image_bytes=int(reader.number("MAX_IMAGE_BYTES", 5_000_000, minimum=1_000)),
            max_image_pixels=int(reader.number("MAX_IMAGE_PIXELS", 25_000_000, minimum=10_000)),
            max_body_bytes=int(reader.number("MAX_BODY_BYTES", 6_000_000, minimum=1_000)),
            max_image_side=int(reader.number("MAX_IMAGE_SIDE", 1280, minimum=160, maximum=8192)),
        ),
        detection=DetectionSettings(
            padding_ratio=reader.number("FACE_PADDING_RATIO", 0.25, minimum=0.0, maximum=1.0),
            detector_max_side=int(reader.number("DETECTOR_MAX_SIDE", 640, minimum=160, maximum=4096)),
            min_face_size=int(reader.number("MIN_FACE_SIZE", 40, minimum=1, maximum=4096)),
            second_face_area_ratio=reader.number(
                "SECOND_FACE_AREA_RATIO", 0.05, minimum=0.0, maximum=1.0
            ),
            onnx_threads=int(reader.number("ONNX_THREADS", _available_cpus(), minimum=1, maximum=64)),
        ),
        s3=S3Settings(
            connect_timeout=reader.number("S3_CONNECT_TIMEOUT", 2.0, minimum=0.1, maximum=30),
            read_timeout=reader.number("S3_READ_TIMEOUT", 5.0, minimum=0.1, maximum=30),
            max_attempts=int(reader.number("S3_MAX_ATTEMPTS", 3, minimum=1, maximum=10)),
        ),
        allowed_origin=reader.text("ALLOWED_ORIGIN", "") or "",
        reference_cache_size=int(reader.number("REFERENCE_CACHE_SIZE", 512, minimum=0)),
    )
    return settings


def _available_cpus() -> int:
    # The CPUs this process may run on (Lambda: the vCPUs its memory size buys).
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str | None) -> str | None:
        value = self._env.get(name, "")
        value = value.strip()
        return value if value else default

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, default) or default
        # Accept any case but keep DeepFace's spelling (it is case sensitive).
        by_lower = {option.lower(): option for option in allowed}
        if value.lower() not in by_lower:
            raise ConfigError(f"{name}={value!r} is not supported; use one of {', '.join(allowed)}")
        return by_lower[value.lower()]

    def number(
        self,
        name: str,
        default: float | None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        raw = self.text(name, None)
        if raw is None:
            return default  # type: ignore[return-value]
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{name}={raw!r} is not a finite number")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name}={raw!r} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name}={raw!r} is above the maximum {maximum}")
        return value
