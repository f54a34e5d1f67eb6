"""What each provider takes and allows, for the UI and the engine; stdlib only, imported eagerly.

Limits here mirror the vendor documents (../shared/vendors.md): the vendor
modules enforce the same numbers in their pydantic models before any request.
Prices are ``None`` where no list price is confirmed on the vendor's own page; each known
price carries its page and the month it was read (the ``*_PRICE`` constants), never a guess.
``min_short_side`` is a provider's preferred input size (short side in pixels; the clip is never
smaller): MMAudio's 384 px; the other vendors document none, so the Clip size
preference decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

from .base import AccountLimits, FieldKind, FieldSpec, PriceEstimate, Provider, ProviderInfo
from .vendor_spec import (
    COMFYUI,
    ELEVENLABS,
    FAL,
    FLEXSTACK,
    KLING,
    S3,
    UNDOCUMENTED_SUBMITS_PER_MINUTE,
    VENDOR_SPECS,
    VIDU,
    VIDU_CONCURRENCY,
    WAVESPEED,
    VendorSpec,
    add_spec,
    remove_spec,
    upload_host_specs,
    vendor_spec,
)

__all__ = ["ACCOUNT_LIMITS", "INFOS", "PROVIDER_IDS", "SEED_MAX", "UNDOCUMENTED_SUBMITS_PER_MINUTE",
           "VENDOR_NEEDS", "register_vendor", "unregister_vendor"]

SEED_MAX = 2147483647  # the one definition: properties.py and the vendor models import it

#: Limits per vendor ACCOUNT (one key), shared by all its models; the preferences override them.
#: Filled from each ``VendorSpec.limits`` by ``register_vendor`` (updated in place: importers keep it).
ACCOUNT_LIMITS: dict[str, AccountLimits] = {}

# -- published prices (issue 14): the page each was read on and when; the rest stay unknown ------

#: WaveSpeed MMAudio v2: "Per second of audio $0.001" (its API page, pricing table).
MMAUDIO_WAVESPEED_PRICE = PriceEstimate(
    per_second=0.001, source="wavespeed.ai/docs-api/mmaudio-v2", seen="2026-12"
)
#: WaveSpeed Sonilo video-to-SFX: "$0.009 per run" (its model page).
SONILO_WAVESPEED_PRICE = PriceEstimate(
    per_call=0.009, source="wavespeed.ai/models/sonilo/v1/video-to-sfx", seen="2026-12"
)
#: WaveSpeed Kling text-to-audio: "$0.035 per run" (its API page, Pricing).
KLING_T2A_WAVESPEED_PRICE = PriceEstimate(
    per_call=0.035, source="wavespeed.ai/docs/docs-api/kwaivgi/kwaivgi-kling-text-to-audio", seen="2026-12"
)

_SEED = FieldSpec(
    "seed",
    "Seed",
    FieldKind.INT,
    "Same seed + same input gives the same sound; -1 picks one at random.",
    default=-1,
    minimum=-1,
    maximum=SEED_MAX,
)


def _prompt(
    label: str = "Prompt",
    max_length: int | None = None,
    required: bool = False,
    description: str = "What should be heard.",
) -> FieldSpec:
    return FieldSpec(
        "prompt", label, FieldKind.TEXT, description, default="", max_length=max_length, required=required
    )


def _negative(max_length: int | None = None) -> FieldSpec:
    return FieldSpec(
        "negative_prompt",
        "Negative prompt",
        FieldKind.TEXT,
        "Sounds to avoid.",
        default="",
        max_length=max_length,
    )


def _kling_fields() -> tuple[FieldSpec, ...]:
    return (
        _prompt("Sound effect prompt", 200, description="Sound effects to generate (sound_effect_prompt)."),
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


_INFOS: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        id="wavespeed.think-sound",
        label="ThinkSound (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to sound effects with ThinkSound; 44.1 kHz, best around 9 s.",
        input="video",
        fields=(_prompt(), _SEED),
        min_seconds=1.0,
        max_seconds=30.0,
        # 9 s is only its default output length, not a limit: a 10 s shot stays one request.
        takes_seed=True,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="wavespeed.mmaudio-v2",
        label="MMAudio v2 (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to audio with MMAudio; trained on 8 s clips, 1–30 s.",
        input="video",
        fields=(
            _prompt(required=True),
            _negative(),
            FieldSpec(
                "num_inference_steps",
                "Steps",
                FieldKind.INT,
                "More steps: slower, finer.",
                default=25,
                minimum=4,
                maximum=50,
            ),
            FieldSpec(
                "guidance_scale",
                "Guidance",
                FieldKind.FLOAT,
                "How strictly to follow the prompt.",
                default=4.5,
                minimum=0.0,
                maximum=20.0,
            ),
            FieldSpec(
                "mask_away_clip",
                "Mask away clip",
                FieldKind.BOOL,
                "Ignore the CLIP picture features.",
                default=False,
            ),
        ),
        min_seconds=1.0,
        max_seconds=30.0,
        best_seconds=8.0,
        takes_seed=False,
        default_concurrency=3,
        min_short_side=384,  # its CLIP encoder reads 384 px frames (vendors.md, model facts)
        price=MMAUDIO_WAVESPEED_PRICE,
    ),
    ProviderInfo(
        id="wavespeed.hunyuan-video-foley",
        label="Hunyuan Video Foley (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to foley with HunyuanVideo-Foley; 48 kHz, 1–15 s.",
        input="video",
        fields=(_prompt(), _SEED),
        min_seconds=1.0,
        max_seconds=15.0,
        takes_seed=True,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="wavespeed.kling-video-to-audio",
        label="Kling video-to-audio (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Kling's video-to-audio model through WaveSpeed: only a WaveSpeed key needed; 3–20 s.",
        input="video",
        fields=_kling_fields(),
        min_seconds=3.0,
        max_seconds=20.0,
        takes_seed=False,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="wavespeed.mirelo-sfx",
        label="Mirelo SFX 2.0 (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to sound effects with Mirelo SFX; keeps speech by default; up to 600 s.",
        input="video",
        fields=(
            _prompt(),
            _negative(),
            FieldSpec(
                "preserve_speech",
                "Preserve speech",
                FieldKind.BOOL,
                "Keep the clip's dialogue.",
                default=True,
            ),
        ),
        min_seconds=1.0,
        max_seconds=600.0,
        # Mirelo takes up to 600 s in one request; its 10 s default is not a quality limit.
        takes_seed=False,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="kling.video-to-audio",
        label="Kling video-to-audio",
        vendor="kling",
        account="kling",
        description="Kling's own API (access + secret key); the clip is uploaded to a host first; 3–20 s.",
        extra_options=("video_id", "external_task_id"),
        input="video",
        fields=_kling_fields(),
        min_seconds=3.0,
        max_seconds=20.0,
        takes_seed=False,
        default_concurrency=2,
    ),
    ProviderInfo(
        id="vidu.timing2audio",
        label="Vidu timed sound effects",
        vendor="vidu",
        account="vidu",
        description="Sound events placed on a timeline (no video, no music); 2–10 s.",
        input="timeline",
        fields=(
            FieldSpec(
                "duration",
                "Duration",
                FieldKind.FLOAT,
                "Length of the audio in seconds.",
                default=10.0,
                minimum=2.0,
                maximum=10.0,
            ),
            _SEED,
        ),
        min_seconds=2.0,
        max_seconds=10.0,
        takes_seed=True,
        default_concurrency=VIDU_CONCURRENCY,
    ),
    ProviderInfo(
        id="vidu.text2audio",
        label="Vidu text to audio",
        vendor="vidu",
        account="vidu",
        description="Sound effects or music from a text prompt (no video); 2–10 s.",
        input="text",
        fields=(
            _prompt(max_length=1500, required=True),
            FieldSpec(
                "duration",
                "Duration",
                FieldKind.FLOAT,
                "Length of the audio in seconds.",
                default=10.0,
                minimum=2.0,
                maximum=10.0,
            ),
            _SEED,
        ),
        min_seconds=2.0,
        max_seconds=10.0,
        takes_seed=True,
        default_concurrency=VIDU_CONCURRENCY,
    ),
    ProviderInfo(
        id="flexstack.audiogen",
        label="FlexStack AudioGen",
        vendor="flexstack",
        account="flexstack",
        description="Sound (AudioGen) or music (MusicGen) from a text prompt; whole seconds.",
        input="text",
        fields=(
            _prompt(required=True),
            FieldSpec(
                "model",
                "Model",
                FieldKind.CHOICE,
                "AudioGen for sounds, MusicGen for music.",
                default="audiogen",
                choices=(("audiogen", "AudioGen"), ("musicgen", "MusicGen")),
            ),
            FieldSpec(
                "duration",
                "Duration",
                FieldKind.INT,
                "Length of the audio in whole seconds.",
                default=5,
                minimum=1,
                maximum=300,
            ),
            FieldSpec(
                "top_k",
                "Top-k",
                FieldKind.INT,
                "Sample among the k likeliest tokens.",
                default=15,
                minimum=1,
                maximum=1000,
            ),
            FieldSpec(
                "top_p",
                "Top-p",
                FieldKind.FLOAT,
                "Cumulative probability cut-off.",
                default=0.9,
                minimum=0.0,
                maximum=1.0,
            ),
        ),
        min_seconds=1.0,
        max_seconds=300.0,
        takes_seed=False,
        default_concurrency=2,
    ),
    # -- issue 14: newer WaveSpeed models and ElevenLabs (docs/vendors/elevenlabs.md, wavespeed.md) --
    ProviderInfo(
        id="wavespeed.sonilo-video-to-sfx",
        label="Sonilo video to SFX (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to time-aligned sound effects with Sonilo; follows the clip, up to 180 s.",
        input="video",
        fields=(_prompt(max_length=2000, description="Overall sound direction (optional)."),),
        min_seconds=1.0,
        max_seconds=180.0,  # "Maximum duration: 180 seconds. Maximum file size: 300 MB."
        takes_seed=False,
        default_concurrency=3,
        price=SONILO_WAVESPEED_PRICE,
    ),
    ProviderInfo(
        id="wavespeed.mirelo-sfx-1.6",
        label="Mirelo SFX 1.6 (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to sound effects with Mirelo SFX 1.6; 2–4 variations from one request land as "
        "takes; up to 60 s.",
        input="video",
        fields=(
            _prompt(),
            FieldSpec(
                "num_samples",
                "Variations per request",
                FieldKind.INT,
                "Sounds made by one paid request; each lands as a take.",
                default=2,
                minimum=2,
                maximum=4,
            ),
            _SEED,
        ),
        min_seconds=1.0,
        max_seconds=60.0,  # "Supports clips up to 60 seconds."
        takes_seed=True,
        default_concurrency=3,
        outputs_are_takes=True,
    ),
    ProviderInfo(
        id="wavespeed.kling-text-to-audio",
        label="Kling text to audio (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Sound effects from a text prompt with Kling (no video); 3–10 s.",
        input="text",
        fields=(_prompt(max_length=200, required=True),),
        min_seconds=3.0,
        max_seconds=10.0,
        takes_seed=False,
        default_concurrency=3,
        price=KLING_T2A_WAVESPEED_PRICE,
    ),
    ProviderInfo(
        id="elevenlabs.sound-effects",
        label="ElevenLabs sound effects",
        vendor="elevenlabs",
        account="elevenlabs",
        description="Sound effects from a text prompt (no video); 0.5–30 s a request, longer ones in parts.",
        input="text",
        fields=(
            _prompt(required=True),
            FieldSpec(
                "prompt_influence",
                "Prompt influence",
                FieldKind.FLOAT,
                "Higher follows the prompt more closely, with less variety.",
                default=0.3,
                minimum=0.0,
                maximum=1.0,
            ),
            FieldSpec(
                "loop",
                "Loop",
                FieldKind.BOOL,
                "A sound that loops smoothly (documented for eleven_text_to_sound_v2).",
                default=False,
            ),
            FieldSpec(
                "model_id",
                "Model",
                FieldKind.CHOICE,
                "The sound effects model.",
                default="eleven_text_to_sound_v2",
                choices=(
                    ("eleven_text_to_sound_v2", "Text to sound v2"),
                    ("eleven_text_to_sound_v3", "Text to sound v3"),
                ),
            ),
            FieldSpec(
                "output_format",
                "Format",
                FieldKind.CHOICE,
                "MP3 works on every plan; 192 kbps needs Creator, WAV 44.1 kHz needs Pro.",
                default="mp3_44100_128",
                choices=(
                    ("mp3_44100_128", "MP3 44.1 kHz 128 kbps"),
                    ("mp3_44100_192", "MP3 44.1 kHz 192 kbps"),
                    ("wav_44100", "WAV 44.1 kHz"),
                    ("wav_48000", "WAV 48 kHz"),
                ),
            ),
        ),
        min_seconds=0.5,
        max_seconds=30.0,
        takes_seed=False,
        default_concurrency=2,
    ),
)

#: provider id -> its capabilities, in UI order (filled by ``register_vendor``).
INFOS: dict[str, ProviderInfo] = {}

#: How a provider is made: (module, class) in this package, imported only when a provider is
#: created, or a factory taking the resolved ``FoleySettings`` (a vendor registered by a test).
Implementation = tuple[str, str] | Callable[[Any], Provider]

#: provider id -> its implementation.
IMPLEMENTATIONS: dict[str, Implementation] = {}


class _ProviderIds(Sequence[str]):
    """Every provider id in UI order; a live view, so ids registered later appear everywhere."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return tuple(INFOS)[index]

    def __len__(self) -> int:
        return len(INFOS)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(INFOS))

    def __contains__(self, item: object) -> bool:
        return item in INFOS

    def __repr__(self) -> str:
        return repr(tuple(INFOS))


