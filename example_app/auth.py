"""Authentication: personal access tokens for API clients, a session login for the browser.

API clients (the ``mlflow`` client among them) send one of

* ``Authorization: Bearer <token>`` (what ``MLFLOW_TRACKING_TOKEN`` produces),
* ``PRIVATE-TOKEN: <token>``,
* ``Authorization: Basic base64(username:password_or_token)`` (what
  ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` produce).

Tokens are stored only as SHA-256 digests: a token is looked up by its digest and the match is
confirmed with :func:`hmac.compare_digest`. Credentials that do not check out yield no user
(never a fallback to the browser session), so the registry answers 401. Neither tokens nor
passwords are ever logged.

Requests without credentials fall back to the browser session, whose cookie is
``SameSite=Lax``: other sites cannot make a browser send it with a POST, PUT, PATCH or DELETE.
The host's own forms also carry a CSRF token bound to the session.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import Authorization, Headers

from .models import PersonalAccessToken, User, db, hash_token, utcnow

__all__ = [
    "CSRF_FIELD",
    "Caller",
    "bp",
    "csrf_token",
    "current_user",
    "has_api_credentials",
    "load_request_user",
    "protect_form_posts",
    "record_token_use",
    "safe_next",
    "user_from_headers",
    "user_from_token",
]

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

#: Session key of the signed-in user's id and of the CSRF token.
SESSION_USER_KEY = "user_id"
CSRF_SESSION_KEY = "_csrf_token"
#: Form field (or ``X-CSRF-Token`` header) that must echo the session's CSRF token.
CSRF_FIELD = "csrf_token"
#: ``last_used_at`` is written at most this often per token, not on every API call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

_USED_TOKEN_KEY = "_used_token_id"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# --- API credentials ---------------------------------------------------------------------------

class Caller(NamedTuple):
    """Whom an API request acts as: the id and name of a user, read along with the token."""

    id: int
    username: str


#: A token and its owner's id and name in one query; built once, as every API request runs it.
_TOKEN_AND_OWNER = (
    select(
        PersonalAccessToken.id,
        PersonalAccessToken.token_hash,
        PersonalAccessToken.last_used_at,
        User.id.label("user_id"),
        User.username,
    )
    .join(User, User.id == PersonalAccessToken.user_id)
    .where(PersonalAccessToken.token_hash == bindparam("digest"))
)


def user_from_token(plain: str) -> Caller | None:
    """The owner of the personal access token ``plain``, or ``None``."""
    if not plain:
        return None
    digest = hash_token(plain)
    row = db.session.execute(_TOKEN_AND_OWNER, {"digest": digest}).one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    # Remembered so that record_token_use stamps last_used_at once the request is done.
    g.setdefault(_USED_TOKEN_KEY, (row.id, row.last_used_at))
    return Caller(row.user_id, row.username)


def _user_from_basic(username: str, secret: str) -> Caller | None:
    """Basic credentials: a token of ``username``, or ``username``'s password."""
    if not username or not secret:
        return None
    token_user = user_from_token(secret)
    if token_user is not None:
        same = hmac.compare_digest(token_user.username.encode(), username.encode())
        return token_user if same else None
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is not None and user.check_password(secret):
        return Caller(user.id, user.username)
    return None


def has_api_credentials(headers: Headers | Mapping[str, str]) -> bool:
    """Whether the request carries ``Authorization`` or ``PRIVATE-TOKEN`` credentials."""
    return bool(headers.get("Authorization") or headers.get("PRIVATE-TOKEN"))


def user_from_headers(headers: Headers | Mapping[str, str]) -> Caller | None:
    """The user the request's API credentials name, or ``None`` if absent or invalid."""
    private_token = headers.get("PRIVATE-TOKEN")
    if private_token:
        return user_from_token(private_token.strip())
    auth = Authorization.from_header(headers.get("Authorization"))
    if auth is None:
        return None
    if auth.type == "bearer" and auth.token:
        return user_from_token(auth.token.strip())
    if auth.type == "basic":
        return _user_from_basic(auth.get("username") or "", auth.get("password") or "")
    return None


def current_user() -> User | None:
    """The user signed in through the browser session, or ``None``."""
    if "_session_user" not in g:
        user_id = session.get(SESSION_USER_KEY)
        g._session_user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    user: User | None = g._session_user
    return user


def load_request_user() -> User | Caller | None:
    """The caller of the current request: API credentials when present, else the session."""
    if has_api_credentials(request.headers):
        return user_from_headers(request.headers)
    return current_user()


def record_token_use(response: Response) -> Response:
    """``after_request``: stamp ``last_used_at`` of the token the request used (throttled).

    The write happens once the response is closed, on its own connection, when the request's
    session and whatever transaction the registry ran are gone; a failure only costs the
    timestamp.
    """
    used = g.pop(_USED_TOKEN_KEY, None)
    if used is None:
        return response
    token_id, last_used_at = used
    now = utcnow()
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        response.call_on_close(functools.partial(_stamp_last_used, db.engine, token_id, now))
    return response


def _stamp_last_used(engine: Engine, token_id: int, when: dt.datetime) -> None:
    try:
        with engine.begin() as connection:
            connection.execute(
                update(PersonalAccessToken)
                .where(PersonalAccessToken.id == token_id)
                .values(last_used_at=when)
            )
    except SQLAlchemyError:
        logger.warning("Could not record the last use of token %s.", token_id, exc_info=True)


# --- Browser session, CSRF ---------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, created on first use; forms echo it in ``csrf_token``."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def protect_form_posts() -> None:
    """``before_request`` of the host's blueprints: refuse unsafe requests without the token."""
    if request.method not in _UNSAFE_METHODS:
        return
    expected = session.get(CSRF_SESSION_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not expected or not sent:
        abort(400, description="The form is missing its CSRF token; reload the page and retry.")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form's CSRF token is invalid; reload the page and retry.")


bp.before_request(protect_form_posts)


def safe_next(target: str | None) -> str | None:
    """``target`` as a path on this site, or ``None`` if it points anywhere else."""
    if not target or any(ch in target for ch in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = db.session.execute(
            select(User).where(User.username == username)
        ).scalar_one_or_none()
        if user is not None and user.check_password(password):
            session.clear()  # a fresh session: no fixation, a new CSRF token
            session[SESSION_USER_KEY] = user.id
            return redirect(next_url or url_for("web.index"))
        flash("Invalid username or password.", "error")
        return render_template("login.html", next=next_url, username=username)
    return render_template("login.html", next=next_url, username="")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("web.index"))
