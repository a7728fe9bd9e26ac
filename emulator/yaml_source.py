"""Read YAML into plain Python values and remember the line of every value.

PyYAML's safe composer gives nodes with positions; we convert them ourselves so
that a schema error at `vbrs[0].vlan_id` can name the file and line, and so
that duplicate keys (which PyYAML silently overwrites) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.errors import ScenarioError

Location = tuple[Any, ...]

MAX_FILE_BYTES = 1_000_000


@dataclass
class SourceMap:
    """Lines (1-based) of every key and value, by their path in the document."""

    path: str
    lines: dict[Location, int] = field(default_factory=dict)
    nodes_seen: int = 0

    def line_of(self, location: Location) -> int:
        """The line of `location`, or of its nearest ancestor that has one."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def where(self, location: Location) -> str:
        return f"{self.path}:{self.line_of(location)}"


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Parse `path`; raise ScenarioError (with file and line) on any problem."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc.strerror}", where=shown,
                            fix="check the path, or give a scenario name from scenarios/") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"the file is {len(raw)} bytes; scenarios are limited to {MAX_FILE_BYTES}",
                            where=shown, fix="split the scenario or remove generated bulk")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"the file is not UTF-8 (byte {exc.start})", where=shown,
                            fix="save the file as UTF-8") from None
    return parse_yaml(text, shown)


def parse_yaml(text: str, shown: str) -> tuple[Any, SourceMap]:
    """Parse YAML text; `shown` is the file name used in messages."""
    source = SourceMap(shown)
    try:
        _refuse_deep_nesting(text, shown)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(f"invalid YAML: {exc.problem or exc.context}", where=f"{shown}:{line}",
                            fix="fix the YAML syntax at that line (indentation, quotes, colons)") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", where=shown, fix="fix the YAML syntax") from None
    if node is None:
        raise ScenarioError("the file is empty", where=f"{shown}:1",
                            fix="start from scenarios/multi_vpc_leased_line.yaml")
    return _convert(node, (), source, depth=0), source


_MAX_DEPTH = 50
_MAX_NODES = 100_000  # aliases can expand a small file into a huge tree


def _refuse_deep_nesting(text: str, shown: str) -> None:
    """PyYAML's composer recurses once per level (RecursionError at a few hundred `[`); its parser does not.

    So the parser's events are counted first, and a document deeper than _MAX_DEPTH is refused at the line
    where it gets too deep, before the composer sees it.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ScenarioError("the document is nested too deeply", where=f"{shown}:{event.start_mark.line + 1}",
                                    fix="scenario files are at most a few levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _convert(node: yaml.Node, loc: Location, source: SourceMap, depth: int) -> Any:
    line = node.start_mark.line + 1
    source.lines.setdefault(loc, line)
    source.nodes_seen += 1
    if source.nodes_seen > _MAX_NODES:
        raise ScenarioError(f"the document expands to more than {_MAX_NODES} values",
                            where=f"{source.path}:{line}",
                            fix="remove YAML aliases (*name) that repeat large blocks")
    if depth > _MAX_DEPTH:
        raise ScenarioError("the document is nested too deeply", where=f"{source.path}:{line}",
                            fix="scenario files are at most a few levels deep")
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError("a mapping key must be a plain word",
                                    where=f"{source.path}:{key_node.start_mark.line + 1}",
                                    fix="write keys as `name: value`")
            key = _scalar(key_node, source, loc)
            key = str(key) if not isinstance(key, str) else key
            if key == "<<":
                raise ScenarioError("YAML merge keys (<<) are not supported",
                                    where=f"{source.path}:{key_node.start_mark.line + 1}",
                                    fix="write the keys out in full")
            if key in result:
                raise ScenarioError(f"the key '{key}' appears twice in the same mapping",
                                    where=f"{source.path}:{key_node.start_mark.line + 1}",
                                    fix="remove one of them")
            source.lines[loc + (key,)] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, loc + (key,), source, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, loc + (index,), source, depth + 1)
                for index, item in enumerate(node.value)]
    return _scalar(node, source, loc)


def dotted(loc: tuple[Any, ...]) -> str:
    """A place in the file as the messages write it: vpcs[0].vswitches[1].cidr."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _scalar(node: yaml.Node, source: SourceMap, loc: tuple[Any, ...] = ()) -> Any:
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"cannot read this value: {exc}",
                            where=f"{source.path}:{node.start_mark.line + 1}",
                            fix="quote the value") from None
    except (ValueError, OverflowError):   # Python refuses integers of more than 4300 digits
        shown = str(getattr(node, "value", ""))
        raise ScenarioError(f"{dotted(loc) or 'a key'}: the number {shown[:20]}{'...' if len(shown) > 20 else ''} "
                            f"({len(shown)} characters) is too large for any field", where=f"{source.path}:{node.start_mark.line + 1}",
                            fix="write the value the field expects (see docs/scenario-reference.md)") from None
    finally:
        constructor.dispose()