PROVIDER_IDS: Sequence[str] = _ProviderIds()


def vendor_needs(vendor_id: str) -> str:
    """What a vendor needs configured ("KLING_ACCESS_KEY + KLING_SECRET_KEY, and ... for the clip upload")."""
    spec = vendor_spec(vendor_id)
    needs = spec.needs_text()
    if spec.needs_upload:
        hosts = [host.needs_text() for host in upload_host_specs()]
        if hosts:
            needs += f", and {' or '.join(hosts)} for the clip upload"
    return needs


class _VendorNeeds(Mapping[str, str]):
    """vendor id -> ``vendor_needs(id)``, for ``cli providers`` and the preferences panel."""

    def __getitem__(self, vendor_id: str) -> str:
        if vendor_id not in VENDOR_SPECS:
            raise KeyError(vendor_id)
        return vendor_needs(vendor_id)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(spec.id for spec in VENDOR_SPECS))

    def __len__(self) -> int:
        return len(VENDOR_SPECS)


#: What each vendor needs configured, derived from the vendor specs.
VENDOR_NEEDS: Mapping[str, str] = _VendorNeeds()


def register_vendor(
    spec: VendorSpec,
    infos: Sequence[ProviderInfo] = (),
    implementations: Mapping[str, Implementation] | None = None,
) -> None:
    """Add a vendor: its description, its providers' capabilities and how each provider is made.

    ``implementations`` maps each provider id to ``(module, class)`` (a module of this
    package, imported on first use) or to a factory called with the resolved
    ``FoleySettings`` (e.g. a test's own provider class). The preferences, readiness, Test Connection and
    the CLI read the registry, so nothing else needs an edit; a registered add-on
    picks new preferences up at its next registration. The built-ins below are
    registered the same way.
    """
    implementations = dict(implementations or {})
    for info in infos:
        if info.vendor != spec.id:
            raise ValueError(f"{info.id} belongs to vendor {info.vendor}, not {spec.id}")
        if info.id not in implementations:
            raise ValueError(f"{info.id} has no implementation (module, class)")
    add_spec(spec)
    if spec.limits is not None:
        ACCOUNT_LIMITS[spec.account_id] = spec.limits
    for info in infos:
        INFOS[info.id] = info
        IMPLEMENTATIONS[info.id] = implementations[info.id]


