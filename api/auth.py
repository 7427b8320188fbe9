"""Who is calling: API keys (header) and web sessions (signed cookie) as FastAPI dependencies.

Every route but ``/health`` and ``/ready`` takes one of these, in one line::

    def route(key: ViewerKey, ...)            # viewer, analyst or admin may call it
    def route(key: AnalystKey, ...)           # analyst or admin
    def route(key: AdminKey, ...)             # admin only
    router = APIRouter(dependencies=[Depends(require("viewer"))])   # a whole router
    def page(key: PageViewer, ...)            # a web page: no session -> redirect to /login

A key comes in ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (or, for browsers, in
the signed session cookie set by ``/login``, which names the key id and is checked against the
store on every request, so revoking the key ends its sessions at once). Missing or invalid:
401; a role below the route's: 403. A state-changing request (POST, PATCH, DELETE...) that
signs in with the session cookie must also carry the session's CSRF token in
``X-CSRF-Token`` (``csrf_token(request)``, put in every page's ``<meta name="csrf-token">``):
403 otherwise. ``key.scope`` / ``key.sees(portfolio)`` tell routes which
portfolios the caller may see (``None``: all).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, cast
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from risk_model.config import Settings
from risk_model.keys import ROLES, ApiKey, KeyRing, Role

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AdminKey",
    "AnalystKey",
    "LoginRequired",
    "PageAdmin",
    "PageAnalyst",
    "PageViewer",
    "ViewerKey",
    "check_csrf",
    "check_same_origin",
    "csrf_token",
    "current_key",
    "install_auth",
    "page_require",
    "require",
]

SESSION_COOKIE = "pmo_risk_session"
_SESSION_SALT = "pmo-risk-session"
CSRF_HEADER = "X-CSRF-Token"
"""Where pages' JavaScript sends the session's CSRF token (from ``<meta name="csrf-token">``)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <key>` with a key from `pmo-risk keys create`.",
)
_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="`X-API-Key: <key>` (same keys as the bearer scheme).",
)


class LoginRequired(Exception):
    """A web page was asked for without a session: redirect to ``/login``."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url
        super().__init__(next_url)


# -- app state ---------------------------------------------------------------------------------
def session_secret(settings: Settings) -> str:
    """The cookie-signing secret: from settings, else a random one kept in ``home`` (0600)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.home) / "session.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


def signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SESSION_SALT)


def get_keyring(request: Request) -> KeyRing:
    return cast(KeyRing, request.app.state.keyring)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="pmo-risk"'},
    )


# -- sessions ----------------------------------------------------------------------------------
def session_cookie(request: Request, key: ApiKey) -> str:
    """A signed cookie value naming ``key`` (the secret itself is never put in a cookie) and a
    random nonce, so each sign-in is a new session with its own CSRF token."""
    sig = cast(URLSafeTimedSerializer, request.app.state.session_signer)
    return sig.dumps({"k": key.key_id, "n": secrets.token_urlsafe(12)})


def session_key(request: Request) -> ApiKey | None:
    """The active key of a valid, unexpired session cookie, else None."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    sig = cast(URLSafeTimedSerializer, request.app.state.session_signer)
    settings = cast(Settings, request.app.state.settings)
    try:
        data = sig.loads(raw, max_age=settings.session_max_age)
    except BadSignature:  # also SignatureExpired
        return None
    key_id = data.get("k") if isinstance(data, dict) else None
    if not isinstance(key_id, str):
        return None
    return get_keyring(request).active(key_id)


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session ("" without a session cookie).

    An HMAC of the signed cookie value under a key derived from the session secret: one token
    per sign-in, never stored, unknowable to another site (it cannot read our pages, and the
    cookie is HttpOnly).
    """
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return ""
    key = cast(bytes, request.app.state.csrf_key)
    return hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request) -> None:
    """403 unless a state-changing request authenticated by the session cookie carries its
    session's token in ``X-CSRF-Token`` (API-key requests never need it)."""
    if request.method in SAFE_METHODS:
        return
    expected = csrf_token(request)
    presented = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=(
                f"a change made with the sign-in cookie needs the page's {CSRF_HEADER} header "
                "(cross-site request forgery check); reload the page and try again, or send "
                "an API key instead"
            ),
        )


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request) -> None:
    """403 when a browser says the request comes from another site (``Origin``, else
    ``Referer``): guards the forms that have no session yet (sign-in, sign-out) against
    cross-site posting. A request with neither header (a script, a privacy setting) passes.
    """
    ours = _origin_of(str(request.base_url))
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        claimed = _origin_of(referer) if referer else None
        if origin is None and claimed is None:
            return
    else:
        claimed = _origin_of(origin)
    if claimed != ours:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="a sign-in or sign-out form must be posted from this site's own pages",
        )


# -- dependencies ------------------------------------------------------------------------------
def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


async def current_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    """The caller's active key (header first, then session cookie); 401 when none is valid."""
    presented = _presented(bearer, header)
    if presented is not None:
        keyring = get_keyring(request)
        if keyring.verified_before(presented):  # a database read: on the event loop
            key = keyring.authenticate(presented)
        else:  # scrypt (tens of ms): never on the event loop
            key = await run_in_threadpool(keyring.authenticate, presented)
        if key is None:
            raise _unauthorized("invalid or revoked API key")
    else:
        key = session_key(request)
        if key is None:
            raise _unauthorized(
                "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'"
            )
        check_csrf(request)
    request.state.api_key = key
    return key


def require(role: Role) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting keys of ``role`` or above (403 otherwise)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(key: Annotated[ApiKey, Depends(current_key)]) -> ApiKey:
        if not key.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {role} role; the key {key.key_id!r} is {key.role}",
            )
        return key

    dependency.__name__ = f"require_{role}"
    return dependency


def _page_key(request: Request) -> ApiKey:
    """A browser's key: a session cookie (or a header, for scripts); else LoginRequired."""
    header = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    presented = auth[7:].strip() if auth.lower().startswith("bearer ") else header
    key = get_keyring(request).authenticate(presented) if presented else session_key(request)
    if key is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if not presented:
        check_csrf(request)
    request.state.api_key = key
    return key


def page_require(role: Role) -> Callable[..., ApiKey]:
    """Like ``require`` for HTML pages: no session redirects to ``/login?next=...``."""

    def dependency(key: Annotated[ApiKey, Depends(_page_key)]) -> ApiKey:
        if not key.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this page needs the {role} role"
            )
        return key

    dependency.__name__ = f"page_require_{role}"
    return dependency


ViewerKey = Annotated[ApiKey, Depends(require("viewer"))]
AnalystKey = Annotated[ApiKey, Depends(require("analyst"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
PageViewer = Annotated[ApiKey, Depends(page_require("viewer"))]
PageAnalyst = Annotated[ApiKey, Depends(page_require("analyst"))]
PageAdmin = Annotated[ApiKey, Depends(page_require("admin"))]


def safe_next(url: str | None) -> str:
    """A same-site path to go back to after login (never another host): default ``/``."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


async def _login_redirect(request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(
        f"/login?next={quote(safe_next(exc.next_url), safe='/')}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


def install_auth(app: FastAPI, settings: Settings) -> None:
    """The page redirect handler; the keyring and signer are set by the lifespan."""
    app.add_exception_handler(LoginRequired, _login_redirect)


def start_auth(app: FastAPI, settings: Settings, keyring: KeyRing) -> None:
    """Put the keyring and the session signer on ``app.state`` (called by the lifespan)."""
    secret = session_secret(settings)
    app.state.keyring = keyring
    app.state.session_signer = signer(secret)
    app.state.csrf_key = hashlib.sha256(f"pmo-risk-csrf:{secret}".encode()).digest()
