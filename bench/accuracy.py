"""Accuracy of the configured model/detector on labelled pairs, and the threshold to ship.

    python bench/accuracy.py [pairs.csv ...]

Each CSV has the columns file_x,file_y,Decision (Decision "Yes" = same person), with
image paths relative to the CSV; the default is ../shared/faces/deepface-unit/master.csv.
The model, detector, metric and threshold come from the environment exactly as the
Lambda reads them (MODEL_NAME, DETECTOR_BACKEND, DISTANCE_METRIC, VERIFY_THRESHOLD,
DEEPFACE_HOME), and each image goes through the function's own pipeline: decode, pad,
detect, largest face, align, embed. file_x is taken as the registered photo (found as the
service finds a reference's face) and file_y as the capture.

Prints accuracy, false-accept rate (FAR) and false-reject rate (FRR) at the configured
threshold, and the largest threshold with zero false accepts on the set, with its FRR.
For a login second factor a false accept costs more than a false reject (a user can retry).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "functions" / "verify_face"))
DEFAULT_CSV = REPO.parent / "shared" / "faces" / "deepface-unit" / "master.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="*", type=Path, default=[DEFAULT_CSV])
    args = parser.parse_args()

    os.environ.setdefault("REFERENCE_BUCKET", "unused-by-this-benchmark")
    os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
    from deepface.modules.verification import find_distance

    from face_verification.config import load_settings
    from face_verification.errors import VerificationError
    from face_verification.faces import FaceAnalyzer
    from face_verification.images import decode_image
    from face_verification.weights import ensure_weights_present

    settings = load_settings()
    os.environ["DEEPFACE_HOME"] = str(settings.deepface_home)
    ensure_weights_present(settings.deepface_home, settings.model_name, settings.detector_backend)
    analyzer = FaceAnalyzer(settings.model_name, settings.detector_backend, settings.detection)

    embeddings: dict[tuple[Path, str], object] = {}
    failures: dict[tuple[Path, str], str] = {}

    def embedding_of(path: Path, role: str):
        key = (path, role)
        if key not in embeddings and key not in failures:
            try:
                image = decode_image(path.read_bytes(), settings.images)
                prepared = analyzer.prepare(image)
                if role == "reference":
                    face = analyzer.find_largest_face(prepared)
                else:
                    face = next(iter(analyzer.detect(prepared)), None)
                if face is None:
                    raise VerificationError("no face")
                embeddings[key] = analyzer.embed(prepared, face)
            except VerificationError as error:
                failures[key] = error.reason
        return embeddings.get(key)

    started = time.perf_counter()
    scored: list[tuple[float, bool]] = []
    skipped = 0
    for csv_path in args.csv:
        with open(csv_path, newline="") as handle:
            for row in csv.DictReader(handle):
                a = embedding_of(csv_path.parent / row["file_x"], "reference")
                b = embedding_of(csv_path.parent / row["file_y"], "capture")
                if a is None or b is None:
                    skipped += 1  # a pair whose face is not found cannot be accepted: a reject
                    scored.append((float("inf"), row["Decision"].strip().lower() == "yes"))
                    continue
                distance = float(find_distance(a, b, settings.distance_metric))
                scored.append((distance, row["Decision"].strip().lower() == "yes"))
    elapsed = time.perf_counter() - started

    print(f"model {settings.model_name}, detector {settings.detector_backend}, "
          f"metric {settings.distance_metric}; {len(scored)} pairs from "
          f"{', '.join(str(p) for p in args.csv)}; {len(embeddings)} images embedded in {elapsed:.1f} s")
    if failures:
        print(f"images without a usable face ({len(failures)}): "
              + ", ".join(f"{p.name} as {role} ({r})" for (p, role), r in sorted(failures.items())))
    print(f"pairs with an image without a face (counted as rejects): {skipped}")
    _report("configured threshold", settings.threshold, scored)
    impostors = [d for d, same in scored if not same]
    if impostors:
        closest = min(impostors)
        # The largest threshold below the closest impostor, rounded down to 4 decimals.
        safe = float(int(closest * 10_000 - 1e-9)) / 10_000
        _report("zero-false-accept threshold", safe, scored)
        print(f"closest impostor pair distance: {closest:.4f}")
    return 0


def _report(label: str, threshold: float, scored: list[tuple[float, bool]]) -> None:
    genuine = [d for d, same in scored if same]
    impostor = [d for d, same in scored if not same]
    false_rejects = sum(d > threshold for d in genuine)
    false_accepts = sum(d <= threshold for d in impostor)
    correct = len(scored) - false_rejects - false_accepts
    print(
        f"{label} {threshold:.4f}: accuracy {correct}/{len(scored)} = {correct / len(scored):.2%}, "
        f"FAR {false_accepts}/{len(impostor)} = {false_accepts / max(1, len(impostor)):.2%}, "
        f"FRR {false_rejects}/{len(genuine)} = {false_rejects / max(1, len(genuine)):.2%}"
    )


if __name__ == "__main__":
    sys.exit(main())
