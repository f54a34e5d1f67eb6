"""Turn ``scene.foley`` and the chosen range into plain GenerationRequests."""

from __future__ import annotations

from typing import Any

from ..properties import option_names
from ..providers import provider_info
from ..providers.base import GenerationRequest
from .selection import ChosenRange, timed_events


def take_seed(seed: int, take_index: int) -> int:
    """Fixed seeds give reproducible takes: seed, seed+1...; -1 stays random."""
    return seed if seed < 0 else seed + take_index


def build_request(scene: Any, provider_id: str, chosen: ChosenRange,
                  take_index: int = 0) -> GenerationRequest:
    settings = scene.foley
    info = provider_info(provider_id)
    duration = chosen.seconds
    if info.field("duration") is not None and settings.duration > 0:
        duration = float(settings.duration)
    options: dict[str, Any] = {}
    for name in option_names(provider_id):
        if hasattr(settings, name):
            value = getattr(settings, name)
            options[name] = value if isinstance(value, bool | int | float | str) else str(value)
    return GenerationRequest(
        provider_id=provider_id,
        duration=duration,
        prompt=settings.prompt,
        bgm_prompt=settings.bgm_prompt if info.field("bgm_prompt") else "",
        negative_prompt=settings.negative_prompt if info.field("negative_prompt") else "",
        seed=take_seed(settings.seed, take_index) if info.takes_seed else -1,
        events=timed_events(scene, chosen) if info.input == "timeline" else (),
        options=options,
    )
