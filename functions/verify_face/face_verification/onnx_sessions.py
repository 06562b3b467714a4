"""onnxruntime sessions for the production graphs, built with this service's options.

It imports nothing heavier than onnxruntime, so the graphs can load (native work that
releases the GIL) while DeepFace, OpenCV and boto3 are still importing: init time is
cold-start time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from face_verification.weights import WEIGHT_FILES, weights_dir

# Models that run as an onnx graph; the others are DeepFace's own (dlib, OpenCV) clients.
ONNX_MODELS = ("ArcFace", "retinaface")


def load_sessions(model_name: str, detector_backend: str, deepface_home: Path, threads: int) -> dict[str, Any]:
    """A session per onnx model of the pair, keyed by model name, loaded side by side."""
    names = [name for name in (model_name, detector_backend) if name in ONNX_MODELS]
    if not names:
        return {}
    folder = weights_dir(deepface_home)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {name: pool.submit(_session, folder / WEIGHT_FILES[name][0], threads) for name in names}
        return {name: future.result() for name, future in futures.items()}


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    # DeepFace and retina-face build theirs with default options, which size the thread
    # pool by the host's cores, not by the CPU share Lambda gives the function.
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # some graphs flood stderr with harmless optimizer notes
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
