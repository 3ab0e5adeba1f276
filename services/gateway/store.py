"""The gateway's own database: accounts, API tokens, sessions (staff's and personal) and the audit log."""

from datetime import timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.common import clock
from services.common.errors import Conflict
from services.common.store import Storage

from .domain import PERSONAL_SESSION_LONGEST

SESSION_LIFETIME = timedelta(hours=8)


class GatewayStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.accounts.create_index("email", unique=True)
        db.accounts.create_index("referrer_id")
        db.sessions.create_index("expires_at", expireAfterSeconds=0)
        db.audit.create_index([("subject_id", ASCENDING), ("at", DESCENDING)])
        db.personal_sessions.create_index("expires_at", expireAfterSeconds=0)
        db.personal_sessions.create_index("registration_id")

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

    # API tokens (stored as digests)
    def add_token(self, token_digest, account_id, label):
        self.db.tokens.insert_one(
            {"_id": token_digest, "account_id": account_id, "label": label, "created_at": clock.now()}
        )

    def account_for_token(self, token_digest):
        token = self.db.tokens.find_one({"_id": token_digest})
        return self.account(token["account_id"]) if token else None

    # sessions (stored as digests)
    def add_session(self, session_digest, account_id, csrf_token):
        self.db.sessions.insert_one(
            {
                "_id": session_digest,
                "account_id": account_id,
                "csrf": csrf_token,
                "expires_at": clock.now() + SESSION_LIFETIME,
            }
        )

    def session(self, session_digest):
        found = self.db.sessions.find_one({"_id": session_digest})
        if found is None or found["expires_at"] <= clock.now():
            return None
        return found

    def drop_session(self, session_digest):
        self.db.sessions.delete_one({"_id": session_digest})

    # personal sessions (stored as digests): a person on their own page, by the link they opened
    def add_personal_session(self, session_digest, registration_id, csrf_token, now):
        self.db.personal_sessions.insert_one(
            {
                "_id": session_digest,
                "registration_id": registration_id,
                "csrf": csrf_token,
                "started_at": now,
                "seen_at": now,
                "expires_at": now + PERSONAL_SESSION_LONGEST,
            }
        )

    def personal_session(self, session_digest):
        return self.db.personal_sessions.find_one({"_id": session_digest})

    def touch_personal_session(self, session_digest, now):
        self.db.personal_sessions.update_one({"_id": session_digest}, {"$set": {"seen_at": now}})

    def drop_personal_session(self, session_digest):
        self.db.personal_sessions.delete_one({"_id": session_digest})

    def drop_personal_sessions(self, registration_id):
        self.db.personal_sessions.delete_many({"registration_id": registration_id})

    # audit log
    def audit(self, entry):
        self.db.audit.insert_one(dict(entry))

    def audit_entries(self, subject_id=None, limit=200):
        query = {"subject_id": subject_id} if subject_id else {}
        return list(self.db.audit.find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit))
