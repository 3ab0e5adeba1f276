"""The SMS channel: an adapter for an HTTP SMS provider (request format in docs/notification.md).

POST {SMS_URL}/messages   Content-Type: application/json
{"to": "+4791234567", "sender": "Flokk", "text": "...", "reference": "<notification id>"}
-> 2xx accepted; 4xx (except 408/429) refused for good; 408, 429, 5xx, no answer: try later.
"""

import json
import urllib.error
import urllib.request

from nameko.extensions import DependencyProvider

from services.common.settings import for_container

from .ports import DeliveryFailure

SENDER = "Flokk"
TRANSIENT_HTTP = {408, 429}


class SmsClient:
    def __init__(self, url, timeout=10):
        self.url, self.timeout = url.rstrip("/"), timeout

    def send(self, to, text, reference):
        body = json.dumps({"to": to, "sender": SENDER, "text": text, "reference": reference}).encode()
        request = urllib.request.Request(
            f"{self.url}/messages", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            raise DeliveryFailure("sms", f"HTTP {status}", status >= 500 or status in TRANSIENT_HTTP) from None
        except OSError as exc:  # refused, reset, timed out
            raise DeliveryFailure("sms", type(exc).__name__, transient=True) from None


class Sms(DependencyProvider):
    def setup(self):
        self.client = SmsClient(for_container(self.container)["SMS_URL"])

    def get_dependency(self, worker_ctx):
        return self.client
