"""fal.ai's providers' capabilities (issue 14; schemas and sources in docs/vendors/fal.md).

Registered by ``catalog`` at import; the provider module is ``fal``.
"""

from __future__ import annotations

from .base import FieldKind, FieldSpec, PriceEstimate, ProviderInfo
from .catalog_fields import SEED, kling_fields, negative_field, prompt_field
from .registry import register_vendor
from .vendor_spec import FAL

_FAL_STEPS = FieldSpec(
    "num_inference_steps", "Steps", FieldKind.INT, "More steps: slower, finer.", default=25, minimum=4,
    maximum=50,
)
_FAL_GUIDANCE = FieldSpec(
    "guidance_scale", "Guidance", FieldKind.FLOAT, "How strictly to follow the prompt.", default=4.5,
    minimum=0.0, maximum=20.0,
)

_FAL_INFOS: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        id="fal.mmaudio-v2",
        model="mmaudio-v2",
        label="MMAudio v2 (fal.ai)",
        vendor="fal",
        account="fal",
        description="Video to audio with MMAudio on fal.ai; answers the clip with its new sound; 1–30 s.",
        input="video",
        fields=(
            prompt_field(required=True),
            negative_field(),
            FieldSpec("seed", "Seed", FieldKind.INT,
                      "Same seed + same input gives the same sound; -1 picks one at random.",
                      default=-1, minimum=-1, maximum=65535),
            _FAL_STEPS,
            _FAL_GUIDANCE,
            FieldSpec("mask_away_clip", "Mask away clip", FieldKind.BOOL, "Ignore the CLIP picture features.",
                      default=False),
        ),
        min_seconds=1.0,
        max_seconds=30.0,
        best_seconds=8.0,
        takes_seed=True,
        default_concurrency=2,
        min_short_side=384,  # its CLIP encoder reads 384 px frames (vendors.md, model facts)
        price=PriceEstimate(
            per_second=0.001, source="fal.ai/models/fal-ai/mmaudio-v2/llms.txt", seen="2026-12"
        ),
    ),
    ProviderInfo(
        id="fal.thinksound",
        model="thinksound",
        label="ThinkSound (fal.ai)",
        vendor="fal",
        account="fal",
        description="Video to sound effects with ThinkSound on fal.ai; answers the clip with its new sound.",
        input="video",
        fields=(
            prompt_field(),
            SEED,
            FieldSpec("num_inference_steps", "Steps", FieldKind.INT, "More steps: slower, finer.", default=24,
                      minimum=2, maximum=100),
            FieldSpec("guidance_scale", "Guidance", FieldKind.FLOAT, "How strictly to follow the prompt.",
                      default=5.0, minimum=1.0, maximum=20.0),
        ),
        min_seconds=1.0,
        max_seconds=30.0,  # fal publishes no clip limit: the bound of ThinkSound on WaveSpeed
        takes_seed=True,
        default_concurrency=2,
        # priced per compute second (llms.txt): not an amount an estimate can know in advance
    ),
    ProviderInfo(
        id="fal.kling-video-to-audio",
        model="kling-video-to-audio",
        label="Kling video-to-audio (fal.ai)",
        vendor="fal",
        account="fal",
        description="Kling's video-to-audio model through fal.ai: only a fal.ai key needed; 3–20 s.",
        input="video",
        fields=kling_fields(),
        min_seconds=3.0,
        max_seconds=20.0,
        takes_seed=False,
        default_concurrency=2,
    ),
    ProviderInfo(
        id="fal.mirelo-sfx",
        label="Mirelo SFX 1.5 (fal.ai)",
        vendor="fal",
        account="fal",
        description="Video to sound effects with Mirelo SFX 1.5 on fal.ai; 1–10 s per request.",
        input="video",
        fields=(prompt_field(), SEED),
        min_seconds=1.0,
        max_seconds=10.0,
        takes_seed=True,
        default_concurrency=2,
    ),
)

register_vendor(FAL, _FAL_INFOS, {
    "fal.mmaudio-v2": ("fal", "MMAudioV2OnFal"),
    "fal.thinksound": ("fal", "ThinkSoundOnFal"),
    "fal.kling-video-to-audio": ("fal", "KlingOnFal"),
    "fal.mirelo-sfx": ("fal", "MireloSfxOnFal"),
})
