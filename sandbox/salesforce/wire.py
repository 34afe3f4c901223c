"""The request and reply shapes shared by the API router and the composite endpoint."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.errors import ApiError

#: /services/data/vNN.N[/rest]: the version's major and minor part, and the rest of the path.
DATA_PATH = re.compile(r"^/services/data/v(\d+)\.(\d)(/.*)?$")
NOT_FOUND = ApiError(404, "NOT_FOUND", "The requested resource does not exist")


@dataclass
class Request:
    """The parts of an HTTP request the API looks at."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """Return the JSON body, or raise Salesforce's JSON_PARSER_ERROR."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as err:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {err}") from None


@dataclass
class Reply:
    """Status, body and extra headers of a response."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"
