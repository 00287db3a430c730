"""Pictures of what a learner receives, for ``make demo``: the HTML e-mail and the credential page as
headless Chromium draws them, and the PDF's first page as pdftoppm draws it; plus the checks a person
would make on them (the QR code leads to the page, the PDF's seal holds).
"""
from __future__ import annotations

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
