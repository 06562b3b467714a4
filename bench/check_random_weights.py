"""Check that DeepFace's onnx engine accepts the RANDOM-WEIGHT graphs, and time them.

Companion of export_random_weights.py. It runs in the Lambda venv (Python 3.12, deepface
and onnxruntime, no torch), after the export has filled DIR:

    .venv/bin/python bench/check_random_weights.py --home DIR

It sets DEEPFACE_HOME=DIR and DEEPFACE_BACKEND_ENGINE=onnx, blocks all network access so
that any download attempt fails loudly, then:

- reports peak RSS after importing and after loading both onnx sessions;
- runs DeepFace.represent(ArcFace, retinaface) on a 640x480 noise image, expects 512 dims;
- times RetinaFace.detect_faces on 320x320 and 640x480 and one ArcFace forward on
  (1, 112, 112, 3): median of --runs calls after --warmup calls.

The weights are random, so detections and embeddings are meaningless: only the
timings and memory figures carry information.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import numpy as np

WEIGHT_FILES = ("arcface_weights.onnx", "retinaface.onnx")


def block_network() -> None:
    """Make every connection attempt raise, so a silent download cannot hide."""

    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise RuntimeError("network access attempted - DeepFace tried to download weights")

    socket.getaddrinfo = refuse
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]


def require(condition: bool, message: str) -> None:
    # not assert: python -O would silently skip the checks
    if not condition:
        raise RuntimeError(message)


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux and is the high-water mark of the whole process
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_ms(call: Callable[[], object], warmup: int, runs: int) -> str:
    """Median wall time of call() after warm-ups, with the minimum and the CPU time.

    The bench machine is shared, so the minimum and the process CPU time (all threads)
    show how much of a slow median is contention rather than the graph itself.
    """
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return (
        f"median {statistics.median(wall):.1f} ms "
        f"(min {min(wall):.1f}, cpu median {statistics.median(cpu):.1f})"
    )


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def noise(height: int, width: int, seed: int) -> np.ndarray:
    """A BGR uint8 image of uniform noise, as cv2.imread would return it."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="DEEPFACE_HOME of the export")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    home = args.home.resolve()
    missing = [f for f in WEIGHT_FILES if not (home / ".deepface" / "weights" / f).is_file()]
    if missing:
        print(f"missing {missing} under {home}; run export_random_weights.py first")
        return 1

    # both must be set before deepface and retinaface are imported: they read them once
    os.environ["DEEPFACE_HOME"] = str(home)
    os.environ["DEEPFACE_BACKEND_ENGINE"] = "onnx"
    block_network()

    print("*** RANDOM WEIGHTS - outputs are meaningless, timings and memory are not ***")
    print(f"torch importable here: {find_spec('torch') is not None}")

    # pylint: disable=import-outside-toplevel
    import onnxruntime as ort
    from deepface import DeepFace
    from retinaface import RetinaFace as rf

    rss_imports = peak_rss_mib()
    arcface = DeepFace.build_model(model_name="ArcFace")
    detector = rf.build_model()
    rss_loaded = peak_rss_mib()

    # prove the onnx engine, not a torch or tensorflow fallback, serves both models
    require(isinstance(arcface.model, ort.InferenceSession), f"ArcFace is {type(arcface.model)}")
    require(isinstance(detector.session, ort.InferenceSession), f"detector is {type(detector)}")
    print(f"onnxruntime {ort.__version__}, providers {arcface.model.get_providers()}")
    print(f"peak RSS after imports: {rss_imports:.0f} MiB")
    print(f"peak RSS after loading both sessions: {rss_loaded:.0f} MiB "
          f"(+{rss_loaded - rss_imports:.0f} MiB)")

    results = DeepFace.represent(
        img_path=noise(480, 640, seed=0),
        model_name="ArcFace",
        detector_backend="retinaface",
        enforce_detection=False,
    )
    first = results[0]
    require(isinstance(first, dict), f"unexpected result {type(first)}")
    embedding = first["embedding"]
    require(len(embedding) == 512, f"embedding has {len(embedding)} dims, expected 512")
    print(f"DeepFace.represent: {len(results)} result(s), {len(embedding)}-d embedding, "
          f"facial_area {first['facial_area']}, face_confidence {first['face_confidence']}")

    print(f"timings: {args.runs} runs after {args.warmup} warm-ups, "
          f"{os.cpu_count()} CPUs, load average {load_average()}")
    for height, width in ((320, 320), (480, 640)):
        img = noise(height, width, seed=1)
        faces = rf.detect_faces(img, model=detector, threshold=0.9, allow_upscaling=False)
        timing = median_ms(
            lambda: rf.detect_faces(img, model=detector, threshold=0.9, allow_upscaling=False),
            args.warmup,
            args.runs,
        )
        print(f"  RetinaFace.detect_faces {width}x{height}: {timing}, {len(faces)} detections")
        # the bare graph call, to separate network cost from pre/post-processing
        tensor = np.zeros((1, height, width, 3), dtype=np.float32)
        timing = median_ms(lambda: detector(tensor), args.warmup, args.runs)
        print(f"  RetinaFace graph only {width}x{height}: {timing}")

    face = np.zeros((1, 112, 112, 3), dtype=np.float32)
    timing = median_ms(lambda: arcface.forward(face), args.warmup, args.runs)
    print(f"  ArcFace forward 1x112x112x3: {timing}")
    print(f"load average after: {load_average()}")
    print(f"peak RSS after inference: {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
