"""The labelled pairs of ../shared/faces/deepface-unit/master.csv through lambda_handler.

Every pair is one API Gateway event: the first photo is the registered reference in S3
(moto over HTTP), the second the capture. Needs ../shared; skips with a message without it.
"""

from __future__ import annotations

import csv

import pytest

from tests.conftest import PREFIX, SHARED_FACES, require_shared_faces, shared_face
from tests.integration.conftest import invoke, upload, verify_event

REQUIRED_ACCURACY = 0.97


@pytest.fixture(scope="module")
def labelled_pairs() -> list[tuple[str, str, bool]]:
    require_shared_faces()
    with open(SHARED_FACES / "master.csv", newline="") as handle:
        return [(row["file_x"], row["file_y"], row["Decision"] == "Yes") for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def reference_urls(s3_client, labelled_pairs) -> dict[str, str]:
    names = sorted({x for x, _, _ in labelled_pairs})
    return {name: upload(s3_client, f"{PREFIX}shared/{name}", shared_face(name).read_bytes()) for name in names}


def test_labelled_pairs_come_out_right_at_the_shipped_threshold(app, labelled_pairs, reference_urls):
    outcomes = []
    for reference, capture, same_person in labelled_pairs:
        reply = invoke(app, verify_event(shared_face(capture).read_bytes(), reference_urls[reference]))
        assert reply.status in (200, 401), (reference, capture, reply.body)
        outcomes.append((reply.status == 200, same_person))

    correct = sum(matched == same for matched, same in outcomes)
    false_accepts = sum(matched and not same for matched, same in outcomes)
    false_rejects = sum(same and not matched for matched, same in outcomes)
    accuracy = correct / len(outcomes)
    print(
        f"\nmaster.csv through lambda_handler (Dlib/dlib, cosine, threshold "
        f"{app.settings.threshold}): {correct}/{len(outcomes)} = {accuracy:.2%}, "
        f"false accepts {false_accepts}, false rejects {false_rejects}"
    )
    assert len(outcomes) == 300
    assert accuracy >= REQUIRED_ACCURACY
    # A login second factor: the shipped threshold must not let a stranger in on this set.
    assert false_accepts == 0
