"""What the service answers to a request it refuses: a status and a one-line reason."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiError(Exception):
    """A request the service refuses, with its HTTP status and a one-line reason."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in one line")


__all__ = ["ApiError", "ErrorResponse"]
