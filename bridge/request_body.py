"""A deadline on reading request bodies, so slow clients cannot hold the server's threads.

Every request body is read before authentication (the signature covers it), by one of the
server's threads. A client that sends its headers and then the body a byte at a time would keep
that thread for as long as it likes, and a few dozen such clients would leave ``/healthz`` and
everyone else waiting. :class:`BodyDeadline` gives each request ``EDC_BODY_TIMEOUT`` seconds for
its whole body: under gunicorn every read waits on the socket at most until the deadline; past it
the request is answered 408 (problem+json) and the connection closed.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyTimeout(Exception):
    """The client did not send its request body within the deadline."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class _DeadlineInput:
    """``wsgi.input`` whose reads end at a fixed deadline (socket timeouts set per read)."""

    def __init__(self, stream: Any, sock: socket.socket | None, deadline: float, seconds: int) -> None:
        self._stream = stream
        self._sock = sock
        self._deadline = deadline
        self._seconds = seconds

    def _call(self, method: str, *args: Any) -> Any:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._stop_reading()
            raise BodyTimeout(self._seconds)
        if self._sock is not None:
            self._sock.settimeout(remaining)
        try:
            return getattr(self._stream, method)(*args)
        except (TimeoutError, socket.timeout):  # noqa: UP041 - older servers raise the alias
            self._stop_reading()
            raise BodyTimeout(self._seconds) from None
        finally:
            if self._sock is not None:
                self._sock.settimeout(None)  # the server writes the answer and keeps connections its own way

    def _stop_reading(self) -> None:
        """Make the rest of the body read as its end: the server then answers and closes the connection
        instead of waiting for the remaining bytes (WSGI gives an application no other way to say so)."""
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already gone

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call("readlines", *args)

    def readinto(self, buffer: Any) -> int:
        if hasattr(self._stream, "readinto"):
            return self._call("readinto", buffer)
        data = self._call("read", len(buffer))  # gunicorn's body has read() only
        buffer[:len(data)] = data
        return len(data)

    def __iter__(self) -> _DeadlineInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class BodyDeadline:
    """WSGI middleware: the request body must arrive within ``seconds`` of the headers."""

    def __init__(self, app: WSGIApp, seconds: int) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None:
            sock = environ.get("gunicorn.socket")
            environ["wsgi.input"] = _DeadlineInput(stream, sock if isinstance(sock, socket.socket) else None,
                                                   time.monotonic() + self.seconds, self.seconds)
        return self.app(environ, start_response)
