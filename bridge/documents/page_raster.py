"""A template's certificate page rasterised once per language: the base of every learner's page image.

The page is the PDF's first page (``bridge.documents.pdf``) laid out from the template alone
(``view.from_template``: no learner, no credential id), rendered by pdfium at the image's width;
``bridge.elm.display_image`` then draws each learner's name, award date and grade into the boxes
``bridge.documents.layout.LEARNER_BOXES`` leaves blank, with the fonts WeasyPrint used there.
"""
from __future__ import annotations

import json
from datetime import date

from bridge.documents import layout
from bridge.documents.pdf import render_first_page
from bridge.documents.view import award_line, blank, date_words, from_template
from bridge.elm.display_image import WIDTH, LearnerImages, PageImage, font_file, hex_colour, learner_images
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate


def _raster(pdf: bytes):  # noqa: ANN202 - a Pillow image
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        scale = WIDTH / page.get_width()
        return page.render(scale=scale, draw_annots=False).to_pil().convert("RGB")
    finally:
        document.close()


def _font(box: layout.Box) -> str:
    family = "DejaVu Serif" if box.serif else "DejaVu Sans"
    return font_file(f"{family}:bold" if box.bold else family)


def page_image(template: CourseTemplate, issuer: Issuer, lang: str) -> PageImage:
    """The blank certificate page of ``template`` in ``lang``, ready for learners' values."""
    raster = _raster(render_first_page(blank(from_template(template, issuer, lang))))
    px_per_mm = raster.width / layout.PAGE_WIDTH_MM
    boxes = {}
    for name, box in layout.LEARNER_BOXES.items():
        top = round(box.top * px_per_mm)
        rows = round((box.top + box.height) * px_per_mm) - top
        boxes[name] = (top, rows, box.font_pt * 25.4 / 72 * px_per_mm, _font(box))
    return PageImage(raster, hex_colour(template.presentation.colour), boxes)


def _line(lang: str, day: date, grade_note: str | None) -> str:
    """The award line as the PDF prints it (``CredentialView.awarded_line``)."""
    return award_line(lang, date_words(day, lang), grade_note)


def template_images(template: CourseTemplate, issuer: Issuer, languages: list[str]) -> LearnerImages:
    """The page images of a template in its display languages (built once per process and template)."""
    key = json.dumps([template.to_dict(), issuer.eidas_identifier, issuer.legal_name, issuer.country,
                      languages], sort_keys=True, default=str)
    return learner_images(key, lambda: LearnerImages({lang: page_image(template, issuer, lang) for lang in languages},
                                                    _line))
