"""``POST /predict-file``: a table uploaded, labelled as ``tweetsent predict --input`` labels it.

The web page's upload, and ``curl -F file=@tweets.csv``. The file is saved under its own name
in a temporary folder (its suffix gives the format, as on the command line) and labelled by the
CLI's own ``predict_file``, with the same data options, so the answer is the CSV that
``tweetsent predict RUN --input FILE --output OUT.csv`` writes, byte for byte, with the same
errors.

Other requests are not held up: the upload is received by the event loop (into a spooled
temporary file, counted against ``max_upload_bytes``), labelled on a thread of its own, and each
forward pass of the model runs on the batcher's model thread (``MicroBatcher.submit``), taking
turns with the batches of ``/predict`` requests, which so wait for one file batch at most,
never for the whole file. The form is parsed here (python-multipart, through Starlette) rather
than by FastAPI's ``UploadFile`` parameters, so that the size limit, the body deadline and the
errors are the service's own one-line messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

from tweetsent.batch.files import explain_run_options, predict_file
from tweetsent.config import FORMATS, DataConfig
from tweetsent.errors import ConfigError, DataError, TweetsentError
from tweetsent.inference.calibration import check_min_confidence
from tweetsent.serving.batching import Closed, MicroBatcher
from tweetsent.serving.refusals import ApiError, ErrorResponse
from tweetsent.serving.settings import ServeConfig

logger = logging.getLogger(__name__)

# The form: the file, the data options of `tweetsent predict --input` (named as its flags), and
# min_confidence as in POST /predict. Left out or empty: as the command line without the flag.
DATA_FIELDS = ("text_col", "format", "header", "encoding", "preset")
FIELDS = ("file", *DATA_FIELDS, "min_confidence")
_FIELD_BYTES = 4096  # each field but the file
_FORM_BYTES = len(FIELDS) * (_FIELD_BYTES + 512)  # the fields and the form's own framing
_NAME_CHARS = 100

CURL = "with curl: -F file=@tweets.csv"
REFUSALS = {
    408: "the upload did not arrive within the server's time limit",
    413: "the file is larger than the server's limit",
    403: "a form posted by a page of another origin (another site may not use this service)",
    415: "the body is not a multipart form (an HTML form's file upload)",
    422: "a form field is missing or wrong, or the file cannot be read or labelled: the "
    "message names the row, column or option",
    503: "too many uploads at once (retry after a second) or shutting down",
}
UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV, TSV, JSON Lines or Parquet; the name's suffix "
                            "gives the format unless `format` says",
                        },
                        "text_col": {
                            "type": "string",
                            "description": "the text column (default: the run's, as "
                            "'tweetsent predict --input')",
                        },
                        "format": {"type": "string", "enum": list(FORMATS)},
                        "header": {"type": "boolean", "description": "default: true"},
                        "encoding": {"type": "string", "description": "default: UTF-8"},
                        "preset": {"type": "string"},
                        "min_confidence": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                    },
                }
            }
        },
    },
    "responses": {"200": {"content": {"text/csv": {}}, "description": "the labelled CSV"}},
}


def add_upload_route(app: FastAPI, classifier, batcher: MicroBatcher, settings: ServeConfig):
    """``POST /predict-file`` on ``app``; ``app.state.uploads`` counts the uploads in progress."""
    app.state.uploads = 0
    errors = {
        code: {"model": ErrorResponse, "description": text} for code, text in REFUSALS.items()
    }

    @app.post(
        "/predict-file",
        response_class=FileResponse,
        responses=errors,
        summary="Label a file of tweets",
        openapi_extra=UPLOAD_SCHEMA,
    )
    async def predict_file_route(request: Request) -> FileResponse:
        """The uploaded table with `predicted_label`, `confidence` and one `p_<label>` column per
        label added: what `tweetsent predict RUN --input FILE --output OUT.csv` writes."""
        check_same_origin(request)
        check_multipart(request.headers.get("content-type"))
        if app.state.uploads >= settings.max_uploads:
            raise ApiError(
                503,
                f"too many uploads at once (limit {settings.max_uploads}); retry shortly",
                headers={"Retry-After": "1"},
            )
        app.state.uploads += 1
        try:
            return await _answer(request, classifier, batcher, settings)
        finally:
            app.state.uploads -= 1


async def _answer(request: Request, classifier, batcher, settings: ServeConfig) -> FileResponse:
    form = await read_form(request, settings.max_upload_bytes, settings.body_timeout)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=request.app.state.upload_root))
    handed_over = False  # once the labelling thread runs, it removes the folder if abandoned
    try:
        upload, data_config, inherited, min_confidence = read_fields(form, classifier)
        name = upload_name(upload.filename)
        source = folder / "in" / name
        source.parent.mkdir()
        await asyncio.to_thread(_save, upload, source, settings.max_upload_bytes)
        check_decoded_size(source, data_config, settings.max_upload_bytes * DECODED_FACTOR)
        target = folder / "out" / "labelled.csv"
        target.parent.mkdir()
        cancelled = threading.Event()
        job = _Labelling(classifier, batcher, cancelled, min_confidence, folder)
        handed_over = True
        watcher = asyncio.ensure_future(_watch_client(request, cancelled))
        try:
            rows = await asyncio.to_thread(job, source, target, data_config)
        except asyncio.CancelledError:  # shutdown: stop at the next batch, tidy up there
            cancelled.set()
            raise
        except Closed as exc:
            raise ApiError(503, str(exc)) from None
        except TweetsentError as exc:
            raise ApiError(422, _message(exc, data_config, inherited, source, name)) from None
        finally:
            watcher.cancel()
    except BaseException:
        if not handed_over or job.finished:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        await form.close()
    return FileResponse(
        target,
        media_type="text/csv; charset=utf-8",
        filename=f"{Path(name).stem}-labelled.csv",
        headers={"X-Rows": str(rows)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# A Parquet file is compressed: a few KB can decode to gigabytes of text (a decompression
# bomb). Its own metadata says how large it decodes, so it is refused before it is read.
DECODED_FACTOR = 8


def check_decoded_size(source: Path, data_config: DataConfig, limit: int) -> None:
    """Refuse a Parquet upload whose columns decode to more than ``limit`` bytes (413)."""
    parquet = source.suffix.lower() in (".parquet", ".pq") or data_config.format == "parquet"
    if not parquet:
        return  # text formats decode to about their own size, already bounded
    import pyarrow.parquet as pq  # pandas' engine, loaded by the reader anyway

    try:
        metadata = pq.ParquetFile(source).metadata
    except Exception:  # not Parquet after all: the reader says so, in its own words
        return
    decoded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if decoded > limit:
        raise ApiError(
            413,
            f"the file decodes to {decoded} bytes, more than the server takes ({limit}: "
            f"{DECODED_FACTOR} x the upload limit)",
        )


def check_same_origin(request: Request) -> None:
    """A browser sends ``Origin`` with every POST of a page; another site's page posting a form
    here (no preflight for a form) is refused. Clients that are not browsers send none."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null" and request.headers.get("sec-fetch-site") is None:
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1].rstrip("/") != host:
        raise ApiError(403, f"a form from another origin ({origin}) may not upload here")


