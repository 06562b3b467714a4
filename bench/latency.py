"""Warm-request latency of the handler against plain DeepFace.verify, in one run.

    python bench/latency.py [--pack random|offline] [--runs N]

Same inputs for every contender: the frontend's capture (the face box cut from a
360x270 webcam frame, 160x160, events/match.json) and a whole 640x480 frame, against the
registered astronaut photo in a local S3 (moto on loopback):

  (a) plain   cv2.imdecode both images + DeepFace.verify(capture, reference,
              model_name, detector_backend) -- what the Flask service did per request
  (b) handler lambda_handler on an API Gateway event, reference cache cold (it fetches,
              detects and embeds the reference too)
  (c) handler lambda_handler, reference cache warm (one conditional GET, one detection,
              one embedding)
  floor       one detector call on the padded capture + one embedding, nothing else

Prints median and p95 of each, and the ratios a/c and c/floor.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", choices=sorted(common.PACKS), default="random")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--plain-runs", type=int, default=5,
                        help="runs of plain DeepFace.verify (seconds each with RetinaFace)")
    args = parser.parse_args()

    pack = common.PACKS[args.pack]
    with common.local_stack(pack) as (inputs, url):
        return run(pack, args.runs, args.plain_runs, inputs, url)


def run(pack: common.Pack, runs: int, plain_runs: int, inputs: common.Inputs, url: str) -> int:
    import cv2
    import numpy as np
    from deepface import DeepFace

    app = importlib.import_module("app")
    if pack.name == "random":
        common.stand_in_face_boxes(app)
    analyzer = app.verifier._analyzer
    context = common.Context()
    print(f"# {pack.label}; {os.cpu_count()} CPUs, onnx threads {app.settings.detection.onnx_threads}")

    def plain(capture: bytes) -> None:
        capture_bgr = cv2.imdecode(np.frombuffer(capture, np.uint8), cv2.IMREAD_COLOR)
        reference_bgr = cv2.imdecode(np.frombuffer(inputs.reference, np.uint8), cv2.IMREAD_COLOR)
        DeepFace.verify(capture_bgr, reference_bgr, model_name=pack.model,
                        detector_backend=pack.detector,
                        # random weights find no face; the whole image is embedded instead,
                        # at the same embedding cost
                        enforce_detection=pack.name != "random")

    def handler(capture: bytes, warm_cache: bool) -> None:
        if not warm_cache:
            app.verifier.reference_cache.clear()
        response = app.lambda_handler(common.event(capture, url), context)
        if response["statusCode"] not in (200, 401):
            raise SystemExit(f"handler answered {response['statusCode']}: {response['body']}")

    def floor(capture: bytes) -> None:
        from face_verification.images import decode_image

        prepared = analyzer.prepare(decode_image(capture, app.settings.images))
        padded = prepared.padded
        scale = analyzer.detection_scale(prepared)
        detector_input = padded if scale == 1.0 else cv2.resize(padded, None, fx=scale, fy=scale,
                                                                 interpolation=cv2.INTER_AREA)
        started = time.perf_counter()
        analyzer._run_detector(detector_input)
        face = prepared.padded[:112, :112] if pack.model == "ArcFace" else prepared.padded[:150, :150]
        batch = np.expand_dims(face.astype(np.float32) / 255.0, 0)
        analyzer._recognizer.forward(batch)
        return time.perf_counter() - started

    results = {}
    for name, capture in (("crop 160x160", inputs.crop), ("frame 640x480", inputs.frame)):
        handler(capture, warm_cache=False)  # first request of this input: allocations, caches
        plain(capture)
        timings = {
            "a plain DeepFace.verify": timed(lambda: plain(capture), plain_runs),
            "b handler, cold reference cache": timed(lambda: handler(capture, False), runs),
            "c handler, warm reference cache": timed(lambda: handler(capture, True), runs),
            "floor detector+embedding": [floor(capture) for _ in range(runs)],
        }
        results[name] = {key: common.summary(value) for key, value in timings.items()}

    for name, rows in results.items():
        print(f"\n{name}")
        for key, (median, p95) in rows.items():
            print(f"  {key:34s} median {median:8.1f} ms   p95 {p95:8.1f} ms")
        a = rows["a plain DeepFace.verify"][0]
        c = rows["c handler, warm reference cache"][0]
        f = rows["floor detector+embedding"][0]
        print(f"  ratio a/c (speed-up over plain)    {a / c:6.1f}x")
        print(f"  ratio c/floor (overhead)           {c / f:6.2f}x")
    return 0


def timed(call, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


if __name__ == "__main__":
    sys.exit(main())
