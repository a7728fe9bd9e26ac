"""The scenario reference cannot drift from the schema: every field is documented."""

import re
from pathlib import Path

from pydantic import BaseModel

from emulator import scenario, schema

REFERENCE_DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def _models():
    return [obj for obj in vars(schema).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj not in (BaseModel, schema.Strict)]


def test_every_schema_field_is_in_the_reference():
    text = REFERENCE_DOC.read_text()
    missing = [f"{model.__name__}.{info.alias or name}" for model in _models()
               for name, info in model.model_fields.items() if f"`{info.alias or name}`" not in text]
    assert not missing, f"document these fields in docs/scenario-reference.md: {missing}"


def test_published_json_schema_is_current():
    published = REFERENCE_DOC.parent / "scenario.schema.json"
    assert published.read_text() == schema.json_schema(), \
        "regenerate it: .venv/bin/python -m emulator schema > docs/scenario.schema.json"


def test_the_reference_lists_the_sections_in_the_order_they_are_applied():
    """One order, written once (schema.Sections): the loader walks it, the reference repeats it."""
    text = REFERENCE_DOC.read_text()
    sentence = text[text.index("applied in this order:"):text.index("A refused\noperation")]
    assert re.findall(r"`([a-z_]+)`", sentence) == list(schema.Sections.model_fields)
    assert set(scenario._Applier.APPLY) | {"customer_routes", "customer_bgp"} == set(schema.Sections.model_fields)
