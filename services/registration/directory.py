"""The directory port over the directory service's RPC proxy.

Its answers on places are reference data (postal codes and municipalities change with a release
of it, not during the day), so they are cached and a registration mostly needs no RPC; refusals
are never cached. The directory's refusals reach the use cases as registration's own errors.
"""

from nameko.exceptions import RemoteError

from services.common.cache import CachedCalls

from .domain import Place
from .ports import UnknownContactPoint, UnknownMunicipality, UnknownPostalCode

PLACE_LOOKUPS = ("municipality_for_postal_code", "municipality")
REFUSALS = {"UnknownPostalCode": UnknownPostalCode, "UnknownMunicipality": UnknownMunicipality}


class DirectoryPlaces:
    def __init__(self, proxy, cache):
        self._proxy = proxy
        self._calls = CachedCalls(proxy, cache, PLACE_LOOKUPS)

    def contact_point(self, contact_point_id):
        """Asked afresh (a course leader names one when creating a cohort: rare)."""
        try:
            return self._proxy.get_contact_point(contact_point_id)
        except RemoteError as exc:
            if exc.exc_type != "NotFound":
                raise
            raise UnknownContactPoint(contact_point_id) from None

    def municipality_for_postal_code(self, postal_code: str) -> Place:
        return self._ask("municipality_for_postal_code", postal_code)

    def municipality(self, municipality_number: str) -> Place:
        return self._ask("municipality", municipality_number)

    def _ask(self, lookup: str, key: str) -> Place:
        try:
            return getattr(self._calls, lookup)(key)
        except RemoteError as exc:
            refusal = REFUSALS.get(exc.exc_type)
            if refusal is None:
                raise
            raise refusal(exc.value) from None
