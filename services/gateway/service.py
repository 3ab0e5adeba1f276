"""gateway service: HTTP entrypoints only."""
import json

from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy
from nameko.web.handlers import http

from services.common.health import health_report
from services.common.store import MongoStore

from .responses import error_response, from_remote_error, json_response


class GatewayService:
    name = "gateway"
    store = MongoStore()
    registration = RpcProxy("registration")

    @http("GET", "/healthz")
    def healthz(self, request):
        report = health_report(self.name, self.store, self.store.broker)
        return json_response(report, 200 if report["status"] == "ok" else 503)

    @http("POST", "/api/registrations")
    def create_registration(self, request):
        try:
            payload = json.loads(request.get_data(as_text=True))
        except ValueError:
            return error_response(400, "invalid_json", "The body is not JSON.")
        try:
            result = self.registration.register(payload)
        except RemoteError as exc:
            return from_remote_error(exc)
        return json_response(result, 201 if result["created"] else 200)
