"""The HTTP API and web page of ``tweetsent serve``, as a FastAPI application.

``create_app(classifier, settings)`` wires a loaded :class:`~tweetsent.inference.TweetClassifier`
(the same predictor the CLI uses) to ``POST /predict`` through a :class:`MicroBatcher`, and to
``POST /predict-file`` (:mod:`~tweetsent.serving.upload`).

Every bad request gets a 4xx JSON answer ``{"detail": "one-line message"}``: the body is read,
limited, decoded and validated here rather than by FastAPI's automatic body parsing, because that
answers an over-long body in plain text and invalid UTF-8 with a message that does not say so.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    ValidationError,
    create_model,
)

from tweetsent import __version__
from tweetsent.data.lookalike import is_blank
from tweetsent.serving.batching import Closed, MicroBatcher, Overloaded
from tweetsent.serving.refusals import ApiError, ErrorResponse
from tweetsent.serving.scratch import make_upload_root
from tweetsent.serving.settings import ServeConfig
from tweetsent.serving.upload import add_upload_route

logger = logging.getLogger(__name__)

EXAMPLE = {"texts": ["What a lovely day at the museum!", "The queue was awful."]}


class Prediction(BaseModel):
    label: str = Field(
        description="the most probable label ('uncertain' below min_confidence); multi-label "
        "models: the chosen label set joined by the run's separator"
    )
    score: float = Field(description="its probability")
    label_set: list[str] | None = Field(
        default=None, description="multi-label models: the labels at or above their threshold"
    )
    probabilities: list[float] = Field(description="one per label, in the order of `labels`")


class PredictResponse(BaseModel):
    labels: list[str] = Field(description="the model's labels, in model order")
    predictions: list[Prediction] = Field(description="one per text, in request order")


def request_model(settings: ServeConfig) -> type[BaseModel]:
    """The ``POST /predict`` body, with this server's limits built into its schema."""
    text = Annotated[
        StrictStr,
        StringConstraints(min_length=1, max_length=settings.max_text_chars),
    ]
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]}),
        texts=(
            Annotated[
                list[text],
                Field(
                    min_length=1,
                    max_length=settings.max_texts,
                    description="tweets to classify, one string each",
                ),
            ],
            ...,
        ),
        min_confidence=(
            Annotated[
                float | None,
                Field(
                    gt=0,
                    le=1,
                    description="optional: below this probability the label is 'uncertain' "
                    "(single-label models)",
                ),
            ],
            None,
        ),
    )


# What each refusal status of POST /predict means, for the OpenAPI documentation.
REFUSALS = {
    400: "the body is not valid UTF-8 or not valid JSON",
    408: "the body did not arrive within the server's time limit",
    413: "the body is larger than the server's limit",
    415: "the body is not JSON",
    422: "wrong field or type, empty list, too many or too long texts",
    503: "too busy (retry after a second) or shutting down",
}


def create_app(
    classifier, settings: ServeConfig | None = None, *, info: dict[str, Any] | None = None
) -> FastAPI:
    """The service for ``classifier``; ``info`` (see :func:`model_info`) feeds ``GET /model``.

    >>> app = create_app(TweetClassifier.load("runs/smile"), ServeConfig())  # doctest: +SKIP
    >>> uvicorn.run(app)  # doctest: +SKIP
    """
    settings = settings or ServeConfig()
    labels = list(classifier.labels)
    info = info or {"labels": labels, "backend": classifier.backend}
    info = {**info, "limits": limits(settings)}
    batcher = MicroBatcher(
        classifier.predict_proba,
        max_batch_size=settings.max_batch_size,
        max_wait_ms=settings.max_wait_ms,
        max_queue=settings.max_queue,
    )
    page = resources.files("tweetsent.serving").joinpath("static/index.html").read_text("utf-8")

    lifespan = _lifespan(batcher, classifier, settings)

    # FastAPI's own /docs page loads Swagger UI from a CDN; fastapi-offline serves the same
    # files from the package, so the docs work on a machine without internet.
    app = FastAPIOffline(
        redoc_url=None,
        title="tweetsent",
        version=__version__,
        summary="Classify tweets with a fine-tuned BERT-family model.",
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    errors = {
        code: {"model": ErrorResponse, "description": text} for code, text in REFUSALS.items()
    }
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, internal_error)

    _add_predict_route(app, classifier, batcher, settings, errors)
    _add_info_routes(app, classifier, batcher, info)
    add_upload_route(app, classifier, batcher, settings)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app


