"""Package the Moodle plugin as an installable zip: ``python build_zip.py [-o local_edcbridge.zip]``.

Moodle's plugin installer wants one top-level folder named after the plugin (``edcbridge/`` for
``local_edcbridge``). Entries are sorted and carry one fixed date, so the same sources always give
the same zip (reproducible, easy to checksum).
"""
from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent / "edcbridge"
TOP_FOLDER = "edcbridge"
COMPONENT = "local_edcbridge"
FIXED_DATE = (2026, 1, 1, 0, 0, 0)


def plugin_files(root: Path = PLUGIN_DIR) -> list[Path]:
    """Every file to ship: no hidden files, no editor or cache leftovers."""
    def shipped(path: Path) -> bool:
        parts = path.relative_to(root).parts
        return (path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in parts)
                and not path.name.endswith(("~", ".swp", ".orig")))

    return sorted(p for p in root.rglob("*") if shipped(p))


def check_version(root: Path = PLUGIN_DIR) -> str:
    """Refuse to package a plugin whose version.php names another component; return its version."""
    text = (root / "version.php").read_text(encoding="utf-8")
    if f"$plugin->component = '{COMPONENT}';" not in text:
        raise SystemExit(f"version.php does not declare {COMPONENT}")
    match = re.search(r"\$plugin->version\s*=\s*(\d{10});", text)
    if not match:
        raise SystemExit("version.php has no 10-digit $plugin->version")
    return match.group(1)


def build(output: Path, root: Path = PLUGIN_DIR) -> list[str]:
    """Write the zip and return its entry names."""
    check_version(root)
    names = []
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in plugin_files(root):
            name = f"{TOP_FOLDER}/{path.relative_to(root).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build local_edcbridge.zip for Moodle's plugin installer.")
    parser.add_argument("-o", "--output", type=Path, default=Path("local_edcbridge.zip"))
    args = parser.parse_args(argv)
    names = build(args.output)
    print(f"{args.output}: {len(names)} files, version {check_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