def unregister_vendor(vendor_id: str) -> None:
    """Remove a vendor and its providers (tests that registered one of their own)."""
    spec = VENDOR_SPECS.get(vendor_id)
    if spec is None:
        return
    for provider_id in [pid for pid, info in INFOS.items() if info.vendor == vendor_id]:
        INFOS.pop(provider_id)
        IMPLEMENTATIONS.pop(provider_id, None)
    if not any(other.account_id == spec.account_id for other in VENDOR_SPECS if other.id != vendor_id):
        ACCOUNT_LIMITS.pop(spec.account_id, None)
    remove_spec(vendor_id)


def implementation_modules() -> tuple[str, ...]:
    """The provider modules of this package ("wavespeed", ...), once each, in registry order."""
    return tuple(dict.fromkeys(made[0] for made in IMPLEMENTATIONS.values() if isinstance(made, tuple)))


def _built_in(spec: VendorSpec, module: str, classes: Mapping[str, str]) -> None:
    register_vendor(
        spec,
        [info for info in _INFOS if info.vendor == spec.id],
        {provider_id: (module, class_name) for provider_id, class_name in classes.items()},
    )


_built_in(WAVESPEED, "wavespeed", {
    "wavespeed.think-sound": "ThinkSound",
    "wavespeed.mmaudio-v2": "MMAudioV2",
    "wavespeed.hunyuan-video-foley": "HunyuanVideoFoley",
    "wavespeed.kling-video-to-audio": "KlingViaWaveSpeed",
    "wavespeed.mirelo-sfx": "MireloSfx",
    "wavespeed.sonilo-video-to-sfx": "SoniloVideoToSfx",
    "wavespeed.mirelo-sfx-1.6": "MireloSfx16",
    "wavespeed.kling-text-to-audio": "KlingTextToAudio",
})
_built_in(KLING, "kling", {"kling.video-to-audio": "KlingVideoToAudio"})
_built_in(VIDU, "vidu", {"vidu.timing2audio": "ViduTimingToAudio", "vidu.text2audio": "ViduTextToAudio"})
_built_in(FLEXSTACK, "flexstack", {"flexstack.audiogen": "FlexStackAudioGen"})
_built_in(ELEVENLABS, "elevenlabs", {"elevenlabs.sound-effects": "ElevenLabsSoundEffects"})
register_vendor(S3)  # an upload host only: no providers of its own


