"""The gateway's own database: accounts, API tokens, sessions and the audit log."""

from datetime import timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.common import clock
from services.common.errors import Conflict
from services.common.store import Storage

SESSION_LIFETIME = timedelta(hours=8)


class GatewayStorage(Storage):
    @classmethod
    def ensure_indexes(cls, db):
        db.accounts.create_index("email", unique=True)
        db.accounts.create_index("referrer_id")
        db.sessions.create_index("expires_at", expireAfterSeconds=0)
        db.audit.create_index([("subject_id", ASCENDING), ("at", DESCENDING)])

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

    # audit log
    def audit(self, entry):
        self.db.audit.insert_one(dict(entry))

    def audit_entries(self, subject_id=None, limit=200):
        query = {"subject_id": subject_id} if subject_id else {}
        return list(self.db.audit.find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit))