async def _watch_client(request: Request, cancelled: threading.Event) -> None:
    """Stop labelling for a client that went away (its answer has nobody to read it)."""
    while not cancelled.is_set():
        if await request.is_disconnected():
            logger.info("upload abandoned by its client; labelling stops at the next batch")
            cancelled.set()
            return
        await asyncio.sleep(0.5)


def check_multipart(value: str | None) -> None:
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise ApiError(
            415,
            f"Content-Type must be multipart/form-data, got {media or 'nothing'}: send the file "
            f"as a form's file field ({CURL})",
        )


async def read_form(request: Request, limit: int, timeout: float) -> FormData:
    """The form, refused as soon as it is known to exceed ``limit`` bytes of file (plus the
    fields), or when it has not fully arrived ``timeout`` seconds after the headers."""
    too_large = f"file too large: the limit is {limit} bytes"
    most = limit + _FORM_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise ApiError(413, too_large)
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > most:  # chunked uploads declare no length: count as they come
                raise ApiError(413, too_large)
        return message

    try:
        async with asyncio.timeout(timeout):
            return await Request(request.scope, receive).form(
                max_files=1, max_fields=len(FIELDS), max_part_size=_FIELD_BYTES
            )
    except TimeoutError:
        raise ApiError(
            408,
            f"upload not received within {timeout:g} s ({received} bytes arrived)",
            headers={"Connection": "close"},
        ) from None
    except ClientDisconnect:
        raise ApiError(400, "the client closed the connection during the upload") from None


