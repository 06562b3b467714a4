"""Export DeepFace's ArcFace and RetinaFace graphs to ONNX with RANDOM WEIGHTS.

The real arcface_weights.onnx and retinaface.onnx cannot be downloaded on the bench
machines, so this rebuilds the same architectures from DeepFace's own PyTorch
definitions, initialises them randomly (seeded) and exports them with the interface of
the shipped graphs:

- arcface_weights.onnx: input (N, 112, 112, 3) float32 channels-last BGR, output (N, 512).
- retinaface.onnx: input (N, H, W, 3) float32, nine NHWC outputs ordered as
  cls_prob, bbox_pred, landmark_pred for strides 32, 16 and 8.

The outputs are meaningless: the files are for compute cost (latency, memory) only and
must never be used for real verification.

It runs in a dedicated Python 3.11 venv with torch (the Lambda venv has no torch);
`make bench-export` builds it as .venv-torch:

    python3.11 -m venv .venv-torch
    .venv-torch/bin/pip install torch==2.13.0
    .venv-torch/bin/pip install deepface==0.0.103 retina-face==0.0.19 \
        onnxruntime onnx onnxscript

torch==2.13.0 resolves to the local CPU-only wheel (2.13.0+cpu); do not add torchvision.

Usage:

    .venv-torch/bin/python bench/export_random_weights.py --home DIR

writes DIR/.deepface/weights/{arcface_weights,retinaface}.onnx, ready for
DEEPFACE_HOME=DIR DEEPFACE_BACKEND_ENGINE=onnx. Keep DIR outside the repository.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import onnx_ir as ir
import onnxruntime as ort
import torch
from torch import Tensor, nn
from torch.export import Dim

from deepface.models.facial_recognition.pytorch import ArcFace as arcface_pth
from retinaface.model import retinaface_pth_model

# the dynamo exporter's baseline opset; onnxruntime has run it on cpu since 1.14
OPSET = 18

# same file names as the download URLs, so DeepFace finds them and skips the download
ARCFACE_FILE = "arcface_weights.onnx"
RETINAFACE_FILE = "retinaface.onnx"

STRIDES = (32, 16, 8)
# channels per stride: 2 anchors x (2 class probs, 4 box deltas, 10 landmark coords)
HEAD_CHANNELS = (4, 8, 20)
RETINAFACE_OUTPUTS = [
    f"{kind}_stride{stride}"
    for stride in STRIDES
    for kind in ("cls_prob", "bbox_pred", "landmark_pred")
]

# the exporter warns once per torchvision op it cannot register; these graphs use none
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)

BANNER = "RANDOM WEIGHTS - for compute cost (timing/memory) only, outputs are meaningless"


class ArcFaceNHWC(nn.Module):  # type: ignore[misc]
    """ArcFace taking channels-last input, as DeepFace's shipped onnx graph does.

    The pytorch backend transposes in TorchFacialRecognition.to_tensor, outside the
    module; the onnx backend feeds (N, 112, 112, 3) straight in, so the graph must do it.
    """

    def __init__(self) -> None:
        super().__init__()
        # base_model() builds the architecture only; load_model() would download weights
        self.model = arcface_pth.base_model()

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.permute(0, 3, 1, 2))  # type: ignore[no-any-return]


def export(
    model: nn.Module,
    example: Tensor,
    dynamic_axes: dict[int, Dim],
    output_names: Sequence[str],
    target: Path,
) -> None:
    """Export with the dynamo exporter into a single self-contained file."""
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        opset_version=OPSET,
        input_names=["input"],
        output_names=list(output_names),
        dynamic_shapes={"x": dynamic_axes},
        # DeepFace loads one file; the graphs are far below protobuf's 2 GB limit
        external_data=False,
        verbose=False,
    )
    if program is None:
        raise RuntimeError(f"torch.onnx.export returned no program for {target.name}")
    strip_debug_metadata(program.model)
    # write then rename, so an interrupted run never leaves a truncated graph for DeepFace
    partial = target.with_suffix(".onnx.partial")
    program.save(str(partial))
    os.replace(partial, target)


def strip_debug_metadata(model: ir.Model) -> None:
    """Drop the exporter's stack traces and FX dumps.

    They embed this script's path and line numbers, so without this the bytes change
    whenever the script is edited or moved; the weights and ops are unaffected.
    """
    model.metadata_props.clear()
    for graph in (model.graph, *model.functions.values()):
        graph.metadata_props.clear()
        for node in ir.traversal.RecursiveGraphIterator(graph):
            node.metadata_props.clear()


def require(condition: bool, message: str) -> None:
    # not assert: python -O would silently skip the verification
    if not condition:
        raise RuntimeError(message)


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, x: np.ndarray) -> list[np.ndarray]:
    return sess.run(None, {sess.get_inputs()[0].name: x})  # type: ignore[no-any-return]


def check_parity(model: nn.Module, sess: ort.InferenceSession, x: np.ndarray) -> float:
    """Largest gap between torch and onnxruntime outputs, relative to each output's scale.

    Relative, because random-weight activations are small and an absolute bound says little.
    """
    with torch.no_grad():
        expected = model(torch.from_numpy(x))
    expected_list = expected if isinstance(expected, (list, tuple)) else [expected]
    actual = run(sess, x)
    return max(
        float(np.abs(a - e.numpy()).max() / max(float(np.abs(e.numpy()).max()), 1e-12))
        for a, e in zip(actual, expected_list, strict=True)
    )


def verify_arcface(model: nn.Module, path: Path) -> None:
    sess = session(path)
    (out,) = run(sess, np.zeros((1, 112, 112, 3), dtype=np.float32))
    require(out.shape == (1, 512), f"ArcFace output {out.shape}, expected (1, 512)")
    # batch 3 is neither of the export example's sizes, so it proves the batch axis is free
    (batch,) = run(sess, np.zeros((3, 112, 112, 3), dtype=np.float32))
    require(batch.shape == (3, 512), f"ArcFace batch output {batch.shape}, expected (3, 512)")
    rng = np.random.default_rng(0)
    gap = check_parity(model, sess, rng.uniform(-1, 1, (2, 112, 112, 3)).astype(np.float32))
    require(gap < 1e-3, f"ArcFace onnx differs from torch by {gap}")
    print(f"  ok {path.name}: {describe(sess)}; torch parity rel. gap={gap:.2e}")


def verify_retinaface(model: nn.Module, path: Path) -> None:
    sess = session(path)
    rng = np.random.default_rng(0)
    for height, width in ((480, 640), (320, 320)):
        outs = run(sess, np.zeros((1, height, width, 3), dtype=np.float32))
        require(len(outs) == 9, f"RetinaFace returned {len(outs)} outputs, expected 9")
        for idx, out in enumerate(outs):
            stride, channels = STRIDES[idx // 3], HEAD_CHANNELS[idx % 3]
            # -(-a // b) is ceil division: stride-2 convs with padding round up
            expected = (1, -(-height // stride), -(-width // stride), channels)
            require(out.shape == expected, f"{RETINAFACE_OUTPUTS[idx]}: {out.shape} != {expected}")
        print(f"  ok {path.name} on {height}x{width}: {[o.shape[1:3] for o in outs[::3]]}")
    # odd sizes exercise the crop-after-upsample path with dynamic height and width
    noise = rng.uniform(0, 255, (2, 333, 517, 3)).astype(np.float32)
    gap = check_parity(model, sess, noise)
    require(gap < 1e-3, f"RetinaFace onnx differs from torch by {gap}")
    print(f"  ok {path.name}: {describe(sess)}; torch parity rel. gap={gap:.2e}")


def describe(sess: ort.InferenceSession) -> str:
    inputs = ", ".join(f"{i.name}{i.shape}" for i in sess.get_inputs())
    outputs = ", ".join(o.name for o in sess.get_outputs())
    return f"inputs {inputs} -> outputs {outputs}"


def build(seed: int, factory: Callable[[], nn.Module]) -> nn.Module:
    # a fresh seed per model keeps each file reproducible on its own
    torch.manual_seed(seed)
    # eval(): batch norms use running stats and dropout is off, as in inference
    return factory().eval()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="DEEPFACE_HOME to write into")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed for the init")
    args = parser.parse_args(argv)

    home = args.home.resolve()
    repo = Path(__file__).resolve().parents[1]
    if home == repo or repo in home.parents:
        parser.error(f"--home {home} is inside the repository {repo}; weights must stay out of it")
    weights = home / ".deepface" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    print(f"*** {BANNER} ***")

    # examples use batch 2: torch.export specialises size-1 dims, which would pin batch to 1
    batch = Dim("batch", min=1, max=1024)

    arcface = build(args.seed, ArcFaceNHWC)
    arcface_path = weights / ARCFACE_FILE
    print(f"exporting ArcFace -> {arcface_path}")
    export(arcface, torch.zeros(2, 112, 112, 3), {0: batch}, ["embedding"], arcface_path)

    retinaface = build(args.seed, retinaface_pth_model.RetinaFace)
    retinaface_path = weights / RETINAFACE_FILE
    print(f"exporting RetinaFace -> {retinaface_path}")
    # 32 px is one cell at stride 32; the upper bound only limits export-time reasoning
    height, width = Dim("height", min=32, max=8192), Dim("width", min=32, max=8192)
    export(
        retinaface,
        torch.zeros(2, 480, 640, 3),
        {0: batch, 1: height, 2: width},
        RETINAFACE_OUTPUTS,
        retinaface_path,
    )

    print("verifying with onnxruntime", ort.__version__)
    verify_arcface(arcface, arcface_path)
    verify_retinaface(retinaface, retinaface_path)

    for path in (arcface_path, retinaface_path):
        print(f"  {path}: {path.stat().st_size / 2**20:.1f} MiB")
    print(f"*** {BANNER} ***")
    return 0


if __name__ == "__main__":
    sys.exit(main())
