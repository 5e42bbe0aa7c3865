"""``tweetsent serve``'s settings: where it listens, how it batches, what input it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.errors import ConfigError
from tweetsent.rules import positive_int


@dataclass
class ServeConfig:
    """How ``tweetsent serve`` listens, gathers requests into batches, and limits input."""

    host: str = "127.0.0.1"  # loopback: the service has no authentication
    port: int = 8000  # 0: any free port (the log says which)
    max_batch_size: int = 64  # texts per forward pass, gathered from concurrent requests
    max_wait_ms: float = 5.0  # how long the oldest queued request may wait for company
    max_queue: int = 2048  # texts waiting for the model before requests get 503
    max_texts: int = 64  # texts in one request
    max_text_chars: int = 2000  # characters in one text
    max_body_bytes: int = 1_048_576  # bytes in one request body
    graceful_timeout: float = 30.0  # seconds in-flight requests get to finish on shutdown
    access_log: bool = True
    # Slow or silent clients: a request's headers must arrive within header_timeout seconds of
    # the connection (or the request) starting, its body within body_timeout; connections
    # beyond max_connections get 503.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1024

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("host must not be empty")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ConfigError(f"port must be an integer, got {self.port!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, got {self.port}")
        limits = ("max_batch_size", "max_queue", "max_texts", "max_text_chars", "max_body_bytes")
        for name in (*limits, "max_connections"):
            positive_int(name, getattr(self, name))
        if not 0 <= self.max_wait_ms <= 10_000:
            raise ConfigError(f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}")
        for name in ("graceful_timeout", "header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.max_queue < self.max_texts:
            raise ConfigError(
                f"max_queue ({self.max_queue}) must be at least max_texts ({self.max_texts}), "
                "or a full request could never be queued"
            )
