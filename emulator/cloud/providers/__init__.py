"""The providers the emulator knows, by the name a scenario file gives (`provider:`)."""

from __future__ import annotations

from emulator.cloud.providers.alibaba import AlibabaCloud
from emulator.cloud.providers.base import Provider
from emulator.cloud.providers.jdcloud import JDCloud

PROVIDERS: dict[str, Provider] = {provider.NAME: provider for provider in (AlibabaCloud(), JDCloud())}
PROVIDER_NAMES = tuple(PROVIDERS)


def provider_named(name: str) -> Provider | None:
    return PROVIDERS.get(name)
