from pathlib import Path

import pytest

from emulator.errors import ScenarioError
from emulator.yaml_source import load_yaml, parse_yaml


def test_lines_of_keys_and_list_items_are_recorded():
    data, source = parse_yaml("name: x\nvpcs:\n  - id: a\n    cidr: 10.0.0.0/16\n  - id: b\n", "f.yaml")
    assert data["vpcs"][1]["id"] == "b"
    assert source.line_of(("vpcs", 0, "cidr")) == 4
    assert source.line_of(("vpcs", 1)) == 5
    assert source.where(("vpcs", 1, "missing_key")) == "f.yaml:5"


def test_duplicate_keys_are_refused_with_their_line():
    with pytest.raises(ScenarioError) as caught:
        parse_yaml("name: x\nvpcs: []\nname: y\n", "f.yaml")
    assert caught.value.where == "f.yaml:3"
    assert "twice" in caught.value.message


def test_bad_yaml_names_the_line():
    with pytest.raises(ScenarioError) as caught:
        parse_yaml("name: x\nvpcs: [a, b\nother: 1\n", "f.yaml")
    assert caught.value.where.startswith("f.yaml:")
    assert "invalid YAML" in caught.value.message


def test_empty_file_is_an_error():
    with pytest.raises(ScenarioError, match="empty"):
        parse_yaml("", "f.yaml")


def test_alias_expansion_is_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    with pytest.raises(ScenarioError, match="expands"):
        parse_yaml(bomb, "f.yaml")


def test_unreadable_and_non_utf8_files(tmp_path: Path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_yaml(tmp_path / "absent.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_yaml(binary)
