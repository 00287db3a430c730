"""The page image of a credential (``displayDetail.image``): the learner's certificate page, fast.

EDC's viewer and the Europass wallet show this image as the document itself, so it is the first page
of the learner's PDF (``bridge.documents``) with their name, award date and grade. Laying out and
rasterising a page per learner would cost far more than sealing, so a template's page is rasterised
once per language (WeasyPrint, then pdfium) with the learner's boxes left blank
(``bridge.documents.layout.LEARNER_BOXES``), and each learner only costs drawing their name (and, once
per award day and grade, the line under it) into those boxes and compressing them:

- The PNG is palette-based (8 bits). Index 0 is the paper colour and two 15-step gradients (paper to
  the template's colour, paper to ink) carry anti-aliased text, so a glyph's coverage becomes its
  palette index with one ``bytes.translate``.
- Its image data is one zlib stream cut into independent deflate segments: the fixed rows are
  compressed once; a learner's box rows are compressed on their own (sync-flushed, so segments simply
  concatenate) and travel in their own ``IDAT`` chunk. The stream's Adler-32 is combined from the
  segments' (:func:`adler32_combine`), so no fixed row is read again.
- Every chunk is padded (empty stored deflate blocks) to a multiple of 3 bytes, so its base64 text is
  the same wherever it appears: the fixed parts are encoded once, and the sealed-file dictionary
  (``bridge.db.sealed_store``) matches them across credentials.
- Glyphs are rendered once per character (FreeType through Pillow) into cells as wide as their
  advance, stored transposed: a line of text is one ``b"".join`` of cells and one transpose. There is
  no kerning, which a page image does not need.

The name is drawn in the same place in every language, so it is rendered and compressed once per
credential; the line with the award date and the grade is made once per (day, grade) and shared.
``render`` must stay pure (same inputs, same bytes): compiled templates (``bridge.elm.compiled``)
prove they reproduce ``assemble``.
"""
from __future__ import annotations

import base64
import struct
import subprocess
import threading
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

