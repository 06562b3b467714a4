"""template.yaml: passes `sam validate --lint` and wires what the handler needs."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAM = Path(sys.executable).with_name("sam")


@pytest.fixture(scope="module")
def template() -> dict:
    # samtranslator's loader turns short-form tags (!Ref, !Sub, ...) into dicts.
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="module")
def function(template: dict) -> dict:
    return template["Resources"]["VerifyFaceFunction"]


@pytest.fixture(scope="module")
def api(template: dict) -> dict:
    return template["Resources"]["VerifyFaceApi"]


def test_sam_validate_lint_is_clean() -> None:
    if not SAM.exists():
        pytest.skip(f"sam CLI not installed next to {sys.executable}")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(TEMPLATE), "--region", "us-east-1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output
    # cfn-lint findings print as "[[E1234: ..." / "[[W1234: ...": none allowed.
    assert not re.search(r"\b[EW]\d{4}\b", output), output


def test_transform_and_resource_types(template: dict) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["VerifyFaceApi"]["Type"] == "AWS::Serverless::Api"
    assert template["Resources"]["VerifyFaceFunction"]["Type"] == "AWS::Serverless::Function"


def test_api_accepts_multipart_as_binary(api: dict) -> None:
    assert "multipart~1form-data" in api["Properties"]["BinaryMediaTypes"]


def test_api_logging_tracing_throttling(api: dict, template: dict) -> None:
    props = api["Properties"]
    assert props["TracingEnabled"] is True
    log_group = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert "RetentionInDays" in template["Resources"][log_group]["Properties"]
    (settings,) = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] and settings["ThrottlingBurstLimit"]
    assert props["Cors"]["AllowMethods"] == "'POST,OPTIONS'"


def test_function_is_a_container_image(function: dict) -> None:
    props = function["Properties"]
    assert props["PackageType"] == "Image"
    assert props["Architectures"] == ["x86_64"]
    assert props["Timeout"] <= 29  # API Gateway's integration timeout
    assert props["MemorySize"] == {"Ref": "FunctionMemorySize"}
    assert props["Tracing"] == "Active"
    assert function["Metadata"]["Dockerfile"] == "functions/verify_face/Dockerfile"
    assert function["Metadata"]["DockerContext"] == "."
    assert function["Metadata"]["DockerTag"] == "python3.12-v1"


def test_function_event_and_environment(function: dict) -> None:
    (event,) = function["Properties"]["Events"].values()
    assert event["Type"] == "Api"
    assert event["Properties"]["Path"] == "/verify-face"
    assert event["Properties"]["Method"].upper() == "POST"
    assert event["Properties"]["RestApiId"] == {"Ref": "VerifyFaceApi"}
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["REFERENCE_BUCKET"] == {"Ref": "ReferenceBucketName"}
    assert variables["REFERENCE_PREFIX"] == {"Ref": "ReferencePrefix"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "verify-face"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Finday"
    expected = {"MODEL_NAME", "DETECTOR_BACKEND", "DISTANCE_METRIC", "VERIFY_THRESHOLD", "ALLOWED_ORIGIN"}
    assert expected <= set(variables)


def test_env_file_targets_the_template_function(function: dict) -> None:
    env = json.loads((REPO / "events" / "env.json").read_text())
    (function_id,) = env
    assert function_id == "VerifyFaceFunction"
    # sam local only overrides variables the template declares.
    assert set(env[function_id]) <= set(function["Properties"]["Environment"]["Variables"])


def _statements(function: dict) -> list[dict]:
    statements = []
    for policy in function["Properties"]["Policies"]:
        assert isinstance(policy, dict) and "Statement" in policy, f"unexpected policy {policy!r}"
        statements.extend(policy["Statement"])
    return statements


def test_s3_access_is_get_object_on_the_prefix_only(function: dict) -> None:
    s3_statements = [
        s for s in _statements(function) if any(a.startswith("s3:") for a in _as_list(s["Action"]))
    ]
    assert len(s3_statements) == 1
    (statement,) = s3_statements
    assert statement["Effect"] == "Allow"
    assert _as_list(statement["Action"]) == ["s3:GetObject"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${ReferenceBucketName}/${ReferencePrefix}*"
    }
    # No SAM policy templates (e.g. S3ReadPolicy) that would add ListBucket.
    assert all("Statement" in policy for policy in function["Properties"]["Policies"])


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


def test_generated_roles_grant_no_other_s3_access(
    template: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the SAM transform the only S3 grant of any role is GetObject on the prefix."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sam = copy.deepcopy(template)
    # `sam build` fills this in; the transform refuses an image function without it.
    sam["Resources"]["VerifyFaceFunction"]["Properties"]["ImageUri"] = "verifyfacefunction:python3.12-v1"
    parameters = {"ReferenceBucketName": "finday-faces-demo"}
    resources = transform(sam, parameters, _NoManagedPolicies())["Resources"]
    s3_grants = []
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = _as_list(statement["Action"])
                if any(action.lower().startswith("s3:") or action == "*" for action in actions):
                    s3_grants.append((actions, statement["Resource"]))
    prefix_arn = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ReferenceBucketName}/${ReferencePrefix}*"}
    assert s3_grants == [(["s3:GetObject"], prefix_arn)]
    function_role = resources["VerifyFaceFunctionRole"]["Properties"]
    # Managed policies SAM attaches: logs and X-Ray only.
    assert sorted(arn.rsplit("/", 1)[-1] for arn in function_role["ManagedPolicyArns"]) == [
        "AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess",
    ]


def test_parameters(template: dict) -> None:
    params = template["Parameters"]
    assert "Default" not in params["ReferenceBucketName"]
    assert params["ReferencePrefix"]["Default"] == ""
    assert params["VerifyThreshold"]["Default"] == ""
    assert params["ModelName"]["AllowedValues"] == ["ArcFace", "Dlib"]
    assert params["DetectorBackend"]["AllowedValues"] == ["retinaface", "dlib", "opencv"]
    memory = params["FunctionMemorySize"]
    assert (memory["Type"], memory["Default"], memory["MinValue"], memory["MaxValue"]) == (
        "Number",
        3538,
        1536,
        10240,
    )
    assert params["StageName"]["Default"] == "prod"


def test_alarms_cover_errors_5xx_duration_throttles(template: dict) -> None:
    resources = template["Resources"].values()
    alarms = [r["Properties"] for r in resources if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a["Namespace"], a["MetricName"], a.get("ExtendedStatistic")) for a in alarms}
    assert ("AWS/Lambda", "Errors", None) in watched
    assert ("AWS/Lambda", "Throttles", None) in watched
    assert ("AWS/Lambda", "Duration", "p95") in watched
    assert ("AWS/Lambda", "Duration", "p99") in watched
    assert ("AWS/ApiGateway", "5XXError", None) in watched
    timeout_ms = template["Resources"]["VerifyFaceFunction"]["Properties"]["Timeout"] * 1000
    for alarm in alarms:
        if alarm["MetricName"] == "Duration":
            assert alarm["Threshold"] < timeout_ms


def test_function_log_group_has_retention(function: dict, template: dict) -> None:
    log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert "RetentionInDays" in template["Resources"][log_group]["Properties"]


def test_outputs(template: dict) -> None:
    outputs = template["Outputs"]
    url = "https://${VerifyFaceApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}/verify-face"
    assert outputs["VerifyFaceApiUrl"]["Value"] == {"Fn::Sub": url}
    assert outputs["VerifyFaceFunctionName"]["Value"] == {"Ref": "VerifyFaceFunction"}
    assert outputs["VerifyFaceFunctionArn"]["Value"] == {"Fn::GetAtt": ["VerifyFaceFunction", "Arn"]}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
