"""Salesforce-shaped errors raised inside the sandbox and turned into HTTP responses.

Salesforce reports errors as a JSON array of ``{"message", "errorCode", "fields"}``; a record
error inside a collection becomes that record's ``errors`` entry, while an :class:`ApiError`
fails the whole request with its HTTP status.
"""

from __future__ import annotations

from typing import Any


class RecordError(Exception):
    """One record cannot be written; in a collection only that record fails."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self) -> dict[str, Any]:
        """Return the error as one entry of Salesforce's error array."""
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def record_body(self) -> dict[str, Any]:
        """Return the error as it appears in a collection's per-record ``errors``."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class ApiError(Exception):
    """The whole request fails with ``status`` and a Salesforce error array."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> list[dict[str, Any]]:
        """Return Salesforce's error array for this error."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]

    @classmethod
    def from_record(cls, error: RecordError, status: int = 400) -> ApiError:
        """Promote a record error to a request error (single-record calls)."""
        return cls(status, error.code, error.message, error.fields)


def json_parser_error(value: Any, kind: str) -> ApiError:
    """Return the error Salesforce gives when a JSON value cannot become the field's type."""
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} "
        "or request may be missing a required field at [line:1, column:1]",
    )
