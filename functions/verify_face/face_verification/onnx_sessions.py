"""onnxruntime sessions for the production graphs, built with this service's options.

A graph is one file, as published, or (as the image stores it, see layers/model_weights/
provision.py) a graph with its weights beside it in ``<name>.data``: onnxruntime reads both.

It imports nothing heavier than onnxruntime, so the graphs can load (native work that
releases the GIL) while DeepFace, OpenCV and boto3 are still importing: init time is
cold-start time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from face_verification.errors import ModelWeightsMissing
from face_verification.weights import FIX_HINT, WEIGHT_FILES, weights_dir

# Models that run as an onnx graph; the others are DeepFace's own (dlib, OpenCV) clients.
ONNX_MODELS = ("ArcFace", "retinaface")

# Side of the image the warm-up detection runs on: a padded frontend crop, once scaled
# for detection, is about this size.
WARM_UP_DETECTION_SIDE = 144


def load_sessions(model_name: str, detector_backend: str, deepface_home: Path, threads: int) -> dict[str, Any]:
    """A warmed-up session per onnx model of the pair, keyed by model name.

    One graph at a time: at init the other vCPU is busy importing the function's Python
    code, and a second loading thread would take it from those imports (measured slower).
    """
    folder = weights_dir(deepface_home)
    return {
        name: _session(folder / WEIGHT_FILES[name][0], threads)
        for name in (model_name, detector_backend)
        if name in ONNX_MODELS
    }


def _session(path: Path, threads: int) -> Any:
    import numpy as np
    import onnxruntime as ort

    # DeepFace and retina-face build theirs with default options, which size the thread
    # pool by the host's cores, not by the CPU share Lambda gives the function.
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Each session has its own pool, and a request runs the detector then the recognizer:
    # idle workers that spin take the CPU from the other model's (detection 78 -> 43 ms,
    # embedding 114 -> 74 ms on 2 vCPUs).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # some graphs flood stderr with harmless optimizer notes
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's own exception types: a bad graph, its data missing
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        raise ModelWeightsMissing(f"{path} cannot be loaded: {reason}; {FIX_HINT}") from err

    # One inference here, on this loading thread, so the first run's one-off costs (memory
    # planning, kernel set-up) are paid while the rest of the function is still importing.
    batch = session.get_inputs()[0]
    _, height, width, channels = (
        dim if isinstance(dim, int) else WARM_UP_DETECTION_SIDE for dim in batch.shape
    )
    session.run(None, {batch.name: np.zeros((1, height, width, channels), dtype=np.float32)})
    return session
