"""OLX form of the credential block, readable in a course export and stable across import.

```xml
<edc_credential display_name="…" languages="en fr" ects="5" eqf_level="6" isced_f="0613"
                mode="online" learning_setting="non-formal" volume_hours="125" template_version="3">
  <title lang="en">…</title>
  <description lang="en">…</description>
  <outcome>
    <text lang="en">…</text>
    <skill uri="http://data.europa.eu/esco/skill/…"><label lang="en">…</label></skill>
  </outcome>
</edc_credential>
```
Nested texts are elements (not JSON in attributes) so translators and reviewers can read a diff.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

EXAMPLE = """<edc_credential display_name="European Digital Credential" languages="en fr" ects="5" eqf_level="6"
    isced_f="0613" mode="online" learning_setting="non-formal" volume_hours="125">
  <title lang="en">Data Analysis with Python</title>
  <title lang="fr">Analyse de données avec Python</title>
  <outcome>
    <text lang="en">Adapt to change at work</text>
    <text lang="fr">S'adapter au changement au travail</text>
    <skill uri="http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4">
      <label lang="en">adapt to change</label>
      <label lang="fr">s'adapter au changement</label>
    </skill>
  </outcome>
</edc_credential>"""

_SCALARS = {"display_name": str, "isced_f": str, "mode": str, "learning_setting": str,
            "ects": float, "volume_hours": float, "eqf_level": int, "template_version": int}


def _texts(node: Any, tag: str) -> dict[str, str]:
    return {child.get("lang"): (child.text or "").strip()
            for child in node.findall(tag) if child.get("lang") and (child.text or "").strip()}


def read(node: Any) -> dict[str, Any]:
    """Field values found in ``node``; absent attributes keep the field defaults."""
    values: dict[str, Any] = {}
    for name, kind in _SCALARS.items():
        raw = node.get(name)
        if raw is not None and raw != "":
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"edc_credential: attribute {name} is not a valid {kind.__name__}") from None
    if node.get("languages"):
        values["languages"] = node.get("languages").split()
    values["title"] = _texts(node, "title")
    values["description"] = _texts(node, "description")
    values["outcomes"] = [
        {"text": _texts(outcome, "text"),
         "esco_skills": [{"uri": skill.get("uri"), "labels": _texts(skill, "label")}
                         for skill in outcome.findall("skill") if skill.get("uri")]}
        for outcome in node.findall("outcome")]
    return values


def _add_texts(parent: Any, tag: str, texts: dict[str, str]) -> None:
    for lang, text in texts.items():
        etree.SubElement(parent, tag, lang=lang).text = text


def write(node: Any, values: dict[str, Any], template_version: int | None) -> None:
    """Set attributes and children of ``node`` from the block's field values."""
    for name in _SCALARS:
        value = template_version if name == "template_version" else values.get(name)
        if value not in (None, ""):
            node.set(name, str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
    node.set("languages", " ".join(values.get("languages") or []))
    _add_texts(node, "title", values.get("title") or {})
    _add_texts(node, "description", values.get("description") or {})
    for outcome in values.get("outcomes") or []:
        element = etree.SubElement(node, "outcome")
        _add_texts(element, "text", outcome.get("text") or {})
        for skill in outcome.get("esco_skills") or []:
            skill_element = etree.SubElement(element, "skill", uri=skill["uri"])
            _add_texts(skill_element, "label", skill.get("labels") or {})
