"""Cold start: process start to first response, handler vs a plain DeepFace.verify script.

    python bench/coldstart.py [--pack random|offline] [--runs N]

Each run is a new Python process (as a new Lambda execution environment is):
  handler  import app (configuration, weights check, models, warm-up) + the first
           request: the frontend's 160x160 capture against the registered photo in S3
  handler without bytecode
           the same with no .pyc to read or write: an image whose packages were installed
           with `pip --no-compile` (Lambda's file system is read-only), for comparison
  plain    a script that imports DeepFace and calls DeepFace.verify on the same two images
Time is measured by the parent from spawning the process to reading the first response
from it, so interpreter start-up and imports count. The local S3 (moto on loopback) runs
in the parent and is not counted. Lambda's init window is 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", choices=sorted(common.PACKS), default="random")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child-python", default=sys.executable,
                        help="interpreter of the measured processes: a venv with only the image's "
                             "packages (functions/verify_face/requirements.txt) is closest to Lambda")
    parser.add_argument("--child", choices=["handler", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pack = common.PACKS[args.pack]
    if args.child:
        return child(args.child, pack, Path(args.inputs))

    with common.local_stack(pack) as (inputs, url), tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "capture.jpg").write_bytes(inputs.crop)
        (folder / "reference.jpg").write_bytes(inputs.reference)
        (folder / "url.txt").write_text(url)
        no_pyc = folder / "empty-pycache"
        no_pyc.mkdir()
        python = [args.child_python]
        variants = {
            "handler": ("handler", python, {}),
            "handler without bytecode": ("handler", [*python, "-X", f"pycache_prefix={no_pyc}"],
                                         {"PYTHONDONTWRITEBYTECODE": "1"}),
            "plain": ("plain", python, {}),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, (kind, command, env) in variants.items():
                times[name].append(spawn(kind, pack, folder, command, env))

    print(f"# {pack.label}; process start to first response, {args.runs} runs each, "
          f"measured processes run {args.child_python}")
    for kind, samples in times.items():
        print(f"  {kind:25s} median {statistics.median(samples):6.2f} s   "
              f"min {min(samples):6.2f} s   max {max(samples):6.2f} s")
    handler = statistics.median(times["handler"])
    print(f"  ratio plain/handler {statistics.median(times['plain']) / handler:.2f}x; handler target < 2 s")
    print(f"  ratio without/with bytecode {statistics.median(times['handler without bytecode']) / handler:.2f}x")
    return 0


def spawn(kind: str, pack: common.Pack, folder: Path, python: list[str], env: dict[str, str]) -> float:
    command = [*python, __file__, "--pack", pack.name, "--child", kind, "--inputs", str(folder)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, **env})
    assert process.stdout is not None
    for line in process.stdout:  # the child prints one line, the response, as soon as it has it
        if line.startswith("RESPONSE "):
            elapsed = time.perf_counter() - started
            break
    else:
        raise SystemExit(f"{kind} child gave no response (exit {process.wait()})")
    process.wait()
    status = json.loads(line[len("RESPONSE "):])
    if kind == "handler" and status not in (200, 401):
        raise SystemExit(f"handler child answered {status}")
    return elapsed


def child(kind: str, pack: common.Pack, folder: Path) -> int:
    capture = (folder / "capture.jpg").read_bytes()
    if kind == "plain":
        import cv2
        import numpy as np
        from deepface import DeepFace

        DeepFace.verify(
            cv2.imdecode(np.frombuffer(capture, np.uint8), cv2.IMREAD_COLOR),
            cv2.imread(str(folder / "reference.jpg")),
            model_name=pack.model, detector_backend=pack.detector,
            enforce_detection=pack.name != "random",  # random weights find no face
        )
        print("RESPONSE 200", flush=True)
        return 0

    import app  # the Lambda init

    if pack.name == "random":
        common.stand_in_face_boxes(app)
    url = (folder / "url.txt").read_text()
    response = app.lambda_handler(common.event(capture, url), common.Context())
    print(f"RESPONSE {response['statusCode']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
