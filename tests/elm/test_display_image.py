"""The displayDetail image is the learner's own certificate page, a valid PNG made fast from parts."""
from __future__ import annotations

import base64
import io
import os
import random
import zlib
from datetime import UTC, datetime

from PIL import Image

from bridge.documents import layout
from bridge.elm.assemble import assemble, display_languages
from bridge.elm.completion import Completion
from bridge.elm.display_image import WIDTH, adler32_combine
from bridge.elm.template import CourseTemplate

from .helpers import SAME_ORG


def _images(credential: dict) -> dict[str, Image.Image]:
    images = {}
    for display in credential["displayParameter"]["individualDisplay"]:
        [detail] = display["displayDetail"]
        data = base64.b64decode(detail["image"]["content"], validate=True)
        image = Image.open(io.BytesIO(data))
        image.load()  # decodes every row: checks the chunks' CRCs and the zlib stream
        images[display["language"]["id"].rsplit("/", 1)[1]] = image
        assert detail["image"]["contentType"]["id"].endswith("/PNG")
        _check_zlib_stream(data)
    return images


def _check_zlib_stream(png: bytes) -> None:
    """The IDAT chunks form one zlib stream whose Adler-32 matches (decompressobj checks it)."""
    stream, offset = b"", 8
    while offset < len(png):
        length = int.from_bytes(png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        if kind == b"IDAT":
            stream += png[offset + 8:offset + 8 + length]
        offset += 12 + length
    decompressor = zlib.decompressobj()
    decompressor.decompress(stream)
    assert decompressor.eof and not decompressor.unused_data


def _rows(image: Image.Image, top_mm: float, bottom_mm: float) -> bytes:
    scale = image.width / layout.PAGE_WIDTH_MM
    return image.convert("RGB").crop((0, round(top_mm * scale), image.width, round(bottom_mm * scale))).tobytes()


def test_the_page_image_carries_the_learners_name(template_dict, completion_dict):
    template = CourseTemplate.from_dict(template_dict)
    issuer = SAME_ORG
    camille = assemble(template, Completion.from_dict(completion_dict), issuer)
    completion_dict["learner"]["given_name"] = "Zoë"
    zoe = assemble(template, Completion.from_dict(completion_dict), issuer)
    first, second = _images(camille), _images(zoe)
    assert set(first) == {"ENG", "FRA"} and len(display_languages(template)) == 2
    for lang, image in first.items():
        assert image.width == WIDTH and image.mode == "P"
        other = second[lang]
        name = layout.NAME
        # Only the name's box differs between the two learners' pages...
        assert _rows(image, name.top, name.top + name.height) != _rows(other, name.top, name.top + name.height)
        assert _rows(image, 0, name.top) == _rows(other, 0, name.top)
        assert _rows(image, name.top + name.height, 297) == _rows(other, name.top + name.height, 297)
        # ...and it is inked in the template's colour (a blank frame would be paper only).
        band = Image.frombytes("RGB", (image.width, len(_rows(image, name.top, name.top + name.height)) // 3 //
                                       image.width), _rows(image, name.top, name.top + name.height))
        colours = {c for _, c in band.getcolors(maxcolors=4096)}
        assert (0x00, 0x33, 0x99) in colours and (255, 255, 255) in colours
        assert len(image.convert("RGB").getcolors(maxcolors=65536)) > 20


def test_award_date_and_grade_follow_the_learner(template_dict, completion_dict):
    template = CourseTemplate.from_dict(template_dict)
    issuer = SAME_ORG
    base = _images(assemble(template, Completion.from_dict(completion_dict), issuer))["FRA"]
    completion_dict["grade"]["score"] = 42
    completion_dict["completed_at"] = "2026-11-21T10:00:00Z"
    other = _images(assemble(template, Completion.from_dict(completion_dict), issuer))["FRA"]
    awarded = layout.AWARDED_ON
    assert _rows(base, awarded.top, awarded.top + awarded.height) != _rows(other, awarded.top,
                                                                             awarded.top + awarded.height)
    completion_dict["grade"]["score"] = 87.5
    same_day = _images(assemble(template, Completion.from_dict(completion_dict), issuer))["FRA"]
    assert _rows(same_day, awarded.top, awarded.top + awarded.height) != _rows(
        other, awarded.top, awarded.top + awarded.height)  # the grade too
    assert _rows(base, layout.NAME.top, layout.NAME.top + layout.NAME.height) == _rows(
        other, layout.NAME.top, layout.NAME.top + layout.NAME.height)


def test_the_same_learner_gets_the_same_bytes(template_dict, completion_dict):
    template = CourseTemplate.from_dict(template_dict)
    completion = Completion.from_dict(completion_dict)
    issued = datetime(2026, 11, 20, 12, tzinfo=UTC)
    one = assemble(template, completion, SAME_ORG, issued=issued)
    two = assemble(template, completion, SAME_ORG, issued=issued)
    assert one == two


def test_adler32_combine_matches_zlib() -> None:
    rng = random.Random(7)
    for _ in range(200):
        a, b = os.urandom(rng.randrange(0, 3000)), bytes(rng.randrange(0, 256) for _ in range(rng.randrange(0, 70000)))
        assert adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_the_award_line_is_in_the_readers_language():
    from bridge.documents.view import award_line

    assert award_line("fr", "20 novembre 2026", "87.5/100") == "Décerné le 20 novembre 2026 · Note : 87.5/100"
    assert award_line("de", "20. November 2026", "A") == "Verliehen am 20. November 2026 · Note: A"
    assert award_line("en", "20 November 2026", None) == "Awarded on 20 November 2026"
