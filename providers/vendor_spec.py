"""One declarative description per vendor (issue 12): everything else about a vendor is derived.

A ``VendorSpec`` says what a vendor (or an upload host) needs configured and how
the extension reaches it: its credential fields (preference, environment
variable, secret or not), the base URL's environment override, default URL and
regions, the documented account limits, the Test Connection probe, and the
upload host its key gives. From the specs in ``VENDOR_SPECS`` the product derives

- settings resolution (``providers/settings.py``: ``settings.vendor(id)``),
- the preference properties and their drawing (``preferences.py``,
  ``panels/preferences_ui.py``),
- readiness and missing-key sentences (``core/checks.py``),
- Test Connection (``operators/test_connection.py``, ``providers/connection_test.py``),
- the account limits (``providers/catalog.ACCOUNT_LIMITS``) and the CLI's help.

Stdlib only and cheap to import: preferences are generated from it at registration.

Adding a vendor: define its ``VendorSpec`` (here, next to the built-ins) and call
``providers.register_vendor(spec, infos, implementations)`` (``providers/catalog.py``
registers the built-ins exactly so, at import); a test may register a spec of its
own the same way and ``unregister_vendor(id)`` afterwards. The registry is
filled when ``vse_foley.providers`` is imported (importing this module does that).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .capabilities import AccountLimits

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same frozen dataclasses, made without compiling code at the first enable
    from .records import dataclass

#: Where the add-on preferences are, for sentences.
PREFS_PATH = "Edit ▸ Preferences ▸ Add-ons ▸ VSE Foley"
#: Where Blender's online switch is, for sentences (here so the preferences need not load the checks).
ONLINE_ACCESS_PATH = "Edit ▸ Preferences ▸ System ▸ Network ▸ Allow Online Access"


@dataclass(frozen=True)
class Credential:
    """One configured value of a vendor: a key, a token, a user name, a bucket..."""

    name: str  # field inside the vendor's resolved settings, e.g. "api_key"
    pref: str  # AddonPreferences property, e.g. "fal_api_key"
    env: str  # environment fallback, e.g. "FAL_KEY"
    label: str  # "fal.ai API key": the preference's label, also used in sentences
    secret: bool = True  # a PASSWORD preference, a ``Secret`` in the settings, redacted everywhere
    optional: bool = False  # not needed for the vendor to be ready (e.g. an S3 key prefix)
    default: str = ""  # used when neither the preference nor the environment has a value
    description: str = ""  # tooltip text before the environment fallback note
    env_fallback: str = ""  # a second environment variable, read when ``env`` is empty (AWS_DEFAULT_REGION)
    #: "text"; "bool" (a checkbox: "1" when on, "" when off); "file" (a file path chooser)
    kind: str = "text"


@dataclass(frozen=True)
class Region:
    """One choice of the ``<id>_region`` preference."""

    id: str
    label: str
    url: str

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0]


@dataclass(frozen=True)
class VendorSpec:
    """Everything the product knows about one vendor outside its provider module."""

    id: str  # "fal"; also the prefix of its preference names
    label: str  # "fal.ai"
    credentials: tuple[Credential, ...]
    url_env: str = ""  # "VSE_FOLEY_FAL_URL": wins over the region and the default
    default_url: str = ""  # "" with regions: the first region's URL
    #: documented account defaults (tasks at once, submits a minute); None: no per-account limits
    limits: AccountLimits | None = None
    tasks_note: str = ""  # what the vendor documents about tasks at once (preference tooltip)
    submits_note: str = ""  # ... and about submits a minute
    account: str = ""  # key of the per-account limits; "" means ``id``
    regions: tuple[Region, ...] = ()  # non-empty: a "<id>_region" choice preference
    default_region: str = ""  # "" means the first region
    #: provider id Test Connection polls with an impossible task id ...
    probe_provider: str = ""
    #: ... or "module:function" inside ``providers`` called as ``function(settings, spec) -> str``
    probe: str = ""
    upload_host: str = ""  # name of the upload host this vendor's credentials give ("wavespeed")
    upload_label: str = ""  # its ``upload_host`` preference choice, "WaveSpeed media upload"
    needs_upload: bool = False  # its video providers fetch the clip from a public URL (upload host)
    #: another way to reach this vendor's models without an upload host (readiness sentence)
    upload_alternative: str = ""
    #: alternative credential sets, any one of which suffices; () means every non-optional credential
    requires: tuple[tuple[str, ...], ...] = ()
    needs: str = ""  # what it needs configured, for ``cli providers`` and the preferences; "" derived
    #: a credential holding the base URL (a self-hosted server's address is the user's setting):
    #: its value (preference, then environment) wins over ``default_url``
    url_field: str = ""
    #: a "bool" credential that, when on, also allows plain http to private-network addresses
    #: (a studio's GPU box on the LAN); never to public hosts
    lan_http_field: str = ""
    credentials_hint: str = ""  # where to get keys (a sentence for the preferences)

    @property
    def account_id(self) -> str:
        return self.account or self.id

    @property
    def region_pref(self) -> str:
        """The preference holding the region choice ("" when the vendor has no regions)."""
        return f"{self.id}_region" if self.regions else ""

    @property
    def region_default(self) -> str:
        return self.default_region or (self.regions[0].id if self.regions else "")

    @property
    def limit_prefs(self) -> tuple[str, str]:
        """``<account>_tasks_at_once`` and ``<account>_submits_per_minute``."""
        return f"{self.account_id}_tasks_at_once", f"{self.account_id}_submits_per_minute"

    def credential(self, name: str) -> Credential:
        for field in self.credentials:
            if field.name == name:
                return field
        raise KeyError(f"{self.id} has no credential '{name}'")

    def requirement_sets(self) -> tuple[tuple[str, ...], ...]:
        """The credential sets any one of which makes the vendor ready."""
        if self.requires:
            return self.requires
        return (tuple(field.name for field in self.credentials if not field.optional),)

    def needs_text(self) -> str:
        """"WAVESPEED_API_KEY", "A + B", "A, or B + C" (environment names)."""
        if self.needs:
            return self.needs
        sets = [" + ".join(self.credential(name).env for name in names) for names in self.requirement_sets()]
        return ", or ".join(s for s in sets if s) or "nothing"

    def pref_names(self) -> tuple[str, ...]:
        """Every preference the settings read for this vendor (credentials, then the region)."""
        names = tuple(field.pref for field in self.credentials)
        return (*names, self.region_pref) if self.regions else names

    def env_names(self) -> tuple[str, ...]:
        """Every environment variable this vendor reads (credentials, then the base URL)."""
        names = tuple(env for field in self.credentials for env in (field.env, field.env_fallback) if env)
        return (*names, self.url_env) if self.url_env else names


class _Registry:
    """The ordered vendor specs; ``register_vendor`` is the only way in."""

    def __init__(self) -> None:
        self._specs: dict[str, VendorSpec] = {}

    def add(self, spec: VendorSpec) -> None:
        self._specs[spec.id] = spec

    def remove(self, vendor_id: str) -> None:
        self._specs.pop(vendor_id, None)

    def get(self, vendor_id: str) -> VendorSpec | None:
        return self._specs.get(vendor_id)

    def __iter__(self) -> Iterator[VendorSpec]:
        return iter(tuple(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, vendor_id: object) -> bool:
        return vendor_id in self._specs


#: Every vendor, in the order the preferences and the CLI show them (iterate it; it changes
#: only through ``register_vendor``/``unregister_vendor``).
VENDOR_SPECS = _Registry()


def vendor_spec(vendor_id: str) -> VendorSpec:
    """The spec of ``vendor_id``; KeyError with the known ids when there is none."""
    spec = VENDOR_SPECS.get(vendor_id)
    if spec is None:
        known = ", ".join(s.id for s in VENDOR_SPECS)
        raise KeyError(f"Unknown vendor '{vendor_id}'; known vendors: {known}.")
    return spec


def vendor_specs() -> tuple[VendorSpec, ...]:
    return tuple(VENDOR_SPECS)


def upload_host_specs() -> tuple[VendorSpec, ...]:
    """The vendors that give an upload host, in registry order."""
    return tuple(spec for spec in VENDOR_SPECS if spec.upload_host)


def add_spec(spec: VendorSpec) -> None:
    """Low level: put ``spec`` in the registry. Use ``providers.register_vendor`` (also adds providers)."""
    _check(spec)
    VENDOR_SPECS.add(spec)


def remove_spec(vendor_id: str) -> None:
    VENDOR_SPECS.remove(vendor_id)


def _check(spec: VendorSpec) -> None:
    names = [field.name for field in spec.credentials]
    if len(set(names)) != len(names):
        raise ValueError(f"{spec.id}: credential names repeat: {names}")
    for field in spec.credentials:
        if not field.pref.startswith(f"{spec.id}_"):
            raise ValueError(f"{spec.id}: preference {field.pref} must start with '{spec.id}_'")
    for names_set in spec.requires:
        for name in names_set:
            spec.credential(name)
    for name in (spec.url_field, spec.lan_http_field):
        if name:
            spec.credential(name)
    if spec.lan_http_field and spec.credential(spec.lan_http_field).kind != "bool":
        raise ValueError(f"{spec.id}: {spec.lan_http_field} must be a bool credential")
    if spec.default_region and spec.default_region not in {r.id for r in spec.regions}:
        raise ValueError(f"{spec.id}: default region {spec.default_region} is not one of its regions")


# -- the built-in vendors (registered with their providers in ``providers/catalog.py``) -----------

#: Our bound where a vendor documents no submit rate: a runaway batch still cannot hammer it.
UNDOCUMENTED_SUBMITS_PER_MINUTE = 30.0
#: Vidu's usage page: 5 concurrent tasks per organisation, shared by every endpoint.
VIDU_CONCURRENCY = 5

WAVESPEED = VendorSpec(
    id="wavespeed",
    label="WaveSpeed",
    credentials=(Credential("api_key", "wavespeed_api_key", "WAVESPEED_API_KEY", "WaveSpeed API key"),),
    url_env="VSE_FOLEY_WAVESPEED_URL",
    default_url="https://api.wavespeed.ai",
    # WaveSpeed default tier: 5 video tasks a minute and 3 at once, per key (vendors.md, [C]).
    limits=AccountLimits("WaveSpeed", concurrency=3, submits_per_minute=5.0),
    tasks_note="Default tier: 3.",
    submits_note="Default tier: 5 video tasks a minute.",
    probe_provider="wavespeed.think-sound",
    upload_host="wavespeed",
    upload_label="WaveSpeed media upload",
)

KLING = VendorSpec(
    id="kling",
    label="Kling",
    credentials=(
        Credential("access_key", "kling_access_key", "KLING_ACCESS_KEY", "Kling access key"),
        Credential("secret_key", "kling_secret_key", "KLING_SECRET_KEY", "Kling secret key"),
    ),
    url_env="VSE_FOLEY_KLING_URL",
    regions=(
        Region("singapore", "Global (Singapore)", "https://api-singapore.klingai.com"),
        Region("beijing", "Mainland China (Beijing)", "https://api-beijing.klingai.com"),
        Region("legacy", "Legacy", "https://api.klingai.com"),
    ),
    # Kling documents 1302/1303 (rate, concurrency) but no numbers: keep our default of 2.
    limits=AccountLimits("Kling", concurrency=2, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE),
    tasks_note="Kling documents no number.",
    submits_note="Kling documents no number: this is our bound.",
    probe_provider="kling.video-to-audio",
    needs_upload=True,
    upload_alternative="or use the provider Kling video-to-audio (WaveSpeed)",
)

VIDU = VendorSpec(
    id="vidu",
    label="Vidu",
    credentials=(Credential("api_key", "vidu_api_key", "VIDU_API_KEY", "Vidu API key"),),
    url_env="VSE_FOLEY_VIDU_URL",
    regions=(
        Region("global", "Global (vidu.com)", "https://api.vidu.com"),
        Region("china", "China (vidu.cn)", "https://api.vidu.cn"),
    ),
    limits=AccountLimits(
        "Vidu", concurrency=VIDU_CONCURRENCY, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE
    ),
    tasks_note="Vidu: 5 per organisation.",
    submits_note="Vidu documents no number: this is our bound.",
    probe_provider="vidu.text2audio",
)

FLEXSTACK = VendorSpec(
    id="flexstack",
    label="FlexStack",
    credentials=(
        Credential(
            "access_token", "flexstack_access_token", "FLEXSTACK_ACCESS_TOKEN", "FlexStack access token"
        ),
        Credential(
            "username", "flexstack_username", "FLEXSTACK_USERNAME", "FlexStack username", secret=False
        ),
        Credential("password", "flexstack_password", "FLEXSTACK_PASSWORD", "FlexStack password"),
    ),
    requires=(("access_token",), ("username", "password")),
    url_env="VSE_FOLEY_FLEXSTACK_URL",
    default_url="https://api.flexstack.ai/v1",
    limits=AccountLimits("FlexStack", concurrency=2, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE),
    tasks_note="FlexStack documents no number.",
    submits_note="FlexStack documents no number: this is our bound.",
    probe_provider="flexstack.audiogen",
)

#: Your own S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Backblaze B2...) as an upload host:
#: no providers, no account limits; the endpoint is a setting of its own (``providers/s3_settings.py``
#: checks it: https, or plain http to this computer), so ``url_env`` stays empty.
S3 = VendorSpec(
    id="s3",
    label="S3",
    credentials=(
        Credential("endpoint", "s3_endpoint", "VSE_FOLEY_S3_ENDPOINT", "S3 endpoint URL", secret=False,
                   description="https://s3.<region>.amazonaws.com, "
                               "https://<account>.r2.cloudflarestorage.com, "
                               "https://s3.<region>.backblazeb2.com or your MinIO server"),
        Credential("region", "s3_region", "AWS_REGION", "S3 region", secret=False, optional=True,
                   env_fallback="AWS_DEFAULT_REGION",
                   description="The bucket's region (R2: auto); also read from $AWS_DEFAULT_REGION, "
                               "else us-east-1."),
        Credential("bucket", "s3_bucket", "VSE_FOLEY_S3_BUCKET", "S3 bucket", secret=False,
                   description="A private bucket; set a lifecycle rule that deletes objects under the "
                               "prefix after a day"),
        Credential("prefix", "s3_prefix", "VSE_FOLEY_S3_PREFIX", "S3 key prefix", secret=False, optional=True,
                   default="vse-foley/", description="Clips are stored under this prefix"),
        Credential("access_key_id", "s3_access_key_id", "AWS_ACCESS_KEY_ID", "S3 access key ID"),
        Credential("secret_access_key", "s3_secret_access_key", "AWS_SECRET_ACCESS_KEY",
                   "S3 secret access key"),
    ),
    probe="s3_host:probe_connection",
    upload_host="s3",
    upload_label="S3-compatible storage (your bucket)",
    credentials_hint="A key that may put, get and delete objects under the prefix of one private bucket.",
)

#: The editor's own ComfyUI server (issue 16): no key (an optional proxy token), one prompt at a time.
COMFYUI = VendorSpec(
    id="comfyui",
    label="ComfyUI",
    credentials=(
        Credential(
            "token", "comfyui_token", "VSE_FOLEY_COMFYUI_TOKEN", "ComfyUI token", optional=True,
            description="Sent as Authorization: Bearer, for a server behind a proxy that asks for one",
        ),
        # not optional: ComfyUI counts as ready (menus, compare-vendors) once the editor says where
        # the server is; http://127.0.0.1:8188 is ComfyUI's own default on this computer
        Credential(
            "url", "comfyui_url", "VSE_FOLEY_COMFYUI_URL", "ComfyUI server URL", secret=False,
            description="Where your ComfyUI server listens: http://127.0.0.1:8188 for ComfyUI on this "
            "computer",
        ),
        Credential(
            "allow_lan_http", "comfyui_allow_lan_http", "VSE_FOLEY_COMFYUI_ALLOW_LAN_HTTP",
            "Allow plain http on my local network", secret=False, optional=True, kind="bool",
            description="Accept http:// for a ComfyUI server at a private-network address (10.x, "
            "172.16–31.x, 192.168.x, a .local name); never for a public host",
        ),
        Credential(
            "workflow", "comfyui_workflow", "VSE_FOLEY_COMFYUI_WORKFLOW", "ComfyUI workflow file",
            secret=False, optional=True, kind="file",
            description="Your own API-format workflow (ComfyUI ▸ Workflow ▸ Export (API)) for the provider "
            "'Your ComfyUI workflow'",
        ),
    ),
    url_field="url",
    lan_http_field="allow_lan_http",
    # the server's queue runs one prompt at a time: more at once would only wait there
    limits=AccountLimits("ComfyUI", concurrency=1, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE),
    tasks_note="A ComfyUI server runs one prompt at a time.",
    submits_note="Our bound; the server documents none.",
    probe="comfyui:probe_server",
    needs="a running ComfyUI server",
    credentials_hint="Start ComfyUI (python main.py, with --listen for another machine) and install the node "
    "pack of each template (see the README).",
)


ELEVENLABS = VendorSpec(
    id="elevenlabs",
    label="ElevenLabs",
    credentials=(Credential("api_key", "elevenlabs_api_key", "ELEVENLABS_API_KEY", "ElevenLabs API key"),),
    url_env="VSE_FOLEY_ELEVENLABS_URL",
    default_url="https://api.elevenlabs.io",
    # requests in flight per plan; over it: 429 concurrent_limit_exceeded (its errors page)
    limits=AccountLimits("ElevenLabs", concurrency=2, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE),
    tasks_note="ElevenLabs limits requests at once by plan; 2 is the smallest plan's.",
    submits_note="ElevenLabs documents no number: this is our bound.",
    probe="elevenlabs:check_key",
    credentials_hint="Create a key at elevenlabs.io ▸ Developers ▸ API keys, with access to Sound Effects.",
)


# fal.ai (issue 14, docs/vendors/fal.md): queue + storage with one key.
FAL = VendorSpec(
    id="fal",
    label="fal.ai",
    credentials=(
        Credential("api_key", "fal_api_key", "FAL_KEY", "fal.ai API key"),
        Credential(
            "storage_url", "fal_storage_url", "VSE_FOLEY_FAL_STORAGE_URL", "fal.ai storage URL", secret=False,
            optional=True,
            description="Leave empty for fal.ai's own (https://rest.fal.ai); for a proxy only.",
        ),
    ),
    url_env="VSE_FOLEY_FAL_URL",
    default_url="https://queue.fal.run",
    # fal counts IN_PROGRESS requests per account and queues the rest (never refuses); a new
    # account runs 2 at once and the number grows with credit bought (fal's concurrency page
    # and FAQ). 2 keeps a new account's queue short, so Cancel of a job not started is free.
    limits=AccountLimits("fal.ai", concurrency=2, submits_per_minute=UNDOCUMENTED_SUBMITS_PER_MINUTE),
    tasks_note="fal.ai: 2 for a new account, more as credit is bought.",
    submits_note="fal.ai documents no rate: this is our bound.",
    probe_provider="fal.mmaudio-v2",
    upload_host="fal",
    upload_label="fal.ai storage",
    credentials_hint="Create a key at fal.ai/dashboard/keys.",
)

#: The built-in vendors in the order the preferences show them.
BUILTIN_SPECS: tuple[VendorSpec, ...] = (WAVESPEED, KLING, VIDU, FLEXSTACK, ELEVENLABS, FAL, S3, COMFYUI)
