"""The README's table of reasons is the contract the frontend codes against: keep it whole."""

from __future__ import annotations

import re

import api_responses
from face_verification import errors
from tests.conftest import REPO


def _error_classes(module) -> list[type[errors.VerificationError]]:
    return [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, errors.VerificationError)
        and value is not errors.VerificationError
    ]


def test_every_reason_the_service_can_answer_is_in_the_readme_with_its_status():
    table = {
        (int(status), reason)
        for status, reason in re.findall(r"^\| (\d{3}) \| `(\w+)` \|", (REPO / "README.md").read_text(), re.M)
    }
    answered = {(cls.status, cls.reason) for cls in _error_classes(errors) + _error_classes(api_responses)}
    answered |= {(401, "NotMatched"), (500, "InternalError")}
    assert answered <= table, answered - table
    assert {reason for _, reason in table} <= {reason for _, reason in answered}
