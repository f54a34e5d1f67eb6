"""The shipped ComfyUI templates name only nodes and inputs that exist in the packs they target.

The node definitions below were read from each pack's source (``INPUT_TYPES`` /
``define_schema``) at the commit named; a template that uses an input a pack does
not declare, or leaves a required one out, would be refused by the server's
``validate_prompt`` on every run.
"""

from __future__ import annotations

import pytest

from vse_foley.providers.comfyui_workflow import check_workflow, load_template, placeholders_used

#: (required inputs, optional inputs) per node class, and where they were read.
NODE_PACKS: dict[str, tuple[str, dict[str, tuple[frozenset[str], frozenset[str]]]]] = {
    "ComfyUI core (comfyanonymous/ComfyUI comfy_extras/nodes_video.py @0413db9, nodes_audio.py @01e93c7)": (
        "core",
        {
            "LoadVideo": (frozenset({"file"}), frozenset()),
            "GetVideoComponents": (frozenset({"video"}), frozenset()),
            "SaveAudio": (frozenset({"audio", "filename_prefix"}), frozenset()),
        },
    ),
    "kijai/ComfyUI-MMAudio nodes.py @2010d29": (
        "mmaudio",
        {
            "MMAudioModelLoader": (frozenset({"mmaudio_model", "base_precision"}), frozenset()),
            "MMAudioFeatureUtilsLoader": (
                frozenset({"vae_model", "synchformer_model", "clip_model"}),
                frozenset({"bigvgan_vocoder_model", "mode", "precision"}),
            ),
            "MMAudioSampler": (
                frozenset(
                    {
                        "mmaudio_model",
                        "feature_utils",
                        "duration",
                        "steps",
                        "cfg",
                        "seed",
                        "prompt",
                        "negative_prompt",
                        "mask_away_clip",
                        "force_offload",
                    }
                ),
                frozenset({"images", "input_fps"}),
            ),
        },
    ),
    "phazei/ComfyUI-HunyuanVideo-Foley nodes.py @0c0e494": (
        "hunyuan_foley",
        {
            "HunyuanModelLoader": (
                frozenset({"model_name", "precision", "quantization"}),
                frozenset({"torch_compile_cfg"}),
            ),
            "HunyuanDependenciesLoader": (frozenset({"vae_name", "synchformer_name"}), frozenset()),
            "HunyuanFoleySampler": (
                frozenset(
                    {
                        "hunyuan_model",
                        "hunyuan_deps",
                        "frame_rate",
                        "duration",
                        "prompt",
                        "negative_prompt",
                        "cfg_scale",
                        "steps",
                        "sampler",
                        "batch_size",
                        "seed",
                        "force_offload",
                    }
                ),
                frozenset({"image"}),
            ),
        },
    ),
}
#: which packs each template may use (core is always there)
TEMPLATES = {"mmaudio": ("core", "mmaudio"), "hunyuan_foley": ("core", "hunyuan_foley")}


def _nodes_for(packs: tuple[str, ...]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    nodes: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for pack, classes in NODE_PACKS.values():
        if pack in packs:
            nodes.update(classes)
    return nodes


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_node_and_input_of_the_template_exists_in_its_packs(template: str) -> None:
    workflow = load_template(template)
    nodes = _nodes_for(TEMPLATES[template])
    for node_id, node in workflow.items():
        assert node["class_type"] in nodes, (
            f"{template} node {node_id}: {node['class_type']} is in no target pack"
        )
        required, optional = nodes[node["class_type"]]
        given = set(node["inputs"])
        assert given <= required | optional, (
            f"{node['class_type']} has no inputs {given - required - optional}"
        )
        assert required <= given, f"{node['class_type']} misses required inputs {required - given}"


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_links_to_nodes_it_has_and_ends_in_save_audio(template: str) -> None:
    workflow = load_template(template)
    check_workflow(workflow, template)
    for node in workflow.values():
        for value in node["inputs"].values():
            if isinstance(value, list):
                assert str(value[0]) in workflow and isinstance(value[1], int)
    assert placeholders_used(workflow) == {"clip", "prompt", "negative_prompt", "seed", "duration"}
