"""A check's outcome as plain data: what the terminal and JSON reports show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    kind: str                       # ping | traceroute | throughput
    src: str
    dst: str
    passed: bool
    detail: dict[str, Any] = field(default_factory=dict)
    explanation: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "src": self.src, "dst": self.dst, "passed": self.passed}
        data.update(self.detail)
        if self.explanation is not None:
            data["explanation"] = self.explanation
        return data
