"""Who may open admin pages, and the same-origin rule for the dashboard's writes."""
from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from flask import abort, request
from flask_login import current_user

from app.extensions import login_manager
from app.security.proxies import public_origin

F = TypeVar("F", bound=Callable)


def admin_refusal():
    """None for a signed-in admin; otherwise the response to give instead."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # redirect to the sign-in page (HTML)
    if not current_user.is_admin:
        abort(403)
    return None


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args, **kwargs):
        refusal = admin_refusal()
        if refusal is not None:
            return refusal
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def same_origin() -> bool:
    """True if the browser says the request comes from a page of this site.

    Browsers send ``Origin`` on every POST/DELETE (fetch, XHR and forms alike);
    older ones may send only ``Referer``. A request with neither is refused:
    a state change must prove where it comes from.
    """
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}" == public_origin()  # EXTERNAL_URL when set, never a forged Host
