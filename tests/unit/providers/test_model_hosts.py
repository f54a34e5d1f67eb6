"""Issue 14 item 6: which providers are hosts of one model (pure; the catalog is the source)."""

from __future__ import annotations

import pytest

from vse_foley.providers import PROVIDER_IDS, provider_info
from vse_foley.providers.model_hosts import (
    host_label,
    hosts_of,
    menu_groups,
    model_label,
    model_of,
    usable_hosts,
)

SAME_MODEL = {
    "mmaudio-v2": ("wavespeed.mmaudio-v2", "fal.mmaudio-v2"),
    "thinksound": ("wavespeed.think-sound", "fal.thinksound"),
    "kling-video-to-audio": ("wavespeed.kling-video-to-audio", "kling.video-to-audio",
                             "fal.kling-video-to-audio"),
}


@pytest.mark.parametrize(("model", "hosts"), list(SAME_MODEL.items()))
def test_each_host_of_a_model_names_all_of_them(model, hosts):
    for provider_id in hosts:
        assert model_of(provider_id) == model
        assert hosts_of(provider_id) == hosts


@pytest.mark.parametrize("provider_id", [
    "wavespeed.mirelo-sfx",  # Mirelo SFX 2.0 on WaveSpeed ...
    "fal.mirelo-sfx",  # ... 1.5 on fal: another version, other limits
    "wavespeed.mirelo-sfx-1.6",
    "wavespeed.hunyuan-video-foley",  # the self-hosted ComfyUI ones stay apart (model_hosts docstring)
    "comfyui.hunyuan-foley",
    "comfyui.mmaudio",
])
def test_other_versions_and_self_hosted_servers_are_models_of_their_own(provider_id):
    assert hosts_of(provider_id) == (provider_id,)


def test_hosts_of_one_model_take_the_same_clip_lengths():
    # a job moved to another host keeps its chunks: the hosts must agree on what a request may be
    for hosts in SAME_MODEL.values():
        limits = {(provider_info(h).min_seconds, provider_info(h).max_seconds) for h in hosts}
        assert len(limits) == 1, hosts


def test_usable_hosts_start_with_the_chosen_one_then_the_ready_ones_in_menu_order():
    ready = {"fal.kling-video-to-audio", "wavespeed.kling-video-to-audio"}
    assert usable_hosts("kling.video-to-audio", ready.__contains__) == (
        "kling.video-to-audio", "wavespeed.kling-video-to-audio", "fal.kling-video-to-audio")
    assert usable_hosts("fal.mmaudio-v2", lambda _pid: False) == ("fal.mmaudio-v2",)
    assert usable_hosts("vidu.text2audio", lambda _pid: True) == ("vidu.text2audio",)


def test_menu_groups_put_hosts_together_under_the_models_name_and_keep_every_id_once():
    groups = menu_groups()
    assert [pid for _name, hosts in groups for pid in hosts] == sorted(
        PROVIDER_IDS, key=lambda pid: [pid in hosts for _n, hosts in groups].index(True))
    assert sorted(pid for _name, hosts in groups for pid in hosts) == sorted(PROVIDER_IDS)
    named = {name: hosts for name, hosts in groups if name}
    assert named == {"MMAudio v2": SAME_MODEL["mmaudio-v2"], "ThinkSound": SAME_MODEL["thinksound"],
                     "Kling video-to-audio": SAME_MODEL["kling-video-to-audio"]}
    assert groups[0][1][0] == PROVIDER_IDS[0]  # the default item stays first


def test_labels_name_the_model_and_the_host():
    assert model_label("fal.mmaudio-v2") == "MMAudio v2"
    assert model_label("vidu.text2audio") == provider_info("vidu.text2audio").label
    assert host_label("fal.mmaudio-v2") == "fal.ai" and host_label("wavespeed.mmaudio-v2") == "WaveSpeed"
