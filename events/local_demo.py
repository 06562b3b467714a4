"""The main job, locally: a real verification on real images with the offline model pack.

Starts a local S3 (moto server on loopback), uploads the registered face
(events/reference/astronaut.jpg), then runs the Lambda handler on the committed
API Gateway events events/match.json and events/mismatch.json (the same events
`sam local invoke -e` takes) and prints the two API Gateway responses.

Run it with `make demo` (which installs everything first).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
BUCKET, PREFIX = "finday-faces-demo", "references/"  # what events/make_events.py wrote into the events


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / ".cache" / "deepface-offline",
                        help="DEEPFACE_HOME for the offline pack (provisioned if needed)")
    args = parser.parse_args()

    subprocess.run(
        [sys.executable, str(REPO / "layers" / "model_weights" / "provision.py"),
         "--pack", "offline", "--home", str(args.home)],
        check=True,
    )

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the local S3's access log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        os.environ.update(
            {
                # The offline pack, chosen explicitly: never a silent fallback.
                "MODEL_NAME": "Dlib",
                "DETECTOR_BACKEND": "dlib",
                "DEEPFACE_BACKEND_ENGINE": "onnx",
                "DEEPFACE_HOME": str(args.home),
                "REFERENCE_BUCKET": BUCKET,
                "REFERENCE_PREFIX": PREFIX,
                "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(EVENTS / "reference" / "astronaut.jpg"), BUCKET, f"{PREFIX}astronaut.jpg")
        print(f"local S3 at 127.0.0.1:{port}: uploaded s3://{BUCKET}/{PREFIX}astronaut.jpg")

        sys.path.insert(0, str(REPO / "functions" / "verify_face"))
        started = time.perf_counter()
        import app  # init: configuration, weights check, models, warm-up

        print(f"handler init: {time.perf_counter() - started:.2f} s (Dlib + dlib offline pack)\n")
        statuses = []
        for name in ("match", "mismatch"):
            event = json.loads((EVENTS / f"{name}.json").read_text())
            started = time.perf_counter()
            response = app.lambda_handler(event, _Context())
            elapsed = time.perf_counter() - started
            statuses.append(response["statusCode"])
            print(f"events/{name}.json -> {elapsed * 1000:.0f} ms")
            print(json.dumps({"statusCode": response["statusCode"], "body": json.loads(response["body"])}, indent=2))
            print()
    finally:
        server.stop()
    # The demo is only a success if the match matched and the mismatch did not.
    return 0 if statuses == [200, 401] else 1


class _Context:
    function_name = "VerifyFaceFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:VerifyFaceFunction"
    memory_limit_in_mb = 3008
    aws_request_id = "local-demo"


if __name__ == "__main__":
    sys.exit(main())