WIDTH = 640  # pixels across the A4 page (about 77 dpi): EDC's own images are 794 wide
PAPER = (255, 255, 255)
INK = (0x1D, 0x23, 0x2B)
_LEVELS = 15  # anti-aliasing steps per gradient
_NAME_BASE, _INK_BASE, _FIXED_BASE = 1, 1 + _LEVELS, 32
_FIXED_COLOURS = 64  # for the rest of the page: plenty for text, rules and a logo, and 20 % smaller than 224
_STORED_EMPTY = b"\x00\x00\x00\xff\xff"  # an empty, non-final stored deflate block (5 bytes)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, no preset dictionary
_IEND = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
_ADLER_MOD = 65521


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of A + B from those of A and B and the length of B.

    Adler-32 is (B << 16) | A with A = 1 + sum of bytes and B = sum of the successive A values (both
    mod 65521). Appending B's bytes after A's adds A's ``a - 1`` to each of B's ``len(B)`` partial sums.
    """
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_MOD
    b = (b1 + b2 + second_length * (a1 - 1)) % _ADLER_MOD
    return (b << 16) | a


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_PADS = {0: 0, 1: 2, 2: 1}  # empty stored blocks that add 0, 10 or 5 bytes (5 ≡ 2 mod 3)


@dataclass(frozen=True)
class Piece:
    """A run of the image's rows as one IDAT chunk: its base64 text, and the Adler-32 and length of the
    raw rows it holds (for the stream's checksum)."""

    b64: bytes
    adler: int
    raw_length: int


def _deflate(raw: bytes, *, level: int, final: bool) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return compressor.compress(raw) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def _piece(raw: bytes, *, level: int = 9, prefix: bytes = b"", final: bool = False) -> Piece:
    """Rows as an IDAT chunk, padded to a multiple of 3 bytes; ``prefix`` (signature, IHDR, PLTE) goes
    first, and then the chunk opens the zlib stream."""
    body = _deflate(raw, level=level, final=final)
    start = _ZLIB_HEADER if prefix else b""
    overhead = len(prefix) + 12 + len(start) + len(body)  # 12: the chunk's length, type and CRC
    data = start + _STORED_EMPTY * _PADS[(-overhead) % 3] + body
    encoded = prefix + _chunk(b"IDAT", data)
    return Piece(base64.b64encode(encoded), zlib.adler32(raw), len(raw))


class _Glyphs:
    """One font at one size, in cells of the band's height: character -> (transposed cell, width)."""

    def __init__(self, font_path: str, size_px: float, height: int) -> None:
        from PIL import ImageFont

        self.font = ImageFont.truetype(font_path, size=max(4, round(size_px)))
        ascent, descent = self.font.getmetrics()
        self.height = height
        self.baseline = (height + ascent - descent) // 2
        self._cells: dict[str, tuple[bytes, int]] = {}

    def cell(self, char: str) -> tuple[bytes, int]:
        found = self._cells.get(char)
        if found is None:
            from PIL import Image, ImageDraw

            width = max(0, round(self.font.getlength(char)))
            image = Image.new("L", (max(width, 1), self.height), 0)
            if width:
                ImageDraw.Draw(image).text((0, self.baseline), char, font=self.font, fill=255, anchor="ls")
            transposed = image.transpose(Image.Transpose.TRANSPOSE).tobytes() if width else b""
            found = self._cells[char] = (transposed, width)
        return found

    def line(self, text: str) -> tuple[bytes, int]:
        """The text's columns (transposed) and its width in pixels."""
        cells = [self.cell(char) for char in text]
        return b"".join(c for c, _ in cells), sum(w for _, w in cells)


class _Band:
    """One learner box: text centred in rows ``box_top``..``box_top + box_rows``, in one gradient.

    Only the rows the font can ink (its ascent and descent, centred in the box) are redrawn; the rest
    of the box is blank and stays in the fixed parts of the image.
    """

    def __init__(self, box_top: int, box_rows: int, font_path: str, size_px: float, base: int) -> None:
        from PIL import ImageFont

        ascent, descent = ImageFont.truetype(font_path, size=max(4, round(size_px))).getmetrics()
        self.height = min(box_rows, ascent + descent)
        self.top = box_top + (box_rows - self.height) // 2
        self._sizes = [_Glyphs(font_path, size_px * f, self.height) for f in (1.0, 0.86, 0.74, 0.62)]
        self._lut = bytes([0] + [base + min(_LEVELS - 1, (a * _LEVELS) // 256) for a in range(1, 256)])
        self._lock = threading.Lock()

    def raw(self, text: str) -> bytes:
        """The band's scanlines (filter byte 0 + palette indices) with ``text`` drawn in the middle."""
        from PIL import Image

        text = unicodedata.normalize("NFC", " ".join(text.split()))
        with self._lock:  # the glyph caches are shared by the threads of a worker
            for glyphs in self._sizes:
                columns, width = glyphs.line(text)
                if width <= WIDTH - 24:
                    break
            else:
                while text and width > WIDTH - 24:
                    text = text[:-2] + "…"
                    columns, width = glyphs.line(text)
        canvas = Image.new("L", (WIDTH + 1, self.height), 0)  # column 0 becomes the PNG filter byte
        if width:
            line = Image.frombytes("L", (self.height, width), columns).transpose(Image.Transpose.TRANSPOSE)
            canvas.paste(line, (1 + (WIDTH - width) // 2, 0))
        return canvas.tobytes().translate(self._lut)


class PageImage:
    """One template's certificate page in one language, ready to be completed per learner."""

    def __init__(self, raster: Any, colour: tuple[int, int, int],
                 boxes: dict[str, tuple[int, int, float, str]]) -> None:
        """``raster``: the blank page (Pillow RGB image, ``WIDTH`` wide); ``boxes``: name -> (top row,
        rows, font size in pixels, font file) for ``name`` and ``awarded_on``."""
        from PIL import Image

        height = raster.height
        palette = [PAPER]
        palette += [_mix(colour, k / _LEVELS) for k in range(1, _LEVELS + 1)]
        palette += [_mix(INK, k / _LEVELS) for k in range(1, _LEVELS + 1)]
        palette += [PAPER] * (_FIXED_BASE - len(palette))
        quantised = raster.quantize(colors=_FIXED_COLOURS, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.NONE)
        fixed_palette = quantised.getpalette()[: 3 * _FIXED_COLOURS]
        palette += [tuple(fixed_palette[i:i + 3]) for i in range(0, len(fixed_palette), 3)]
        palette += [PAPER] * (256 - len(palette))
        indices = quantised.tobytes().translate(bytes((i + _FIXED_BASE) % 256 for i in range(256)))
        rows = [b"\x00" + indices[y * WIDTH:(y + 1) * WIDTH] for y in range(height)]
        order = sorted(boxes.items(), key=lambda item: item[1][0])
        self._bands: dict[str, _Band] = {}
        for name, (top, rows_count, size_px, font_path) in order:
            base = _NAME_BASE if name == "name" else _INK_BASE
            used = set(b"".join(rows[y][1:] for y in range(top, top + rows_count)))
            if any(min(palette[i]) < 245 for i in used):
                raise ValueError(f"the certificate page is not blank where the learner's {name} goes")
            self._bands[name] = _Band(top, rows_count, font_path, size_px, base)
        header = (_PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", WIDTH, height, 8, 3, 0, 0, 0))
                  + _chunk(b"PLTE", b"".join(bytes(c) for c in palette)))
        # Fixed pieces between the bands: (piece before band 1), (between 1 and 2), …, (after the last).
        self._order = [name for name, _ in order]
        self._fixed: list[Piece | None] = []
        start = 0
        for index, name in enumerate(self._order):
            band = self._bands[name]
            raw = b"".join(rows[start:band.top])
            self._fixed.append(_piece(raw, prefix=header if index == 0 else b"") if raw or index == 0 else None)
            start = band.top + band.height
        self._fixed.append(_piece(b"".join(rows[start:]), final=True))

    def band_piece(self, band: str, text: str, *, level: int = 3) -> Piece:
        """A learner box's chunk with ``text`` drawn in it (``level``: zlib's; 3 costs what 1 does here and
        saves 7 %, while 4 and above cost 2-60 times more)."""
        return _piece(self._bands[band].raw(text), level=level)

    def render(self, pieces: dict[str, Piece]) -> bytes:
        """The PNG as base64, with ``pieces[name]`` in each learner box."""
        out: list[bytes] = []
        adler = 1
        sequence: list[Piece] = []
        for index, name in enumerate(self._order):
            fixed = self._fixed[index]
            if fixed is not None:
                sequence.append(fixed)
            sequence.append(pieces[name])
        sequence.append(self._fixed[-1])
        for piece in sequence:
            out.append(piece.b64)
            adler = adler32_combine(adler, piece.adler, piece.raw_length)
        out.append(base64.b64encode(_chunk(b"IDAT", struct.pack(">I", adler)) + _IEND))
        return b"".join(out)


def _mix(colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(p + (c - p) * amount) for p, c in zip(PAPER, colour, strict=True))  # type: ignore[return-value]


@cache
def font_file(family: str) -> str:
    """The file fontconfig picks for ``family`` (e.g. "DejaVu Serif:bold"): the font WeasyPrint uses."""
    found = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True, check=False)
    if found.returncode != 0 or not found.stdout:
        raise RuntimeError(f"fontconfig finds no font for {family!r} (install fonts-dejavu-core)")
    return found.stdout


@cache
def placeholder_png_base64() -> str:
    """A 1×1 paper-coloured PNG: the image of the template credential a certificate page is made from."""
    raw = zlib.compress(b"\x00" + bytes(PAPER))
    png = (_PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + _chunk(b"IDAT", raw)
           + _IEND)
    return base64.b64encode(png).decode("ascii")


def hex_colour(value: str) -> tuple[int, int, int]:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


class LearnerImages:
    """The page images of one (template, issuer) in each display language, completed per learner."""

    def __init__(self, pages: dict[str, PageImage], line: Callable[[str, date, str | None], str]) -> None:
        self._pages = pages
        self._line = line  # (lang, award day in UTC, grade note) -> the award line
        self._pieces: OrderedDict[tuple[date, str | None], dict[str, Piece]] = OrderedDict()
        self._lock = threading.Lock()

    def _shared(self, day: date, grade_note: str | None) -> dict[str, Piece]:
        """The award line's box per language, made once per (day, grade) for all learners."""
        key = (day, grade_note)
        with self._lock:
            found = self._pieces.get(key)
            if found is not None:
                self._pieces.move_to_end(key)
                return found
        # Shared by many learners and stored in each sealed file: worth compressing well.
        found = {lang: page.band_piece("awarded_on", self._line(lang, day, grade_note), level=9)
                 for lang, page in self._pages.items()}
        with self._lock:
            self._pieces[key] = found
            while len(self._pieces) > 1024:
                self._pieces.popitem(last=False)
        return found

    def render(self, full_name: str, completed_at: datetime, grade_note: str | None) -> dict[str, bytes]:
        """Base64 PNG per language; the name's box is drawn and compressed once for all of them."""
        first = next(iter(self._pages.values()))
        name = first.band_piece("name", full_name)
        shared = self._shared(completed_at.astimezone(UTC).date(), grade_note)  # awardingDate is sealed in UTC
        return {lang: page.render({"name": name, "awarded_on": shared[lang]}) for lang, page in self._pages.items()}


_BUILT: OrderedDict[str, LearnerImages] = OrderedDict()
_BUILT_LOCK = threading.Lock()
_BUILDING = threading.Lock()  # one template's pages at a time: concurrent callers wait for the same build


def learner_images(key: str, build: Callable[[], LearnerImages]) -> LearnerImages:
    """The images of the template and issuer named by ``key`` (their JSON), built once per process
    (the 64 most recent are kept)."""
    with _BUILT_LOCK:
        found = _BUILT.get(key)
        if found is not None:
            _BUILT.move_to_end(key)
            return found
    with _BUILDING:
        with _BUILT_LOCK:
            found = _BUILT.get(key)
        if found is None:
            found = build()
        with _BUILT_LOCK:
            _BUILT[key] = found
            while len(_BUILT) > 64:
                _BUILT.popitem(last=False)
    return found
