"""Who is asking: the visitor's address behind the load balancer."""

import ipaddress

from django.conf import settings


def client_ip(request):
    """The visitor's IP address, for limiting sign-in attempts.

    Behind DJANGO_TRUSTED_PROXY_COUNT proxies, each appends the address it received the
    request from to X-Forwarded-For, so the visitor's is that many entries from the right;
    entries further left were written by the client and are not to be trusted. Without
    proxies, or when the header is short or malformed, REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a sign-in refused for too many failures: 429, with when to
    try again both for people (the page) and for clients (Retry-After)."""
    from axes.helpers import get_client_username, get_cool_off
    from django.contrib import admin
    from django.shortcuts import render

    cool_off = get_cool_off(request)
    response = render(
        request,
        "admin/locked_out.html",
        {
            **admin.site.each_context(request),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "username": get_client_username(request, credentials) or "",
            "minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
        },
        status=429,
    )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class BaselineHeadersMiddleware:
    """The security headers on every response, including those answered before Django's own
    middleware runs or instead of it: the health checks, static files (WhiteNoise), and the
    400 for a wrong Host. A header a later middleware or a view has set is kept; this only
    fills in what is missing, with the site's own policy (settings.SECURE_CSP without a
    nonce, so no inline script runs on a page that did not ask for one).

    Placed first in MIDDLEWARE, so it sees every response last.
    """

    def __init__(self, get_response):
        from django.utils.csp import CSP, build_policy

        self.get_response = get_response
        self.headers = {
            str(CSP.HEADER_ENFORCE): build_policy(settings.SECURE_CSP, None),
            "X-Frame-Options": settings.X_FRAME_OPTIONS,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": settings.SECURE_REFERRER_POLICY,
            "Cross-Origin-Opener-Policy": settings.SECURE_CROSS_ORIGIN_OPENER_POLICY,
        }

    def __call__(self, request):
        response = self.get_response(request)
        for header, value in self.headers.items():
            response.headers.setdefault(header, value)
        return response