# -- ComfyUI (issue 16): the editor's own server; one template per node pack, or their workflow ---
#: nothing is billed: the price is 0 and says where it runs
_ON_YOUR_SERVER = PriceEstimate(per_call=0.0, source="on your server")  # core.cost.ON_YOUR_SERVER
_COMFY_FIELDS = (_prompt(), _negative(), _SEED)
register_vendor(
    COMFYUI,
    [
        ProviderInfo(
            id="comfyui.mmaudio",
            label="MMAudio (ComfyUI)",
            vendor="comfyui",
            account="comfyui",
            description="MMAudio on your ComfyUI server (kijai/ComfyUI-MMAudio); trained on 8 s clips.",
            input="video",
            fields=_COMFY_FIELDS,
            min_seconds=1.0,
            max_seconds=30.0,
            best_seconds=8.0,
            default_concurrency=1,
            min_short_side=384,
            price=_ON_YOUR_SERVER,
        ),
        ProviderInfo(
            id="comfyui.hunyuan-foley",
            label="HunyuanVideo-Foley (ComfyUI)",
            vendor="comfyui",
            account="comfyui",
            description="HunyuanVideo-Foley on your ComfyUI server (phazei/ComfyUI-HunyuanVideo-Foley), "
            "48 kHz.",
            input="video",
            fields=_COMFY_FIELDS,
            min_seconds=1.0,
            max_seconds=60.0,  # HunyuanFoleySampler's duration input allows 1–60 s
            best_seconds=8.0,
            default_concurrency=1,
            price=_ON_YOUR_SERVER,
        ),
        ProviderInfo(
            id="comfyui.workflow",
            label="Your ComfyUI workflow",
            vendor="comfyui",
            account="comfyui",
            description="Your own API-format workflow, with {{vse_foley.clip}} and the other placeholders.",
            input="video",
            fields=_COMFY_FIELDS,
            min_seconds=0.5,
            max_seconds=300.0,
            default_concurrency=1,
            price=_ON_YOUR_SERVER,
        ),
    ],
    {
        "comfyui.mmaudio": ("comfyui", "ComfyUIMMAudio"),
        "comfyui.hunyuan-foley": ("comfyui", "ComfyUIHunyuanFoley"),
        "comfyui.workflow": ("comfyui", "ComfyUIWorkflow"),
    },
)


# -- fal.ai (issue 14; schemas and sources in docs/vendors/fal.md) --------------------------------

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
        label="MMAudio v2 (fal.ai)",
        vendor="fal",
        account="fal",
        description="Video to audio with MMAudio on fal.ai; answers the clip with its new sound; 1–30 s.",
        input="video",
        fields=(
            _prompt(required=True),
            _negative(),
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
        label="ThinkSound (fal.ai)",
        vendor="fal",
        account="fal",
        description="Video to sound effects with ThinkSound on fal.ai; answers the clip with its new sound.",
        input="video",
        fields=(
            _prompt(),
            _SEED,
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
        label="Kling video-to-audio (fal.ai)",
        vendor="fal",
        account="fal",
        description="Kling's video-to-audio model through fal.ai: only a fal.ai key needed; 3–20 s.",
        input="video",
        fields=_kling_fields(),
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
        fields=(_prompt(), _SEED),
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
