"""Which adapter serves a voice agent's ``provider``."""

from __future__ import annotations

from collections.abc import Mapping

from credira.channel.voice.port import VoiceProvider, VoiceProviderError


class VoiceProviders:
    def __init__(self, providers: Mapping[str, VoiceProvider]) -> None:
        self._providers = dict(providers)

    def get(self, name: str) -> VoiceProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise VoiceProviderError(
                f"voice provider {name!r} is not configured", retryable=False
            ) from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)
