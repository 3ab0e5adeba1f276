"""One JSON shape for every answer and every error the gateway gives."""

import json

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

REMOTE_ERRORS = {  # remote exception type -> (HTTP status, error code)
    "InvalidInput": (400, "invalid_input"),
    "NotFound": (404, "not_found"),
    "UnknownPostalCode": (404, "not_found"),
    "UnknownMunicipality": (404, "not_found"),
    "Forbidden": (403, "forbidden"),
    "Conflict": (409, "conflict"),
}
UPSTREAM = (502, "upstream_error")


def json_response(body, status=200, headers=None):
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), status=status, headers=headers, mimetype="application/json"
    )


def error_response(status, code, message, fields=None, headers=None):
    return json_response({"error": {"code": code, "message": message, "fields": fields or {}}}, status, headers)


def remote_status(exc: RemoteError):
    return REMOTE_ERRORS.get(exc.exc_type, UPSTREAM)


def remote_field_errors(exc: RemoteError):
    """The {field: [messages]} of a remote InvalidInput; {} for anything else."""
    if exc.exc_type != "InvalidInput":
        return {}
    try:
        errors = json.loads(exc.value)
    except (TypeError, ValueError):
        return {"_schema": [str(exc.value)]}
    return errors if isinstance(errors, dict) else {"_schema": errors}


def from_remote_error(exc: RemoteError):
    status, code = remote_status(exc)
    if code == "invalid_input":
        return error_response(status, code, "Some fields are not valid.", remote_field_errors(exc))
    if status == 502:  # the detail stays in the service: it may name fields or values
        return error_response(status, code, "A service could not answer.")
    return error_response(status, code, exc.value)
