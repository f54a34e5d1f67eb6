"""The self-hosted providers' capabilities (issue 16): a ComfyUI server the editor runs.

Registered by ``catalog`` at import; the provider module is ``comfyui``.
"""

from __future__ import annotations

from .capabilities import PriceEstimate, ProviderInfo
from .catalog_fields import SEED, negative_field, prompt_field
from .registry import register_vendor
from .vendor_spec import COMFYUI

#: nothing is billed: the price is 0 and says where it runs
_ON_YOUR_SERVER = PriceEstimate(per_call=0.0, source="on your server")  # core.cost.ON_YOUR_SERVER
_COMFY_FIELDS = (prompt_field(), negative_field(), SEED)
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
