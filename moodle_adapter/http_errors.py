"""Name why an HTTP request failed (refused, DNS, TLS, timeout), for both of the poller's clients.

"HTTP 0" or an exception class name tells an administrator nothing; the reason does.
"""
from __future__ import annotations

import requests

_CAUSES = (
    ("connection refused", "connection refused (nothing listens at that address and port)"),
    ("name or service not known", "DNS lookup failed (unknown host name)"),
    ("nodename nor servname", "DNS lookup failed (unknown host name)"),
    ("temporary failure in name resolution", "DNS lookup failed (no DNS answer)"),
    ("certificate verify failed", "TLS failure: the server's certificate is not trusted"),
    ("wrong version number", "TLS failure: the server does not speak TLS on that port (http:// instead?)"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("connection reset", "connection reset by the server"),
    ("remote end closed connection", "the server closed the connection without answering"),
)


def network_cause(exc: requests.RequestException) -> str:
    """A short, specific reason for a request that got no HTTP answer."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc).lower()
    for needle, cause in _CAUSES:
        if needle in text:
            return cause
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failure"
    return type(exc).__name__
