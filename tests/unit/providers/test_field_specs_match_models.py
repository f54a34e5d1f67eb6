"""One source of truth for limits (issue 12): every FieldSpec of the catalog agrees with the
pydantic model its vendor module checks before sending.

The catalog (``providers/catalog.py``) is what the UI shows and checks live; the request models
are what refuses a request before any money is spent. This walks every provider's every field
spec against its model (min/max, max_length, required, choices) and its min/max seconds against
the model's duration, so a limit changed in one place and not the other fails here.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from vse_foley.providers import all_provider_infos
from vse_foley.providers.base import FieldKind, FieldSpec, ProviderInfo
from vse_foley.providers.catalog import INFOS, SEED_MAX
from vse_foley.providers.comfyui import HunyuanFoleyOnComfyInput, MMAudioOnComfyInput, WorkflowInput
from vse_foley.providers.elevenlabs import OUTPUT_FORMATS, SoundEffectInput
from vse_foley.providers.fal import KlingOnFalInput, MireloOnFalInput, MMAudioOnFalInput, ThinkSoundOnFalInput
from vse_foley.providers.flexstack import AudioGenConfigs, AudioGenInput
from vse_foley.providers.kling import KlingVideoToAudioInput
from vse_foley.providers.vidu import TextToAudioInput, TimingPrompt, TimingToAudioInput
from vse_foley.providers.wavespeed import (
    HunyuanFoleyInput,
    KlingOnWaveSpeedInput,
    KlingTextToAudioInput,
    MireloSfx16Input,
    MireloSfxInput,
    MMAudioInput,
    SoniloInput,
    ThinkSoundInput,
)

#: provider id -> (its request model, FieldSpec name -> (model, field name) where it is checked).
MODELS: dict[str, tuple[type[BaseModel], dict[str, tuple[type[BaseModel], str]]]] = {
    "wavespeed.think-sound": (ThinkSoundInput, {}),
    "wavespeed.mmaudio-v2": (MMAudioInput, {}),
    "wavespeed.hunyuan-video-foley": (HunyuanFoleyInput, {}),
    "wavespeed.kling-video-to-audio": (
        KlingOnWaveSpeedInput, {"prompt": (KlingOnWaveSpeedInput, "sound_effect_prompt")}),
    "wavespeed.mirelo-sfx": (MireloSfxInput, {}),
    "kling.video-to-audio": (
        KlingVideoToAudioInput, {"prompt": (KlingVideoToAudioInput, "sound_effect_prompt")}),
    "vidu.timing2audio": (TimingToAudioInput, {}),
    "vidu.text2audio": (TextToAudioInput, {}),
    "flexstack.audiogen": (AudioGenInput, {name: (AudioGenConfigs, name)
                                           for name in ("model", "duration", "top_k", "top_p")}),
    "wavespeed.sonilo-video-to-sfx": (SoniloInput, {}),
    "wavespeed.mirelo-sfx-1.6": (MireloSfx16Input, {}),
    "wavespeed.kling-text-to-audio": (KlingTextToAudioInput, {}),
    "elevenlabs.sound-effects": (
        SoundEffectInput,
        {"prompt": (SoundEffectInput, "text"), "duration": (SoundEffectInput, "duration_seconds")}),
    "comfyui.mmaudio": (MMAudioOnComfyInput, {}),
    "comfyui.hunyuan-foley": (HunyuanFoleyOnComfyInput, {}),
    "comfyui.workflow": (WorkflowInput, {}),
    # fal.ai (issue 14): fal's own field names
    "fal.mmaudio-v2": (MMAudioOnFalInput, {"num_inference_steps": (MMAudioOnFalInput, "num_steps"),
                                           "guidance_scale": (MMAudioOnFalInput, "cfg_strength")}),
    "fal.thinksound": (ThinkSoundOnFalInput, {"guidance_scale": (ThinkSoundOnFalInput, "cfg_scale")}),
    "fal.kling-video-to-audio": (KlingOnFalInput, {
        "prompt": (KlingOnFalInput, "sound_effect_prompt"),
        "bgm_prompt": (KlingOnFalInput, "background_music_prompt"),
    }),
    "fal.mirelo-sfx": (MireloOnFalInput, {"prompt": (MireloOnFalInput, "text_prompt")}),
}

#: A seed of -1 means "random": a vendor that takes no -1 gets no seed (None), so its model's
#: minimum may be 0 (or 1: Mirelo on fal.ai) where the FieldSpec's is -1.
RANDOM_SEED = -1


def _constraint(field: FieldInfo, name: str) -> Any:
    kinds = {"ge": annotated_types.Ge, "le": annotated_types.Le, "max_length": annotated_types.MaxLen,
             "min_length": annotated_types.MinLen}
    for item in field.metadata:
        if isinstance(item, kinds[name]):
            return getattr(item, name)
    return None


def _model_field(provider_id: str, spec: FieldSpec) -> FieldInfo:
    model, renamed = MODELS[provider_id]
    owner, name = renamed.get(spec.name, (model, spec.name))
    assert name in owner.model_fields, f"{provider_id}: no field of {owner.__name__} checks {spec.name}"
    return owner.model_fields[name]


#: FieldSpecs a vendor takes outside its JSON body (a query parameter), checked by their own list.
QUERY_CHOICES = {("elevenlabs.sound-effects", "output_format"): OUTPUT_FORMATS}


def _specs() -> list[tuple[str, FieldSpec]]:
    return [(info.id, spec) for info in all_provider_infos() for spec in info.fields
            if (info.id, spec.name) not in QUERY_CHOICES]


@pytest.mark.parametrize(("provider_id", "name"), sorted(QUERY_CHOICES))
def test_a_query_parameters_choices_are_the_ones_the_module_sends(provider_id: str, name: str) -> None:
    spec = INFOS[provider_id].field(name)
    assert spec is not None and spec.kind is FieldKind.CHOICE
    assert {value for value, _ in spec.choices} == set(QUERY_CHOICES[(provider_id, name)])


def test_every_provider_has_a_model_here() -> None:
    assert set(MODELS) == set(INFOS)


@pytest.mark.parametrize(("provider_id", "spec"), _specs(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_field_spec_and_the_model_agree(provider_id: str, spec: FieldSpec) -> None:
    field = _model_field(provider_id, spec)
    where = f"{provider_id} {spec.name}"
    if spec.kind in (FieldKind.INT, FieldKind.FLOAT):
        low, high = _constraint(field, "ge"), _constraint(field, "le")
        assert high == spec.maximum, f"{where}: model le={high}, catalog maximum={spec.maximum}"
        if spec.name == "seed" and spec.minimum == RANDOM_SEED:
            assert low in (RANDOM_SEED, 0, 1), f"{where}: model ge={low}"
            assert spec.maximum in (SEED_MAX, 65535)  # 65535: MMAudio on fal.ai
        else:
            assert low == spec.minimum, f"{where}: model ge={low}, catalog minimum={spec.minimum}"
    elif spec.kind is FieldKind.TEXT:
        assert _constraint(field, "max_length") == spec.max_length, where
        required = field.is_required() and (_constraint(field, "min_length") or 0) >= 1
        assert required == spec.required, f"{where}: model required={required}, catalog {spec.required}"
    elif spec.kind is FieldKind.CHOICE:
        assert get_origin(field.annotation) is Literal, where
        assert set(get_args(field.annotation)) == {value for value, _ in spec.choices}, where
    elif spec.kind is FieldKind.BOOL:
        assert field.annotation is bool, where


def _duration_field(info: ProviderInfo) -> FieldInfo | None:
    model, renamed = MODELS[info.id]
    owner, name = renamed.get("duration", (model, "duration"))
    return owner.model_fields.get(name)


#: Models without a duration: the provider checks the range against min/max seconds itself.
NO_DURATION = {"wavespeed.think-sound", "wavespeed.hunyuan-video-foley", "wavespeed.kling-video-to-audio",
               "kling.video-to-audio", "wavespeed.sonilo-video-to-sfx", "wavespeed.mirelo-sfx-1.6",
               "fal.thinksound", "fal.kling-video-to-audio"}


def test_the_models_without_a_duration_are_the_known_ones() -> None:
    assert {info.id for info in all_provider_infos() if _duration_field(info) is None} == NO_DURATION


@pytest.mark.parametrize("info", [i for i in all_provider_infos() if i.id not in NO_DURATION],
                         ids=lambda info: info.id)
def test_a_models_duration_allows_the_catalogs_seconds(info: ProviderInfo) -> None:
    field = _duration_field(info)
    assert field is not None
    assert (_constraint(field, "ge"), _constraint(field, "le")) == (info.min_seconds, info.max_seconds)


def test_a_vidu_event_prompt_is_as_long_as_its_text_prompt() -> None:
    text = INFOS["vidu.text2audio"].field("prompt")
    assert text is not None
    assert _constraint(TimingPrompt.model_fields["prompt"], "max_length") == text.max_length


def test_the_walk_would_see_a_disagreement() -> None:
    """A changed catalog limit is caught (the comparison is not vacuous)."""
    spec = INFOS["wavespeed.mmaudio-v2"].field("num_inference_steps")
    assert spec is not None
    field = _model_field("wavespeed.mmaudio-v2", spec)
    assert _constraint(field, "le") == spec.maximum
    assert _constraint(field, "le") != (spec.maximum or 0) + 1
