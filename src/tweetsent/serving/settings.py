"""``tweetsent serve``'s settings: where it listens, how it batches, what input it accepts.

Each field carries its help text and validation rule (``tweetsent.rules.option``); the serve
flags are generated from them (``tweetsent.cli._options``), as the train flags are from
``TrainConfig``. ``{default}`` in a help text is replaced by the field's default.
"""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.errors import ConfigError
from tweetsent.rules import (
    between,
    boolean,
    option,
    positive_int,
    positive_number,
    text,
    validate,
)

BATCHING = "batching"
LIMITS = "request limits (beyond them: a 4xx JSON error)"
CONNECTIONS = "connections: slow and idle clients, stopping"


@dataclass
class ServeConfig:
    """How ``tweetsent serve`` listens, gathers requests into batches, and limits input."""

    host: str = option(
        "127.0.0.1",
        help="address to listen on (default: {default}, this machine only; the service has no "
        "authentication)",
        rule=text,
    )
    port: int = option(
        8000, help="port (default: {default}; 0: any free)", rule=between(0, 65535, integer=True)
    )
    max_batch_size: int = option(
        64,
        help="most texts per forward pass, gathered across requests (default: {default})",
        rule=positive_int,
        metavar="N",
        group=BATCHING,
    )
    max_wait_ms: float = option(
        5.0,
        help="longest a request waits for others to share its batch (default: {default})",
        rule=between(0, 10_000),
        metavar="MS",
        group=BATCHING,
    )
    max_queue: int = option(
        2048,
        help="texts allowed to wait for the model; beyond, requests get 503 (default: {default})",
        rule=positive_int,
        metavar="N",
        group=BATCHING,
    )
    max_texts: int = option(
        64,
        help="texts per request (default: {default})",
        rule=positive_int,
        metavar="N",
        group=LIMITS,
    )
    max_text_chars: int = option(
        2000,
        help="characters per text (default: {default})",
        rule=positive_int,
        metavar="N",
        group=LIMITS,
    )
    max_body_bytes: int = option(
        1_048_576,
        help="bytes per request body (default: {default})",
        rule=positive_int,
        metavar="N",
        group=LIMITS,
    )
    # An uploaded file (POST /predict-file) is labelled from a temporary copy on disk, so its
    # limit is separate from (and larger than) the JSON body's; max_uploads bounds the disk
    # and threads that uploads take at once.
    max_upload_bytes: int = option(
        16_777_216,
        help="bytes per uploaded file, POST /predict-file (default: {default})",
        rule=positive_int,
        metavar="N",
        group=LIMITS,
    )
    max_uploads: int = option(
        2,
        help="uploaded files received or labelled at once; beyond, uploads get 503 "
        "(default: {default})",
        rule=positive_int,
        metavar="N",
        group=LIMITS,
    )
    # Slow or silent clients: a request's headers must arrive within header_timeout seconds of
    # the connection (or the request) starting, its body within body_timeout; connections
    # beyond max_connections get 503.
    header_timeout: float = option(
        10.0,
        help="seconds a client has to send a request's headers, from connecting or from the "
        "request's first byte; then 408 and the connection is closed (default: {default})",
        rule=positive_number,
        metavar="S",
        group=CONNECTIONS,
    )
    body_timeout: float = option(
        30.0,
        help="seconds a request body may take to arrive; then 408 (default: {default})",
        rule=positive_number,
        metavar="S",
        group=CONNECTIONS,
    )
    max_connections: int = option(
        1024,
        help="open connections at most; requests beyond get 503 (default: {default})",
        rule=positive_int,
        metavar="N",
        group=CONNECTIONS,
    )
    graceful_timeout: float = option(
        30.0,
        help="seconds requests in flight get to finish on shutdown (default: {default})",
        rule=positive_number,
        metavar="S",
        group=CONNECTIONS,
    )
    access_log: bool = option(
        True, help="log every request (default: {default})", rule=boolean, negatable=True
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.max_queue < self.max_texts:
            raise ConfigError(
                f"max_queue ({self.max_queue}) must be at least max_texts ({self.max_texts}), "
                "or a full request could never be queued"
            )
