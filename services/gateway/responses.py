"""One JSON shape for every answer and every error the gateway gives."""

import json
from typing import Any

from werkzeug.wrappers import Response

from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound

from .ports import ServiceFailed

ERRORS: dict[type[Exception], tuple[int, str]] = {  # error -> (HTTP status, error code)
    InvalidInput: (400, "invalid_input"),
    NotFound: (404, "not_found"),
    Forbidden: (403, "forbidden"),
    Conflict: (409, "conflict"),
    ServiceFailed: (502, "upstream_error"),
}
KNOWN_ERRORS = tuple(ERRORS)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), status=status, headers=headers, mimetype="application/json"
    )


def error_response(
    status: int, code: str, message: str, fields: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"error": {"code": code, "message": message, "fields": fields or {}}}, status, headers)


def status_of(exc: Exception) -> tuple[int, str]:
    return next(answer for kind, answer in ERRORS.items() if isinstance(exc, kind))


def from_error(exc: Exception) -> Response:
    """The answer to an error of the gateway's own use cases or of a service they called."""
    status, code = status_of(exc)
    if isinstance(exc, InvalidInput):
        return error_response(status, code, "Some fields are not valid.", exc.errors)
    if isinstance(exc, ServiceFailed):  # the detail stays in the service: it may name fields or values
        return error_response(status, code, "A service could not answer.")
    return error_response(status, code, str(exc))
