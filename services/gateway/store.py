"""The gateway's own database: accounts, API tokens, sessions (staff's and personal), sign-in
failures and the audit log (which the gateway only adds to, through a client of its own, and reads;
kept two years by a TTL index; exempt from erasure: docs/design.md §5; audit_log.py)."""

import uuid
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common import clock
from services.common.config import MONGODB_CA_FILE_KEY
from services.common.errors import Conflict
from services.common.settings import for_container
from services.common.store import MongoStore, Storage, mongodb_tls

from .audit_log import AUDIT, ensure_audit_indexes
from .domain import personal_session_record
from .settings import AUDIT_URI_KEY

SESSION_LIFETIME = timedelta(hours=8)
#: A session nobody used for this long is over (issue 17).
SESSION_IDLE = timedelta(minutes=30)
#: How often a session's or a token's last use is written down (not on every request).
TOUCH_EVERY = timedelta(seconds=60)
#: Tokens issued before tokens expired got this long from the migration on.
LEGACY_TOKEN_LIFETIME = timedelta(days=90)
#: Sign-in failures are counted in a window of this length (handlers/sessions.py).
FAILURE_WINDOW = timedelta(minutes=15)


class GatewayStorage(Storage):
    def __init__(self, provider):
        super().__init__(provider)
        self.audit_log = provider.audit_log

    @classmethod
    def ensure_indexes(cls, db):
        db.accounts.create_index("email", unique=True)
        db.accounts.create_index("referrer_id")
        db.sessions.create_index("expires_at", expireAfterSeconds=0)
        db.tokens.create_index("token_id", unique=True, sparse=True)
        db.tokens.create_index("expires_at", expireAfterSeconds=0)
        db.login_failures.create_index("last_at", expireAfterSeconds=int(FAILURE_WINDOW.total_seconds()) * 2)
        db.personal_sessions.create_index("expires_at", expireAfterSeconds=0)
        db.personal_sessions.create_index("registration_id")
        # Tokens issued before tokens expired: 90 days from this migration on, and an id to revoke them by.
        for legacy in db.tokens.find({"expires_at": {"$exists": False}}, {"_id": 1}):
            db.tokens.update_one(
                {"_id": legacy["_id"], "expires_at": {"$exists": False}},
                {"$set": {"expires_at": clock.now() + LEGACY_TOKEN_LIFETIME, "token_id": new_token_id()}},
            )

    # accounts
    def add_account(self, account):
        try:
            self.db.accounts.insert_one(account)
        except DuplicateKeyError:
            raise Conflict("an account with this e-mail address exists") from None
        return account

    def account(self, account_id):
        return self.db.accounts.find_one({"_id": account_id, "active": True})

    def account_by_email(self, email):
        return self.db.accounts.find_one({"email": email.strip().lower(), "active": True})

    def account_by_referrer_id(self, referrer_id):
        return self.db.accounts.find_one({"referrer_id": referrer_id, "role": "referrer", "active": True})

    # API tokens (stored as digests; `token_id` names one without being it)
    def add_token(self, token_digest, account_id, label, expires_at):
        token_id = new_token_id()
        self.db.tokens.insert_one(
            {
                "_id": token_digest,
                "token_id": token_id,
                "account_id": account_id,
                "label": label,
                "created_at": clock.now(),
                "expires_at": expires_at,
                "last_used_at": None,
            }
        )
        return token_id

    def account_for_token(self, token_digest):
        token = self.db.tokens.find_one({"_id": token_digest})
        now = clock.now()
        if token is None or token["expires_at"] <= now:
            return None
        if token.get("last_used_at") is None or token["last_used_at"] <= now - TOUCH_EVERY:
            self.db.tokens.update_one({"_id": token_digest}, {"$set": {"last_used_at": now}})
        return self.account(token["account_id"])

    def tokens(self):
        return list(self.db.tokens.find({"expires_at": {"$gt": clock.now()}}, {"_id": 0}).sort("created_at", ASCENDING))

    def revoke_token(self, token_id):
        """The token's record, deleted (None if there was none)."""
        return self.db.tokens.find_one_and_delete({"token_id": token_id}, projection={"_id": 0})

    # sessions (stored as digests)
    def add_session(self, session_digest, account_id, csrf_token):
        now = clock.now()
        self.db.sessions.insert_one(
            {
                "_id": session_digest,
                "account_id": account_id,
                "csrf": csrf_token,
                "expires_at": now + SESSION_LIFETIME,
                "last_seen_at": now,
            }
        )

    def session(self, session_digest):
        """The session, if it lives and was used within SESSION_IDLE; this use is written down."""
        found = self.db.sessions.find_one({"_id": session_digest})
        now = clock.now()
        if found is None or found["expires_at"] <= now or found.get("last_seen_at", now) <= now - SESSION_IDLE:
            return None
        if found.get("last_seen_at", now) <= now - TOUCH_EVERY:
            self.db.sessions.update_one({"_id": session_digest}, {"$set": {"last_seen_at": now}})
        return found

    def drop_session(self, session_digest):
        self.db.sessions.delete_one({"_id": session_digest})

    # personal sessions (stored as digests): a person on their own page, by the link they opened
    def add_personal_session(self, session_digest, registration_id, csrf_token, now):
        self.db.personal_sessions.insert_one(personal_session_record(session_digest, registration_id, csrf_token, now))

    def personal_session(self, session_digest):
        return self.db.personal_sessions.find_one({"_id": session_digest})

    def touch_personal_session(self, session_digest, now):
        self.db.personal_sessions.update_one({"_id": session_digest}, {"$set": {"seen_at": now}})

    def drop_personal_session(self, session_digest):
        self.db.personal_sessions.delete_one({"_id": session_digest})

    def drop_personal_sessions(self, registration_id):
        self.db.personal_sessions.delete_many({"registration_id": registration_id})

    # sign-in failures, by the digest of the e-mail address as submitted
    def sign_in_failures(self, key):
        """The failures within the window, oldest first."""
        found = self.db.login_failures.find_one({"_id": key})
        now = clock.now()
        return [moment for moment in (found["at"] if found else []) if moment > now - FAILURE_WINDOW]

    def add_sign_in_failure(self, key, at):
        """Record one failure; returns the failures within the window, this one included."""
        found = self.db.login_failures.find_one_and_update(
            {"_id": key},
            {"$push": {"at": {"$each": [at], "$slice": -20}}, "$set": {"last_at": at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return [moment for moment in found["at"] if moment > at - FAILURE_WINDOW]

    def clear_sign_in_failures(self, key):
        self.db.login_failures.delete_one({"_id": key})

    # audit log: entries inserted through the audit client (audit_log.py), read through this one
    def audit(self, entry):
        self.audit_log.insert_one(dict(entry))

    def audit_entries(self, subject_id=None, limit=200):
        query = {"subject_id": subject_id} if subject_id else {}
        return list(self.db[AUDIT].find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit))


class GatewayStore(MongoStore):
    """The shared Mongo provider, plus the client the audit entries are inserted through: its own
    database user with insert on `audit` alone (GATEWAY_AUDIT_MONGODB_URI) in production; locally,
    unset, the one client, which then makes the log's indexes too (in production a Job does)."""

    def __init__(self):
        super().__init__(GatewayStorage)
        self.audit_client = None
        self.audit_log = None

    def setup(self):
        super().setup()
        settings = for_container(self.container)
        uri = settings.get_optional(AUDIT_URI_KEY)
        if not uri:
            ensure_audit_indexes(self.db)
            self.audit_log = self.db[AUDIT]
            return
        self.audit_client = MongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=5000,
            uuidRepresentation="standard",
            **mongodb_tls(settings.get_optional(MONGODB_CA_FILE_KEY)),
        )
        self.audit_log = self.audit_client[self.db.name][AUDIT]

    def stop(self):
        super().stop()
        if self.audit_client is not None:
            self.audit_client.close()
            self.audit_client = None

    kill = stop


def new_token_id():
    return f"tok-{uuid.uuid4().hex[:16]}"
