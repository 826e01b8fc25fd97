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
