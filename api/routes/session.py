"""Web sign-in: ``/login`` takes an API key and sets a signed session cookie; ``/logout``.

The cookie names the key id only (signed, HttpOnly, SameSite=Lax, Secure over https) and is
checked against the store on every request, so a revoked key's sessions end at once. Both forms
refuse a post another site makes (``check_same_origin``: login CSRF, forced sign-out).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import (
    SESSION_COOKIE,
    check_same_origin,
    get_keyring,
    safe_next,
    session_cookie,
)
from risk_model.config import Settings

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - pmo-risk</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}}
.error{{color:#b00020}}</style></head>
<body><h1>pmo-risk</h1><p>Sign in with an API key (<code>pmo-risk keys create</code>).</p>
{error}<form method="post" action="/login">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button></form></body></html>"""


def _page(next_url: str, error: str | None = None, code: int = 200) -> HTMLResponse:
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return HTMLResponse(
        _PAGE.format(error=err, next=escape(safe_next(next_url), quote=True)),
        status_code=code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(next: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    return _page(next)


@router.post("/login", response_model=None, dependencies=[Depends(check_same_origin)])
def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    record = get_keyring(request).authenticate(key)
    if record is None:
        return _page(next, "That key is not valid (or has been revoked).", code=401)
    settings: Settings = request.app.state.settings
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(request, record),
        max_age=settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout", response_model=None, dependencies=[Depends(check_same_origin)])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
