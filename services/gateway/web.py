"""nameko's HTTP entrypoint with an access log that never writes a query string: a personal link's
token (`/me?t=…`) or a postal code must not reach a log. The line keeps the method, the path, the
status and the time."""

import re
from logging import getLogger
from typing import Any

from eventlet import wsgi
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer

_QUERY = re.compile(r"\?[^\s\"]*")


def without_query(line: str) -> str:
    """`GET /me?t=v1.abc HTTP/1.1` -> `GET /me?… HTTP/1.1`."""
    return _QUERY.sub("?…", line)


class AccessLog:
    """What eventlet's server logs through: the same logger nameko gives it, the query left out."""

    def __init__(self, name: str) -> None:
        self._log = getLogger(name)

    def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._log.info(without_query(message % args if args else message))

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._log.debug(without_query(message % args if args else message))

    def error(self, message: str, *args: Any, **kwargs: Any) -> None:
        self._log.error(without_query(message % args if args else message))


class GatewayWebServer(WebServer):
    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
        return wsgi.Server(
            sock,
            sock.getsockname(),
            wsgi_app,
            protocol=protocol,
            debug=debug,
            log=AccessLog("nameko.web.server"),
        )


class GatewayHttp(HttpRequestHandler):
    server = GatewayWebServer()


http = GatewayHttp.decorator
