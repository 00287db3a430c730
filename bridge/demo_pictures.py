"""Pictures of what a learner receives, for ``make demo``: the HTML e-mail and the credential page as
headless Chromium draws them, and the PDF's first page as pdftoppm draws it; plus the checks a person
would make on them (the QR code leads to the page, the PDF's seal holds, a French reader meets no English
code-list label and no command to run).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("headless Chromium is needed for the pictures (Debian package chromium)")


def screenshot(url: str, path: Path, width: int, height: int) -> Path:
    """A picture of ``url`` as Chromium lays it out in a ``width`` × ``height`` window."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 f"--window-size={width},{height}", f"--screenshot={path}", url],
                                capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not path.exists():
        raise RuntimeError(f"Chromium could not take the picture of {url}: {result.stderr[-500:]}")
    _trim_bottom(path)
    return path


def _trim_bottom(path: Path, margin: int = 24) -> None:
    """Cut the empty window below the content (the window is taller than any page)."""
    from PIL import Image, ImageChops

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).getbbox()
    if box and box[3] + margin < rgb.height:
        rgb.crop((0, 0, rgb.width, box[3] + margin)).save(path)


def email_html(eml: Path, target: Path) -> Path:
    """The HTML part of an ``.eml`` file, saved as a page (it references nothing outside itself)."""
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = message.get_body(("html",))
    if body is None:
        raise RuntimeError(f"{eml} has no HTML part")
    target.write_text(body.get_content(), encoding="utf-8")
    return target


def pdf_first_page(pdf: Path, target: Path, dpi: int = 110) -> Path:
    """The PDF's first page as PNG, drawn by poppler's pdftoppm."""
    if not shutil.which("pdftoppm"):
        raise RuntimeError("pdftoppm is needed for the PDF picture (Debian package poppler-utils)")
    stem = target.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=120)
    return target


def qr_text(png: Path) -> list[str]:
    """What the QR codes in a picture say (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    with Image.open(png) as image:
        return [found.text for found in zxingcpp.read_barcodes(image.convert("L"))
                if found.format == zxingcpp.BarcodeFormat.QRCode]


def readable_text(html: str) -> str:
    """The words a reader sees in an HTML page or e-mail (tags, styles and scripts left out)."""
    from lxml import html as lxml_html

    doc = lxml_html.fromstring(html)
    for node in doc.xpath("//style|//script|//head/title"):
        node.drop_tree()
    return " ".join(doc.text_content().split())


def untranslated_labels(text: str, lang: str) -> list[str]:
    """English code-list labels (ISCED-F, EQF, mode, learning setting…) left in a text meant for ``lang``.

    Only labels whose translation differs from the English one count ("ECTS" is ECTS in French too);
    longest first, so "Software and applications development and analysis" is reported whole.
    """
    from bridge.elm import codelists
    from bridge.elm.vocabularies import DISPLAYED, label

    english = {uri: text for name in DISPLAYED for uri, text in codelists.load(name).labels.items() if text}
    found = []
    for uri, words in sorted(english.items(), key=lambda item: -len(item[1])):
        if len(words) > 3 and label(uri, lang) != words and re.search(rf"\b{re.escape(words)}\b", text, re.I):
            found.append(words)
    return found


COMMANDS = ("edc-bridge verify", "edc-bridge ", "python -m")


def commands_in(text: str) -> list[str]:
    """Command lines a learner is asked to run (they must be given a link instead)."""
    return [command.strip() for command in COMMANDS if command in text]
