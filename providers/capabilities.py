"""What a provider takes and allows: the capability description the UI and the catalog are made of.

Split from ``base`` so registration (``scene.foley`` and the preferences are built from the
catalog) loads these few classes only; ``base`` re-exports them, so either import works.
Stdlib only.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same frozen dataclasses, made without compiling code at the first enable
    from .records import dataclass


class FieldKind(str, Enum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True)
class FieldSpec:
    """One input a provider takes, with its documented limits.

    ``name`` is either a common request attribute (``prompt``, ``bgm_prompt``,
    ``negative_prompt``, ``seed``, ``duration``) or a key of
    ``GenerationRequest.options`` (``asmr_mode``, ``top_k``...).
    """

    name: str
    label: str
    kind: FieldKind
    description: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


@dataclass(frozen=True)
class PriceEstimate:
    """A published list price, used for the cost shown before spending.

    ``source`` says where it was read and ``seen`` when (``"2026-12"``): prices change, and
    the estimate says how old its prices are. Only published prices are entered, never guesses.
    """

    currency: str = "USD"
    per_call: float = 0.0
    per_second: float = 0.0
    source: str = ""
    seen: str = ""

    def for_seconds(self, seconds: float) -> float:
        return self.per_call + self.per_second * seconds


InputKind = Literal["video", "text", "timeline"]

@dataclass(frozen=True)
class AccountLimits:
    """What one vendor account allows: tasks running at once, submits a minute (0: not bounded).

    Limits belong to the account (one key), shared by every model on it; the
    defaults are the vendor's documented default tier, a user on a higher tier
    raises them in the preferences.
    """

    label: str
    concurrency: int
    submits_per_minute: float = 0.0
    polls_per_minute: float = 120.0


@dataclass(frozen=True)
class ProviderInfo:
    """One provider (a model on one vendor): what it takes, its limits, its price and account."""

    id: str
    label: str
    vendor: str  # credential group: "wavespeed", "kling", "vidu", "flexstack"
    description: str
    input: InputKind
    fields: tuple[FieldSpec, ...]
    min_seconds: float
    max_seconds: float
    best_seconds: float | None = None
    takes_seed: bool = True
    default_concurrency: int = 3
    min_short_side: int = 0  # the preferred input's short side in pixels: the clip is never smaller
    price: PriceEstimate | None = None
    #: several outputs of one request are variations: they land as takes (core/extra_takes.py)
    outputs_are_takes: bool = False
    #: the vendor account whose limits this provider shares (one key = one account);
    #: empty: the provider counts on its own (see ``account_id``)
    account: str = ""
    #: options a script may pass that are no UI fields (``cli --option``), e.g. a vendor's own ids
    extra_options: tuple[str, ...] = ()
    #: the model it runs when several hosts offer the same one ("mmaudio-v2"; providers/model_hosts.py):
    #: providers with the same ``model`` are hosts of it; empty: a model of its own
    model: str = ""

    @property
    def account_id(self) -> str:
        return self.account or self.id

    @property
    def needs_video(self) -> bool:
        return self.input == "video"

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)
