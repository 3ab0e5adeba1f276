"""One JSON shape for every answer and every error the gateway gives."""
import json

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

REMOTE_ERRORS = {  # remote exception type -> (HTTP status, error code)
    "InvalidInput": (400, "invalid_input"),
    "NotFound": (404, "not_found"),
    "Forbidden": (403, "forbidden"),
    "Conflict": (409, "conflict"),
}


def json_response(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def error_response(status, code, message, fields=None):
    return json_response({"error": {"code": code, "message": message, "fields": fields or {}}}, status)


def from_remote_error(exc: RemoteError):
    status, code = REMOTE_ERRORS.get(exc.exc_type, (502, "upstream_error"))
    if code == "invalid_input":
        fields = json.loads(exc.value)
        return error_response(status, code, "Some fields are not valid.", fields)
    if status == 502:
        return error_response(status, code, "A service could not answer.")
    return error_response(status, code, exc.value)
