"""Peak memory of init and of warm requests, and whether memory grows over 500 requests.

    python bench/memory.py [--pack random|offline] [--requests 500]

In a new process: import app (the Lambda init), then N warm requests of the frontend's
160x160 capture against the registered photo in a local S3 (moto on loopback, in the same
process, so its few MB count too). Prints the peak RSS (VmHWM) after init and after the
requests, and the RSS after 50 and after N requests: the last must stay within 5% of the
first (no leak). Feeds the MemorySize choice in template.yaml (README, "Memory").
"""

from __future__ import annotations

import argparse
import gc
import sys

import common


def status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", choices=sorted(common.PACKS), default="random")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    pack = common.PACKS[args.pack]
    with common.local_stack(pack) as (inputs, url):
        before_init = status_kb("VmRSS")
        import app

        init_peak = status_kb("VmHWM")
        if pack.name == "random":
            common.stand_in_face_boxes(app)
        event = common.event(inputs.crop, url)
        rss_at: dict[int, int] = {}
        for n in range(1, args.requests + 1):
            response = app.lambda_handler(dict(event), common.Context())
            if response["statusCode"] not in (200, 401):
                raise SystemExit(f"request {n} answered {response['statusCode']}")
            if n in (50, args.requests):
                gc.collect()
                rss_at[n] = status_kb("VmRSS")
        peak = status_kb("VmHWM")

    growth = rss_at[args.requests] / rss_at[50]
    print(f"# {pack.label}")
    print(f"  RSS before init            {before_init / 1024:7.0f} MB (interpreter, moto, test inputs)")
    print(f"  peak RSS after init        {init_peak / 1024:7.0f} MB")
    print(f"  peak RSS after {args.requests} requests {peak / 1024:7.0f} MB")
    print(f"  RSS after 50 requests      {rss_at[50] / 1024:7.0f} MB")
    print(f"  RSS after {args.requests} requests     {rss_at[args.requests] / 1024:7.0f} MB")
    print(f"  ratio RSS {args.requests}/50           {growth:7.3f} (must be <= 1.05)")
    return 0 if growth <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