def read_fields(form: FormData, classifier) -> tuple[UploadFile, DataConfig, bool, float | None]:
    """The file, the data options (``inherited``: none given, so the run's own), min_confidence."""
    for key in form:
        if key not in FIELDS:
            raise ApiError(422, f"{key}: unknown field (the fields are {', '.join(FIELDS)})")
        if len(form.getlist(key)) > 1:
            raise ApiError(422, f"{key}: given more than once")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, f"file: field required: the table to label, as a file ({CURL})")
    given: dict[str, Any] = {k: form[k] for k in DATA_FIELDS if str(form.get(k) or "").strip()}
    if "header" in given:
        given["header"] = _boolean("header", given["header"])
    min_confidence = form.get("min_confidence")
    try:
        data_config = DataConfig(**given) if given or classifier.data_config is None else None
        if str(min_confidence or "").strip():
            min_confidence = _number("min_confidence", min_confidence)
            if classifier.multi_label:
                raise ConfigError("min_confidence: applies to single-label models only")

            check_min_confidence(min_confidence)
        else:
            min_confidence = None
    except ConfigError as exc:
        raise ApiError(422, str(exc)) from None
    # As the command line: no data option given, the run's own (which a new file may not fit).
    inherited = data_config is None
    return upload, data_config or classifier.data_config, inherited, min_confidence


def upload_name(filename: str | None) -> str:
    """The upload's own file name (its suffix gives the format), safe as a path."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]  # a browser may send C:\...
    name = re.sub(r"[^\w.\- ()+,@]", "_", name).strip(" .")
    if len(name) > _NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: _NAME_CHARS - len(suffix) - 1] + dot + suffix) if dot else name[:_NAME_CHARS]
    return name or "upload.csv"


def _save(upload: UploadFile, path: Path, limit: int) -> None:
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    if path.stat().st_size > limit:
        raise ApiError(413, f"file too large: the limit is {limit} bytes")


def _boolean(name: str, value: str) -> bool:
    answer = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if value.strip().lower() not in answer:
        raise ApiError(422, f"{name}: must be true or false, got {value!r}")
    return answer[value.strip().lower()]


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name}: must be a number, got {value!r}") from None


def _message(exc, data_config, inherited: bool, source: Path, name: str) -> str:
    """The error as the command line words it, naming the upload rather than our copy of it."""

    if inherited and isinstance(exc, DataError):
        how = "the text_col field (the page's text column; header, format as needed)"
        exc = explain_run_options(exc, data_config, how)
    message = " ".join(str(exc).split())  # one line
    return message.replace(str(source), name).replace(str(source.parents[1]), "upload")


class _Labelling:
    """``predict_file`` on a thread, with the classifier's forward passes on the model thread."""

    def __init__(self, classifier, batcher, cancelled, min_confidence, folder: Path):
        self.worker = copy.copy(classifier)  # the same model; this upload's engine and options
        self.worker.engine = _TakingTurns(classifier.engine, batcher, cancelled)
        if min_confidence is not None:
            self.worker.min_confidence = min_confidence
        self.cancelled = cancelled
        self.folder = folder
        self.finished = False

    def __call__(self, source: Path, target: Path, data_config: DataConfig) -> int:
        try:
            return predict_file(self.worker, source, target, data_config, resume=False)
        finally:
            self.finished = True
            if self.cancelled.is_set():  # nobody waits for the answer any more
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.folder)


class _TakingTurns:
    """A classifier's engine whose calls run on the batcher's model thread, in turn with the
    batches of requests, so that the model is never used by two threads at once."""

    def __init__(self, engine, batcher: MicroBatcher, cancelled: threading.Event):
        self._engine = engine
        self._batcher = batcher
        self._cancelled = cancelled

    def __call__(self, inputs):
        if self._cancelled.is_set():
            raise Closed("the upload was abandoned")
        return self._batcher.submit(self._engine, inputs).result()

    def __getattr__(self, name: str):
        return getattr(self._engine, name)
