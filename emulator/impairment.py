"""What a link does to packets besides limiting their rate: one-way delay, jitter, random loss.

A plain value, carried from the scenario file through the routing model into
the plan; the runtime turns it into netem where the kernel has it, or into
the userspace delay line where it does not (runtime/impairment.py).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LATENCY_MS = 1000.0      # one way; a geostationary satellite hop is ~270 ms
MAX_LOSS_PERCENT = 100.0


@dataclass(frozen=True)
class Impairment:
    latency_ms: float = 0.0      # one way, each direction
    jitter_ms: float = 0.0       # spread around latency_ms (uniform, packets keep their order)
    loss_percent: float = 0.0    # each direction, independently per packet

    @property
    def ideal(self) -> bool:
        return not (self.latency_ms or self.jitter_ms or self.loss_percent)

    def describe(self) -> str:
        if self.ideal:
            return "no delay, no loss"
        parts = [f"{self.latency_ms:g} ms one way"]
        if self.jitter_ms:
            parts.append(f"jitter {self.jitter_ms:g} ms")
        if self.loss_percent:
            parts.append(f"loss {self.loss_percent:g}%")
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms, "loss_percent": self.loss_percent}

    @classmethod
    def from_json(cls, raw: dict | None) -> "Impairment":
        return cls(**raw) if raw else cls()


IDEAL = Impairment()


def problem(impairment: Impairment) -> str | None:
    """Why these values cannot be emulated, or None."""
    if impairment.jitter_ms > impairment.latency_ms:
        return (f"jitter_ms {impairment.jitter_ms:g} is larger than latency_ms {impairment.latency_ms:g}: "
                "a packet cannot leave before it arrives")
    return None
