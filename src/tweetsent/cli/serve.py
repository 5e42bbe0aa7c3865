"""``tweetsent serve``: an HTTP prediction service with a web page, for one trained run."""

from __future__ import annotations

import argparse

from tweetsent.cli._util import BACKEND_HELP, BACKENDS, add_allow_pickle
from tweetsent.serving.settings import ServeConfig

DEFAULTS = ServeConfig()


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve a trained run over HTTP (JSON API and a web page)",
        description="Serve a run: POST /predict, GET /health, GET /model, API docs at /docs "
        "and a web page at /. Concurrent requests are gathered into batches for the model. "
        "Stop with Ctrl+C (or SIGTERM): requests in flight finish first.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument(
        "--host",
        default=DEFAULTS.host,
        help="address to listen on (default: %(default)s, this machine only; the service "
        "has no authentication)",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULTS.port, help="port (default: %(default)s; 0: any free)"
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help=BACKEND_HELP,
    )
    add_allow_pickle(p)
    batching = p.add_argument_group("batching")
    batching.add_argument(
        "--max-batch-size",
        type=int,
        default=DEFAULTS.max_batch_size,
        metavar="N",
        help="most texts per forward pass, gathered across requests (default: %(default)s)",
    )
    batching.add_argument(
        "--max-wait-ms",
        type=float,
        default=DEFAULTS.max_wait_ms,
        metavar="MS",
        help="longest a request waits for others to share its batch (default: %(default)s)",
    )
    batching.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULTS.max_queue,
        metavar="N",
        help="texts allowed to wait for the model; beyond, requests get 503 (default: %(default)s)",
    )
    limits = p.add_argument_group("request limits (beyond them: a 4xx JSON error)")
    limits.add_argument(
        "--max-texts",
        type=int,
        default=DEFAULTS.max_texts,
        metavar="N",
        help="texts per request (default: %(default)s)",
    )
    limits.add_argument(
        "--max-text-chars",
        type=int,
        default=DEFAULTS.max_text_chars,
        metavar="N",
        help="characters per text (default: %(default)s)",
    )
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULTS.max_body_bytes,
        metavar="N",
        help="bytes per request body (default: %(default)s)",
    )
    _add_connection_args(p)
    p.set_defaults(func=serve_cli)


def _add_connection_args(p: argparse.ArgumentParser) -> None:
    """Slow and idle clients, and stopping."""
    slow = p.add_argument_group("connections: slow and idle clients, stopping")
    slow.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULTS.header_timeout,
        metavar="S",
        help="seconds a client has to send a request's headers, from connecting or from the "
        "request's first byte; then 408 and the connection is closed (default: %(default)s)",
    )
    slow.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULTS.body_timeout,
        metavar="S",
        help="seconds a request body may take to arrive; then 408 (default: %(default)s)",
    )
    slow.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULTS.max_connections,
        metavar="N",
        help="open connections at most; requests beyond get 503 (default: %(default)s)",
    )
    slow.add_argument(
        "--graceful-timeout",
        type=float,
        default=DEFAULTS.graceful_timeout,
        metavar="S",
        help="seconds requests in flight get to finish on shutdown (default: %(default)s)",
    )
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.access_log,
        help="log every request (default: on)",
    )


def serve_cli(args) -> int:
    from tweetsent.serving import serve

    settings = ServeConfig(
        host=args.host,
        port=args.port,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        max_texts=args.max_texts,
        max_text_chars=args.max_text_chars,
        max_body_bytes=args.max_body_bytes,
        graceful_timeout=args.graceful_timeout,
        access_log=args.access_log,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
    )
    serve(args.run_dir, settings, backend=args.backend, allow_pickle=args.allow_pickle)
    return 0
