"""Where things sit on the certificate page (A4 portrait, millimetres from the top-left corner).

The page is laid out in fixed boxes rather than flowing text, so every language and every learner
puts the learner's values in the same place: the displayDetail image rasterises a template's page
once and only redraws these boxes per learner (``LEARNER_BOXES``).
"""
from __future__ import annotations

from dataclasses import dataclass

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210.0, 297.0


@dataclass(frozen=True)
class Box:
    """A horizontal band of the page: ``top`` and ``height`` in mm; text is centred in it."""

    top: float
    height: float
    font_pt: float
    serif: bool = False
    bold: bool = False

    def css(self) -> str:
        return f"top:{self.top}mm;height:{self.height}mm;line-height:{self.height}mm;font-size:{self.font_pt}pt"


HEADER = Box(0, 50, 15, bold=True)
KICKER = Box(64, 8, 10.5, bold=True)
TITLE = Box(73, 32, 21, serif=True, bold=True)
AWARDED_TO = Box(108, 7, 10.5)
NAME = Box(116, 17, 25, serif=True, bold=True)
AWARDED_ON = Box(138, 8, 10.5)  # "Awarded on <date> · Grade: <grade>"
FACTS_TOP = 158.0
OUTCOMES_TOP = 204.0
SIGNATURE_TOP = 250.0
FOOTER_TOP = 276.0
# The boxes that hold one learner's values (left blank on a template's page).
LEARNER_BOXES = {"name": NAME, "awarded_on": AWARDED_ON}
