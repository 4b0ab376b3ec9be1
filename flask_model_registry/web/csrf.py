"""Session-bound CSRF tokens for the pages' forms."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from flask_model_registry.errors import InvalidParameter

__all__ = ["FIELD", "check_csrf", "csrf_token"]

#: Form field that must echo the session's token.
FIELD = "mr_csrf_token"
#: Session key, distinct from any token the host keeps for its own forms.
SESSION_KEY = "_model_registry_csrf"


def csrf_token() -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Refuse the current POST unless its form carries the session's token (400)."""
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not expected or not sent:
        raise InvalidParameter("The form is missing its CSRF token; reload the page and retry.")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise InvalidParameter("The form's CSRF token is invalid; reload the page and retry.")
