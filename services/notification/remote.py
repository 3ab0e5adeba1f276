"""The other services as notification's ports (ports.Registration, Directory, Gateway) see them:
adapters over their RPC proxies, built for one call of a use case.

Within that call each answer is asked for once (a group of eight means one directory call, not
eight), and another service's NotFound becomes None, so no use case sees nameko's RemoteError.
"""

from collections.abc import Callable
from typing import Any, Protocol

from nameko.exceptions import RemoteError

from services.common.actors import SELF

from .ports import Record


class ContactPointCache(Protocol):
    """The directory's contact points, shared by the workers for a short while (a TtlCache)."""

    def get_or_load(self, key: str, load: Callable[[], Record]) -> Record: ...

    def put(self, key: str, value: Record) -> None: ...


class _Answers:
    """One method of another service, asked once per key as notification itself (`actors.SELF`,
    signed by the proxy); None where that service says NotFound."""

    def __init__(self, ask: Callable[[str, Any], Record]) -> None:
        self._ask = ask
        self._known: dict[str, Record | None] = {}

    def __call__(self, key: str) -> Record | None:
        if key not in self._known:
            try:
                self._known[key] = self._ask(key, SELF)
            except RemoteError as exc:
                if exc.exc_type != "NotFound":
                    raise
                self._known[key] = None
        return self._known[key]


class RemoteRegistration:
    def __init__(self, proxy: Any) -> None:
        self._contacts = _Answers(proxy.contact_details)

    def contact_details(self, registration_id: str) -> Record | None:
        return self._contacts(registration_id)


class RemoteGateway:
    """Referrers' addresses live with their accounts, in the gateway."""

    def __init__(self, proxy: Any) -> None:
        self._referrers = _Answers(proxy.referrer_contact)

    def referrer_contact(self, referrer_id: str) -> Record | None:
        return self._referrers(referrer_id)


class RemoteDirectory:
    def __init__(self, proxy: Any, cache: ContactPointCache) -> None:
        self._proxy, self._cache = proxy, cache
        self._contact_points: dict[str, Record] = {}
        self._links = _Answers(self._ask_link)

    def meeting_link(self, meeting_place_id: str, contact_point_id: str) -> str | None:
        """Never cached beyond this call, never logged: the video link goes into the message only."""
        answer = self._links(f"{contact_point_id}|{meeting_place_id}")
        return answer["video_url"] if answer else None

    def _ask_link(self, key: str, actor: Any) -> Record:
        contact_point_id, meeting_place_id = key.split("|", 1)
        found: Record = self._proxy.meeting_link(meeting_place_id, actor, contact_point_id=contact_point_id)
        return found

    def get_contact_point(self, contact_point_id: str, fresh: bool = False) -> Record:
        """From the shared cache unless `fresh` (invitations and reminders name meeting places and
        starters that staff may have added a moment ago); what a fresh call gets serves the cache."""
        if contact_point_id not in self._contact_points:
            fetch = lambda: self._proxy.get_contact_point(contact_point_id)
            if fresh:
                found = fetch()
                self._cache.put(contact_point_id, found)
            else:
                found = self._cache.get_or_load(contact_point_id, fetch)
            self._contact_points[contact_point_id] = found
        return self._contact_points[contact_point_id]
