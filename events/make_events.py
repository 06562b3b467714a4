"""Write the sample events, reference image and env file for `sam local invoke`.

    python events/make_events.py [--bucket B] [--region R] [--prefix P]

Then upload events/reference/astronaut.jpg to s3://B/Pastronaut.jpg and run
e.g. `sam local invoke VerifyFaceFunction -e events/match.json`
(samconfig.toml already passes --env-vars events/env.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apigw  # noqa: E402
import samples  # noqa: E402

# Must match the function's logical id in template.yaml: sam applies an
# --env-vars entry only to the function with that id.
FUNCTION_ID = "VerifyFaceFunction"
EMAIL = "demo.user@example.com"
REFERENCE_NAME = "astronaut.jpg"
BAD_URL = "https://not-the-bucket.s3.us-east-1.amazonaws.com/references/astronaut.jpg"
# Fixed so that re-running the script rewrites byte-identical files.
BOUNDARY = "----WebKitFormBoundaryFindayDemo01"


def reference_url(bucket: str, region: str, prefix: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{prefix}{REFERENCE_NAME}"


def verify_event(image: bytes, face_img_url: str, request_id: str) -> dict:
    body, content_type = apigw.multipart_body(
        fields={"face_img_url": face_img_url, "email": EMAIL},
        files={"face_image": ("capture.jpg", image, "image/jpeg")},
        boundary=BOUNDARY,
    )
    return apigw.rest_api_event(body, content_type, request_id=request_id)


def build(bucket: str, region: str, prefix: str) -> dict[str, bytes]:
    """Map of path (relative to the events folder) to file content."""
    good_url = reference_url(bucket, region, prefix)
    events = {
        "match": (samples.match_capture_jpeg(), good_url),
        "mismatch": (samples.mismatch_capture_jpeg(), good_url),
        "no_face": (samples.no_face_jpeg(), good_url),
        "bad_url": (samples.match_capture_jpeg(), BAD_URL),
    }
    out = {
        f"{name}.json": _json(verify_event(image, url, f"00000000-0000-4000-8000-{i:012d}"))
        for i, (name, (image, url)) in enumerate(events.items(), start=1)
    }
    out[f"reference/{REFERENCE_NAME}"] = samples.reference_jpeg()
    out["env.json"] = _json(
        {
            FUNCTION_ID: {
                "REFERENCE_BUCKET": bucket,
                "REFERENCE_PREFIX": prefix,
                "MODEL_NAME": "ArcFace",
                "DETECTOR_BACKEND": "retinaface",
                "DISTANCE_METRIC": "cosine",
                "VERIFY_THRESHOLD": "",
                "ALLOWED_ORIGIN": apigw.ORIGIN,
                "POWERTOOLS_SERVICE_NAME": "verify-face",
                "POWERTOOLS_LOG_LEVEL": "DEBUG",
                "LOG_LEVEL": "DEBUG",
                "POWERTOOLS_METRICS_NAMESPACE": "Finday",
            }
        }
    )
    return out


def _json(obj: dict) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", default="finday-faces-demo")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="references/", help="key prefix, with trailing /")
    parser.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent, help="default: events/"
    )
    args = parser.parse_args(argv)

    for rel, content in build(args.bucket, args.region, args.prefix).items():
        path = args.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path} ({len(content)} bytes)")


if __name__ == "__main__":
    main()
