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

from collections.abc import Mapping

from .base import FieldKind, FieldSpec, PriceEstimate, ProviderInfo
from .catalog_fields import SEED, SEED_MAX, kling_fields, negative_field, prompt_field
from .registry import (
    ACCOUNT_LIMITS,
    IMPLEMENTATIONS,
    INFOS,
    PROVIDER_IDS,
    VENDOR_NEEDS,
    Implementation,
    implementation_modules,
    register_vendor,
    unregister_vendor,
    vendor_needs,
)
from .vendor_spec import (
    ELEVENLABS,
    FLEXSTACK,
    KLING,
    S3,
    UNDOCUMENTED_SUBMITS_PER_MINUTE,
    VIDU,
    VIDU_CONCURRENCY,
    WAVESPEED,
    VendorSpec,
)

# This module is where the rest of the product reads the registry from (``registry`` holds it).
__all__ = ["ACCOUNT_LIMITS", "IMPLEMENTATIONS", "INFOS", "PROVIDER_IDS", "SEED_MAX",
           "UNDOCUMENTED_SUBMITS_PER_MINUTE", "VENDOR_NEEDS", "VIDU_CONCURRENCY", "Implementation",
           "implementation_modules", "register_vendor", "unregister_vendor", "vendor_needs"]

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




_INFOS: tuple[ProviderInfo, ...] = (
    ProviderInfo(
        id="wavespeed.think-sound",
        model="thinksound",
        label="ThinkSound (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to sound effects with ThinkSound; 44.1 kHz, best around 9 s.",
        input="video",
        fields=(prompt_field(), SEED),
        min_seconds=1.0,
        max_seconds=30.0,
        # 9 s is only its default output length, not a limit: a 10 s shot stays one request.
        takes_seed=True,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="wavespeed.mmaudio-v2",
        model="mmaudio-v2",
        label="MMAudio v2 (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Video to audio with MMAudio; trained on 8 s clips, 1–30 s.",
        input="video",
        fields=(
            prompt_field(required=True),
            negative_field(),
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
        fields=(prompt_field(), SEED),
        min_seconds=1.0,
        max_seconds=15.0,
        takes_seed=True,
        default_concurrency=3,
    ),
    ProviderInfo(
        id="wavespeed.kling-video-to-audio",
        model="kling-video-to-audio",
        label="Kling video-to-audio (WaveSpeed)",
        vendor="wavespeed",
        account="wavespeed",
        description="Kling's video-to-audio model through WaveSpeed: only a WaveSpeed key needed; 3–20 s.",
        input="video",
        fields=kling_fields(),
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
            prompt_field(),
            negative_field(),
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
        model="kling-video-to-audio",
        label="Kling video-to-audio",
        vendor="kling",
        account="kling",
        description="Kling's own API (access + secret key); the clip is uploaded to a host first; 3–20 s.",
        extra_options=("video_id", "external_task_id"),
        input="video",
        fields=kling_fields(),
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
            SEED,
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
            prompt_field(max_length=1500, required=True),
            FieldSpec(
                "duration",
                "Duration",
                FieldKind.FLOAT,
                "Length of the audio in seconds.",
                default=10.0,
                minimum=2.0,
                maximum=10.0,
            ),
            SEED,
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
            prompt_field(required=True),
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
        fields=(prompt_field(max_length=2000, description="Overall sound direction (optional)."),),
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
            prompt_field(),
            FieldSpec(
                "num_samples",
                "Variations per request",
                FieldKind.INT,
                "Sounds made by one paid request; each lands as a take.",
                default=2,
                minimum=2,
                maximum=4,
            ),
            SEED,
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
        fields=(prompt_field(max_length=200, required=True),),
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
            prompt_field(required=True),
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


# the vendors described in modules of their own register themselves on import, after the above
from . import catalog_fal, catalog_self_hosted  # noqa: E402, F401 - registration order is the UI order
