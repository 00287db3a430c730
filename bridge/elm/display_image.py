"""The page image EDC's DisplayDetail requires, generated without any imaging library.

EDC renders each credential page as a JPEG; the SHACL shapes make ``displayDetail.image``
mandatory. This bridge does not render text, so it ships a deterministic neutral card (white
page, blue header band and frame) as a small PNG: viewers such as the Europass wallet render the
credential from its data anyway. The bytes are built once per process.
"""

from __future__ import annotations

import base64
import struct
import zlib
from functools import cache

WIDTH, HEIGHT = 640, 452
_WHITE = b"\xff\xff\xff"
_BLUE = b"\x00\x33\x99"
_GOLD = b"\xff\xcc\x00"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _row(y: int) -> bytes:
    if y < 8 or y >= HEIGHT - 8:
        return _BLUE * WIDTH
    if y < 96:
        return _BLUE * WIDTH if y < 88 else _GOLD * WIDTH
    return _BLUE * 8 + _WHITE * (WIDTH - 16) + _BLUE * 8


@cache
def card_png() -> bytes:
    raw = b"".join(b"\x00" + _row(y) for y in range(HEIGHT))
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


@cache
def card_png_base64() -> str:
    return base64.b64encode(card_png()).decode("ascii")