def _lifespan(batcher, classifier, settings: ServeConfig):
    """Start the batcher with the app; drain and stop it when uvicorn shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.upload_root = make_upload_root()
        await batcher.start()
        logger.info(
            "model ready: %d labels, %s backend (%s); batches of up to %d texts, wait up to %g ms",
            len(classifier.labels),
            classifier.backend,
            getattr(classifier.engine, "precision", None),
            settings.max_batch_size,
            settings.max_wait_ms,
        )
        try:
            yield
        finally:
            # uvicorn calls this after in-flight requests have finished (or the graceful
            # timeout); close() still drains any. No upload's files outlive the server.
            await batcher.close()
            shutil.rmtree(app.state.upload_root, ignore_errors=True)

    return lifespan


def _add_predict_route(app: FastAPI, classifier, batcher, settings: ServeConfig, errors) -> None:
    """``POST /predict``: the body read and checked by hand (limits, timeouts), then batched."""
    body_model = request_model(settings)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=errors,
        summary="Label tweets",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body_model.model_json_schema()}},
            }
        },
    )
    async def predict(request: Request) -> dict[str, Any]:
        """The label and the probability of every label, for each text."""
        check_content_type(request.headers.get("content-type"))
        body = await read_body(request, settings.max_body_bytes, settings.body_timeout)
        request_body = parse_request(body, body_model)
        if request_body.min_confidence is not None and classifier.multi_label:
            raise ApiError(422, "min_confidence: applies to single-label models only")
        try:
            proba = await batcher.predict(request_body.texts)
        except Overloaded as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": "1"}) from None
        except Closed as exc:
            raise ApiError(503, str(exc)) from None
        return answer(classifier, proba, request_body.min_confidence)


def _add_info_routes(app: FastAPI, classifier, batcher, info: dict[str, Any]) -> None:
    """``GET /health`` and ``GET /model``."""

    @app.get("/health", summary="Liveness and batching counters")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok" if batcher.running else "stopping",
            "backend": classifier.backend,
            "queued": batcher.queued,
            "uploads": app.state.uploads,
            "batching": batcher.stats.as_dict(),
        }

    @app.get("/model", summary="Labels, backbone, training metrics and limits")
    async def model() -> dict[str, Any]:
        return info


async def api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("internal error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": f"internal error ({type(exc).__name__}); see the server log"},
        status_code=500,
    )


def answer(classifier, proba: np.ndarray, min_confidence: float | None) -> dict[str, Any]:
    """The ``/predict`` answer: ``classifier.decide``'s decisions, with the request's
    ``min_confidence`` when it gives one (else the classifier's own).

    ``label`` is one string (a multi-label set joined by the run's separator, as in the CLI
    and the CSV output); multi-label answers also carry the set itself in ``label_set``.
    """
    floor = {} if min_confidence is None else {"min_confidence": min_confidence}
    chosen = classifier.decide(proba, **floor)
    # Six decimals: float32 carries no more, and the answer stays short and readable.
    proba = np.round(proba.astype(np.float64), 6)
    predictions = []
    for decision, row in zip(chosen, proba, strict=True):
        item = {"label": classifier.label_text(decision), "score": float(row.max())}
        if classifier.multi_label:
            item["label_set"] = decision
        item["probabilities"] = row.tolist()
        predictions.append(item)
    return {"labels": list(classifier.labels), "predictions": predictions}


def limits(settings: ServeConfig) -> dict[str, Any]:
    return {
        "max_texts": settings.max_texts,
        "max_text_chars": settings.max_text_chars,
        "max_body_bytes": settings.max_body_bytes,
        "max_upload_bytes": settings.max_upload_bytes,
        "max_uploads": settings.max_uploads,
        "max_batch_size": settings.max_batch_size,
        "max_wait_ms": settings.max_wait_ms,
        "header_timeout": settings.header_timeout,
        "body_timeout": settings.body_timeout,
        "max_connections": settings.max_connections,
    }


def check_content_type(value: str | None) -> None:
    """JSON, or no Content-Type at all (the body must be JSON either way)."""
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415,
            f"Content-Type must be application/json, got {media or 'nothing'} "
            "(with curl: -H 'Content-Type: application/json')",
        )


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes, or when it has not
    fully arrived ``timeout`` seconds after the headers (a client trickling it holds a
    connection and a request slot meanwhile)."""
    import asyncio

    too_large = f"request body too large: the limit is {limit} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, too_large)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # chunked uploads declare no length: count as they come
                    raise ApiError(413, too_large)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            408,
            f"request body not received within {timeout:g} s ({size} bytes arrived)",
            headers={"Connection": "close"},
        ) from None
    return b"".join(chunks)


def parse_texts(body: bytes, model: type[BaseModel]) -> list[str]:
    return parse_request(body, model).texts


def parse_request(body: bytes, model: type[BaseModel]):
    """Decode, parse and validate a ``/predict`` body; an :class:`ApiError` says what is wrong."""
    if not body.strip():
        raise ApiError(400, 'request body is empty: send JSON like {"texts": ["..."]}')
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, f"request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at {exc.start})"
        ) from None
    try:
        request = model.model_validate_json(text)
    except ValidationError as exc:
        raise describe(exc) from None
    # Blank after removing invisible characters (zero-width spaces, soft hyphens) is blank.
    blank = [i for i, t in enumerate(request.texts) if is_blank(t)]
    if blank:
        raise ApiError(422, f"texts[{blank[0]}]: the text is blank")
    return request


def describe(exc: ValidationError) -> ApiError:
    """One line from pydantic's errors, naming the field and the limit."""
    problems = []
    for error in exc.errors(include_url=False):
        kind, ctx = error["type"], error.get("ctx") or {}
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        where = where.lstrip(".")
        if kind == "json_invalid":
            return ApiError(400, f"request body is not valid JSON: {ctx.get('error', '')}")
        if kind == "model_type":
            return ApiError(422, 'request body must be a JSON object like {"texts": ["..."]}')
        message = {
            "missing": "field required: a list of strings",
            "extra_forbidden": "unknown field (the fields are 'texts' and 'min_confidence')",
            "list_type": "must be a list of strings",
            "string_type": "must be a string",
            "too_short": "the list is empty: give at least one text",
            "too_long": f"too many texts ({ctx.get('actual_length')}); "
            f"the limit is {ctx.get('max_length')} per request",
            "string_too_short": "the text is empty",
            "string_too_long": f"text too long; the limit is {ctx.get('max_length')} characters",
        }.get(kind, error["msg"])
        problems.append(f"{where}: {message}")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return ApiError(422, "; ".join(problems[:3]) + more)
