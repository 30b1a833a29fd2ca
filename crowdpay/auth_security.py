"""Staff sign-in to the admin: a second factor when `ADMIN_REQUIRE_OTP` is on, and an idle timeout.

Throttling and lockout of password guesses are django-axes' (`AxesStandaloneBackend` first among the
authentication backends, `AxesMiddleware` answering a lockout; settings `AXES_*` in base.py). The TOTP
factor is django-otp's: the admin site here is Django's own with its login form and permission check
swapped for django-otp's when the setting asks for it, so `admin.site` and every registration stay
as they are, and tests and `make run` sign in with a password alone. Production turns it on.

The idle timeout only concerns /admin: an API caller holds a bearer token and no session at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminAuthenticationForm

LAST_SEEN_KEY = "_admin_last_seen"


class StaffAdminSite(admin.AdminSite):
    """The default admin site (`crowdpay.admin_apps.StaffAdminConfig`): with `ADMIN_REQUIRE_OTP` on,
    only a user verified by a TOTP device in this session may use it, and the login page asks for
    the device and its token after the password."""

    @property
    def login_form(self):  # type: ignore[override]
        return OTPAdminAuthenticationForm if settings.ADMIN_REQUIRE_OTP else None

    @property
    def login_template(self):  # type: ignore[override]
        return "otp/admin111/login.html" if settings.ADMIN_REQUIRE_OTP else None

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_OTP or request.user.is_verified()  # type: ignore[union-attr]


class AdminIdleTimeoutMiddleware:
    """Log out an admin session idle for longer than `ADMIN_IDLE_TIMEOUT_SECONDS` (the next admin
    request goes to the login page, with a message). The last-seen time is written to the session at
    most every tenth of the timeout (and at most once a minute), not on every page: the timeout is
    that much coarse, and a page costs no session write."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            prefix = reverse("admin:index")
        except Exception:  # no admin mounted: nothing to time out
            return self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(prefix) and user is not None and user.is_authenticated:
            timeout = settings.ADMIN_IDLE_TIMEOUT_SECONDS
            now = time.time()
            last = request.session.get(LAST_SEEN_KEY)
            if last is not None and now - float(last) > timeout:
                auth.logout(request)  # flushes the session
                messages.warning(request, "You were signed out after a period of inactivity. Please sign in again.")
                login = reverse("admin:login")
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
            if last is None or now - float(last) >= min(60.0, timeout / 10):
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
