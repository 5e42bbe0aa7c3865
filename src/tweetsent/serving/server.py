"""Running the service: load a run, describe it, bind the socket, hand over to uvicorn."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from tweetsent.errors import ConfigError, TweetsentError
from tweetsent.inference import TweetClassifier
from tweetsent.modeling.loading import default_model_path
from tweetsent.rundir import RunDir
from tweetsent.serving.protocol import protocol_class
from tweetsent.serving.settings import ServeConfig

logger = logging.getLogger(__name__)

VALIDATION_KEYS = ("accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc", "loss")


def model_info(run_dir: str | Path, classifier) -> dict[str, Any]:
    """What ``GET /model`` tells: labels, backbone, backend, precision and the run's validation
    scores."""

    run_dir = Path(run_dir)
    run = RunDir.of_model(run_dir)
    metrics_file = run.metrics_file if run and run.metrics_file.is_file() else None
    metrics: dict[str, Any] = {}
    if metrics_file is not None:
        try:
            metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("%s: unreadable, so /model shows no metrics (%s)", metrics_file, exc)
    config = classifier.config
    backbone = metrics.get("model") or (config.model if config else None)
    if backbone is None or backbone == default_model_path():
        backbone = "all-MiniLM-L6-v2 (embedded)" if config or metrics else "unknown"
    training = None
    if metrics:
        validation = metrics.get("validation", {})
        data = metrics.get("data", {})
        training = {
            "best_epoch": metrics.get("best_epoch"),
            "metric_for_best": metrics.get("metric_for_best"),
            "validation": {k: validation[k] for k in VALIDATION_KEYS if k in validation},
            "train_rows": data.get("train_rows"),
            "validation_rows": data.get("validation_rows"),
            "epochs": config.epochs if config else None,
            # --ensemble K: every prediction runs K members (K times one model's work).
            "ensemble": (metrics.get("ensemble") or {}).get("size", 1),
        }
    return {
        "run": run_dir.resolve().name,
        "labels": list(classifier.labels),
        "backbone": backbone,
        "backend": classifier.backend,
        # fp32, bf16 (torch, OpenVINO) or int8: what the probabilities were computed at.
        "precision": getattr(classifier.engine, "precision", None),
        "max_length": classifier.max_length,
        # Probabilities are softmax(logits / temperature); None: the raw softmax.
        "temperature": getattr(classifier, "temperature", None),
        "training": training,
    }


def serve(
    run_dir: str | Path,
    settings: ServeConfig,
    *,
    backend: str = "auto",
    precision: str = "auto",
    allow_pickle: bool = False,
) -> None:
    """Serve ``run_dir`` over HTTP until interrupted (Ctrl+C or SIGTERM), letting requests in
    flight finish.

    Args:
        run_dir: the run directory.
        settings: host, port, batching, limits and timeouts.
        backend: the inference engine.
        precision: ``auto``, ``fp32`` or ``bf16`` (as for ``TweetClassifier.load``).
        allow_pickle: allow pickle (``.bin``) weights.

    Raises:
        ConfigError: a bad setting, or the port is taken.
        ModelError: the run cannot be loaded.

    Examples:
        >>> serve("runs/smile", ServeConfig(port=8000))  # doctest: +SKIP
    """
    import uvicorn

    # FastAPI loads only to serve: `tweetsent --help` and the other commands never need it.
    from tweetsent.serving.app import create_app

    classifier = TweetClassifier.load(
        run_dir,
        backend=backend,
        precision=precision,
        batch_size=settings.max_batch_size,
        allow_pickle=allow_pickle,
    )
    app = create_app(classifier, settings, info=model_info(run_dir, classifier))
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    if not _is_loopback(host):
        logger.warning(
            "listening on %s: anyone who can reach this machine can use the service "
            "(it has no authentication)",
            host,
        )
    server = uvicorn.Server(_uvicorn_config(app, host, port, settings))
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    logger.info("serving %s at %s (API docs at %s/docs)", Path(run_dir), url, url)
    with _stop_signals_end_quietly():
        server.run(sockets=[sock])
    if not server.started:
        raise TweetsentError("the server failed to start; see the messages above")
    logger.info("stopped")


def _uvicorn_config(app, host: str, port: int, settings: ServeConfig):
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,  # the bound port, so that uvicorn's own log names the right one with --port 0
        log_level=logging.getLevelName(logging.getLogger("tweetsent").getEffectiveLevel()).lower(),
        access_log=settings.access_log,
        timeout_graceful_shutdown=settings.graceful_timeout,
        # Slow clients: a deadline for request headers (uvicorn has none), 503 beyond
        # max_connections open connections (uvicorn's limit_concurrency counts them).
        http=protocol_class(settings.header_timeout),
        limit_concurrency=settings.max_connections,
    )


@contextlib.contextmanager
def _stop_signals_end_quietly():
    """After its graceful shutdown, uvicorn re-raises the stop signal (Ctrl+C, SIGTERM) to the
    handler it found; for ``tweetsent serve`` that stop is the normal end, so exit 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; binding here, before uvicorn, turns a busy port into a clear error."""
    try:
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.create_server(address, family=family, reuse_port=False)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host}: unknown host ({exc.strerror})") from None
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
