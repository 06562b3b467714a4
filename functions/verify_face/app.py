"""POST /verify-face: is the face in the uploaded capture the user registered in S3?"""

# ruff: noqa: E402 -- the model graphs start loading before the heavy imports, on purpose.
from __future__ import annotations

from bootstrap import build_verifier, quiet_third_party_loggers, start_loading_models
from face_verification.config import load_settings

# Init, once per execution environment. The graphs load on a background thread while
# Powertools, DeepFace, OpenCV and boto3 import below: that overlap is cold-start time.
settings = load_settings()
models_loading = start_loading_models(settings)

import time
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.event_handler.openapi.params import File, Form, UploadFile
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

import api_responses
from face_verification.errors import InvalidField, VerificationError

logger = Logger(service="verify-face")
metrics = Metrics(namespace="Finday", service="verify-face")

quiet_third_party_loggers()
verifier = build_verifier(settings, models_loading)

router = Router()


@router.post("/verify-face")
def verify_face(
    face_image: Annotated[UploadFile, File(description="the webcam capture: JPEG, PNG or WebP")],
    face_img_url: Annotated[str, Form(description="S3 URL of the registered face")],
    email: Annotated[str | None, Form(description="sent by the frontend; not used or logged")] = None,
):
    if not isinstance(face_img_url, str):  # the framework does not validate a file sent for text
        raise InvalidField("the field 'face_img_url' must be text, not a file", field="face_img_url")
    started = time.perf_counter()
    try:
        decision = verifier.verify(face_image.content, face_img_url)
    except VerificationError as error:
        metrics.add_metric(name=f"Refused{error.reason}", unit=MetricUnit.Count, value=1)
        raise
    except Exception as exc:
        raise api_responses.UnexpectedError() from exc
    metrics.add_metric(name="Matched" if decision.matched else "NotMatched", unit=MetricUnit.Count, value=1)
    logger.info(
        "decision",
        extra={"matched": decision.matched, "distance": round(decision.distance, 4),
               "reference_cached": decision.reference_cached,
               "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return api_responses.decision_response(decision)


def _resolver(resolver_class: type) -> Any:
    cors = CORSConfig(allow_origin=settings.allowed_origin) if settings.allowed_origin else None
    resolver = resolver_class(enable_validation=True, cors=cors)
    resolver.include_router(router)
    api_responses.register_error_handlers(resolver)
    return resolver


rest_api = _resolver(APIGatewayRestResolver)  # REST API (payload v1)
http_api = _resolver(APIGatewayHttpResolver)  # HTTP API (payload v2)


@logger.inject_lambda_context(clear_state=True)  # never log_event: the body is a face
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = (request_context.get("requestId") if isinstance(request_context, dict) else None)
    api_responses.request_id.set(request_id or context.aws_request_id)
    logger.set_correlation_id(api_responses.request_id.get())
    try:
        refused = api_responses.envelope_error(event, settings.images.max_body_bytes)
        if refused is not None:
            return api_responses.proxy_response(refused, settings.allowed_origin)
        resolver = http_api if event.get("version") == "2.0" else rest_api
        return resolver.resolve(event, context)
    except Exception:  # an event API Gateway would never send (direct invokes): still JSON, never a raise
        return api_responses.proxy_response(None, settings.allowed_origin)
