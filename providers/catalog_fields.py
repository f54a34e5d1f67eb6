"""Field descriptions several vendors share (seed, prompt, negative prompt); stdlib only."""

from __future__ import annotations

from .capabilities import FieldKind, FieldSpec

SEED_MAX = 2147483647  # the one definition: properties.py and the vendor models import it (via catalog)

SEED = FieldSpec(
    "seed",
    "Seed",
    FieldKind.INT,
    "Same seed + same input gives the same sound; -1 picks one at random.",
    default=-1,
    minimum=-1,
    maximum=SEED_MAX,
)


def prompt_field(
    label: str = "Prompt",
    max_length: int | None = None,
    required: bool = False,
    description: str = "What should be heard.",
) -> FieldSpec:
    return FieldSpec(
        "prompt", label, FieldKind.TEXT, description, default="", max_length=max_length, required=required
    )


def negative_field(max_length: int | None = None) -> FieldSpec:
    return FieldSpec(
        "negative_prompt",
        "Negative prompt",
        FieldKind.TEXT,
        "Sounds to avoid.",
        default="",
        max_length=max_length,
    )


def kling_fields() -> tuple[FieldSpec, ...]:
    """Kling's video-to-audio inputs, the same wherever Kling's model is hosted."""
    return (
        prompt_field("Sound effect prompt", 200,
                     description="Sound effects to generate (sound_effect_prompt)."),
        FieldSpec(
            "bgm_prompt",
            "Music prompt",
            FieldKind.TEXT,
            "Background music to generate (bgm_prompt).",
            default="",
            max_length=200,
        ),
        FieldSpec(
            "asmr_mode",
            "ASMR mode",
            FieldKind.BOOL,
            "Stronger, detailed close-up sound effects.",
            default=False,
        ),
    )
