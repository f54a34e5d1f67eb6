"""Settings resolution (preference → environment → default), the registry, and a cheap package import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vse_foley.providers import PROVIDER_IDS, all_provider_infos, create_provider, provider_info
from vse_foley.providers.base import FieldKind, Provider
from vse_foley.providers.catalog import IMPLEMENTATIONS, VENDOR_NEEDS
from vse_foley.providers.errors import ConfigError
from vse_foley.providers.settings import resolve_settings

ROOT = Path(__file__).resolve().parents[3]


def test_preference_wins_over_environment_which_wins_over_default():
    env = {"WAVESPEED_API_KEY": "from-env", "VIDU_API_KEY": "vidu-env"}
    settings = resolve_settings({"wavespeed_api_key": "from-pref", "vidu_api_key": "  "}, env)
    assert settings.wavespeed.api_key.reveal() == "from-pref"
    assert settings.vidu.api_key.reveal() == "vidu-env"  # a blank preference falls back
    assert not settings.kling.access_key
    assert settings.wavespeed.base_url == "https://api.wavespeed.ai"
    assert settings.flexstack.base_url == "https://api.flexstack.ai/v1"
    assert settings.upload_host == "auto"


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("", "https://api-singapore.klingai.com"),
        ("singapore", "https://api-singapore.klingai.com"),
        ("beijing", "https://api-beijing.klingai.com"),
        ("legacy", "https://api.klingai.com"),
    ],
)
def test_kling_region(region, url):
    assert resolve_settings({"kling_region": region}, {}).kling.base_url == url


@pytest.mark.parametrize(
    ("region", "url"),
    [("", "https://api.vidu.com"), ("global", "https://api.vidu.com"), ("china", "https://api.vidu.cn")],
)
def test_vidu_region(region, url):
    assert resolve_settings({"vidu_region": region}, {}).vidu.base_url == url


def test_environment_base_url_wins_over_region():
    env = {
        "VSE_FOLEY_KLING_URL": "http://127.0.0.1:9/kling/",
        "VSE_FOLEY_VIDU_URL": "https://proxy.example/vidu",
    }
    settings = resolve_settings({"kling_region": "beijing", "vidu_region": "china"}, env)
    assert settings.kling.base_url == "http://127.0.0.1:9/kling"
    assert settings.vidu.base_url == "https://proxy.example/vidu"


@pytest.mark.parametrize("url", ["http://api.example.com", "ftp://127.0.0.1", "api.wavespeed.ai"])
def test_keys_never_travel_unencrypted_to_a_remote_host(url):
    with pytest.raises(ConfigError, match="VSE_FOLEY_WAVESPEED_URL"):
        resolve_settings({}, {"VSE_FOLEY_WAVESPEED_URL": url})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_plain_http_is_fine_on_loopback(host):
    assert resolve_settings({}, {"VSE_FOLEY_VIDU_URL": f"http://{host}:8000"}).vidu.base_url.startswith(
        "http://"
    )


@pytest.mark.parametrize(
    ("key", "value"), [("kling_region", "mars"), ("vidu_region", "eu"), ("upload_host", "dropbox")]
)
def test_unknown_choices_are_config_errors(key, value):
    with pytest.raises(ConfigError, match=value):
        resolve_settings({key: value}, {})


def test_flexstack_credentials():
    token_only = resolve_settings({}, {"FLEXSTACK_ACCESS_TOKEN": "tok"}).flexstack
    assert token_only.access_token and not token_only.can_login
    login = resolve_settings({"flexstack_username": "u", "flexstack_password": "p"}, {}).flexstack
    assert login.can_login and not login.access_token
    with pytest.raises(ConfigError, match="FLEXSTACK_USERNAME"):
        resolve_settings({}, {"FLEXSTACK_USERNAME": "u"}).flexstack.require_credentials()


def test_registry_is_complete_and_consistent():
    # 9 first-landing providers, 3 ComfyUI (issue 16), 4 ElevenLabs/WaveSpeed and 4 fal.ai (issue 14)
    assert len(PROVIDER_IDS) == len(set(PROVIDER_IDS)) == 20
    assert set(PROVIDER_IDS) == set(IMPLEMENTATIONS)
    assert [info.id for info in all_provider_infos()] == list(PROVIDER_IDS)
    for info in all_provider_infos():
        assert info.vendor in VENDOR_NEEDS
        assert 0 < info.min_seconds < info.max_seconds
        for spec in info.fields:
            if spec.kind is FieldKind.CHOICE:
                assert spec.default in [value for value, _ in spec.choices]
            if spec.minimum is not None and spec.default is not None and spec.kind is not FieldKind.TEXT:
                assert spec.minimum <= spec.default <= spec.maximum
    assert provider_info("kling.video-to-audio").field("prompt").max_length == 200
    assert provider_info("wavespeed.mmaudio-v2").min_short_side == 384
    assert provider_info("vidu.timing2audio").input == "timeline"
    assert not provider_info("flexstack.audiogen").needs_video


def test_unknown_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="Unknown provider 'nope'.*wavespeed.think-sound"):
        provider_info("nope")
    with pytest.raises(ConfigError):
        create_provider("nope", {}, {})


@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
def test_every_provider_can_be_created_without_keys(provider_id):
    created = create_provider(provider_id, {}, {})
    try:
        assert isinstance(created, Provider) and created.info.id == provider_id
    finally:
        created.close()


def test_importing_the_package_loads_no_heavy_dependency():
    # What keeps registration fast: the registry and the capability descriptions load no
    # requests, pydantic, jwt or bpy. (How fast is measured by `make bench`, not here.)
    code = (
        "import sys; import vse_foley.providers as p; p.all_provider_infos(); "
        "heavy = ('requests', 'pydantic', 'jwt', 'urllib3', 'numpy', 'bpy'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout
