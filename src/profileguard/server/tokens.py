"""Signed, expiring tokens: subject login links, browser sessions and form CSRF tokens.

itsdangerous signs a payload with the server secret and a purpose-specific salt, and
refuses it after ``max_age``; a token for one use (login) is never accepted for another
(session, CSRF). Tokens carry the pseudonymous id only, never the person's own id.
"""

from __future__ import annotations

import hmac
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

LOGIN = "subject-login"
SUBJECT_SESSION = "subject-session"
STAFF_SESSION = "staff-session"
CSRF = "csrf"


class Signer:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _s(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=salt)

    def dumps(self, salt: str, payload: Any) -> str:
        return str(self._s(salt).dumps(payload))

    def loads(self, salt: str, token: str, max_age: int) -> Any | None:
        """The payload, or None when the token is forged, for another use or expired."""
        if not token or len(token) > 2000:
            return None
        try:
            return self._s(salt).loads(token, max_age=max_age)
        except BadSignature:  # SignatureExpired is a subclass
            return None

    def login_token(self, pid: str) -> str:
        return self.dumps(LOGIN, {"pid": pid})

    def subject_of(self, token: str, max_age: int) -> str | None:
        data = self.loads(LOGIN, token, max_age)
        pid = data.get("pid") if isinstance(data, dict) else None
        return pid if isinstance(pid, str) else None

    def csrf_for(self, session: str) -> str:
        """A form token bound to one session cookie (double submit, signed)."""
        return hmac.new(self.secret, f"{CSRF}:{session}".encode(), "sha256").hexdigest()

    def csrf_ok(self, session: str, token: str) -> bool:
        return bool(session) and hmac.compare_digest(self.csrf_for(session), token or "")
