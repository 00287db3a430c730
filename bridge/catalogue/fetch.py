"""Reading a partner's catalogue feed over HTTP, bounded in size, pages and time.

A harvest follows ``Link: <…>; rel="next"`` (RFC 8288) from page to page, as EDC Bridge's own
``/catalogue.jsonld`` and most paged publishers give it (the page's own ``hydra:next`` is followed too,
see :mod:`bridge.catalogue.read`). The first page is asked conditionally (``If-None-Match`` /
``If-Modified-Since`` from the last good harvest); a ``304`` means the feed is unchanged.

Every refusal is a :class:`Refused` whose reason names the limit or the HTTP fact, never the feed's
content, so it can be logged and shown to staff.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

JSON_TYPES = ("application/ld+json", "application/json")
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "EDC-Bridge-catalogue-harvester/1"


class Refused(Exception):
    """The feed is not harvested; ``kind`` is ``refused`` (its answer is unacceptable) or ``failed``
    (the partner could not be reached or answered an error)."""

    def __init__(self, reason: str, kind: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Page:
    url: str
    status: int  # 200, or 304 for an unchanged first page
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    next_url: str | None = None


class Fetcher:
    """GETs within one harvest's budget: ``max_bytes`` per page, all pages before ``deadline`` (monotonic)."""

    def __init__(self, *, max_bytes: int, timeout: float, session: requests.Session | None = None) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.session = session or requests.Session()
        self.session.max_redirects = MAX_REDIRECTS
        self.session.trust_env = False  # partners are reached directly, as configured

    def check_time(self) -> None:
        """:class:`Refused` once the harvest's time is up (also after the work that follows the reads)."""
        self._remaining()

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Refused(f"the feed took longer than {self.timeout:g} s")
        return left

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        headers = {"Accept": "application/ld+json, application/json;q=0.9", "User-Agent": USER_AGENT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        left = self._remaining()
        try:
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=True,
                                        timeout=(min(10.0, left), min(30.0, left)))
        except requests.TooManyRedirects:
            raise Refused(f"more than {MAX_REDIRECTS} redirects") from None
        except requests.Timeout:
            raise Refused(f"the feed took longer than {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise Refused(f"cannot reach the partner ({type(exc).__name__})", "failed") from None
        with response:
            if urlsplit(response.url).scheme not in ("http", "https"):
                raise Refused("redirected away from http(s)")
            if response.status_code == 304:
                return Page(url=response.url, status=304, etag=response.headers.get("ETag") or etag,
                            last_modified=response.headers.get("Last-Modified") or last_modified)
            if response.status_code != 200:
                kind = "failed" if response.status_code >= 500 or response.status_code == 429 else "refused"
                raise Refused(f"HTTP {response.status_code}", kind)
            media = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            if media not in JSON_TYPES and not media.endswith("+json"):
                raise Refused(f"answered {media[:60] or 'no media type'}, not JSON-LD")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise Refused(f"a page is larger than {self.max_bytes} bytes")
            body = self._read(response)
            link = response.links.get("next", {}).get("url")
            return Page(url=response.url, status=200, body=body, etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                        next_url=urljoin(response.url, link) if link else None)

    def _read(self, response: requests.Response) -> bytes:
        """The body, decoded, refused beyond ``max_bytes`` or the deadline. ``read1`` returns after one
        socket read, so a server dripping a byte at a time meets the deadline instead of holding us."""
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                size += len(chunk)
                if size > self.max_bytes:
                    raise Refused(f"a page is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
                self._remaining()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
                raise Refused(f"the feed took longer than {self.timeout:g} s") from None
            raise Refused(f"the answer broke off ({type(exc).__name__})", "failed") from None
        return b"".join(chunks)
