"""``providers.records.dataclass`` behaves as ``@dataclasses.dataclass(frozen=True)`` for the
catalog's classes (it only skips compiling their methods at the first enable)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from vse_foley.providers import records
from vse_foley.providers.capabilities import AccountLimits, FieldKind, FieldSpec, PriceEstimate, ProviderInfo
from vse_foley.providers.catalog import INFOS
from vse_foley.providers.vendor_spec import VENDOR_SPECS, Credential, Region, VendorSpec


def _sample(decorate: Any) -> type:
    """A class like the catalog's (required fields, then defaults), made by ``decorate``."""
    namespace = {"__annotations__": {"name": "str", "kind": "FieldKind", "minimum": "float | None",
                                     "choices": "tuple[str, ...]", "required": "bool"},
                 "minimum": None, "choices": (), "required": False}
    made: type = decorate(type("Sample", (), namespace))
    return made


def _pair() -> tuple[type, type]:
    """The same class made by each decorator: ours, then the real one."""
    return _sample(records.dataclass(frozen=True)), _sample(dataclasses.dataclass(frozen=True))


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("seed", FieldKind.INT), {}),
    (("seed",), {"kind": FieldKind.INT, "required": True}),
    ((), {"required": True, "kind": FieldKind.TEXT, "name": "prompt", "choices": ("a", "b")}),
    (("top_k", FieldKind.INT, 1.0, ("x",), True), {}),
]

BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),  # both required fields missing
    ((), {"minimum": 1.0}),
    (("seed",), {}),  # one missing
    (("seed", FieldKind.INT), {"nonsense": 1}),  # unknown keyword
    (("seed", FieldKind.INT), {"name": "again"}),  # twice
    (("seed", FieldKind.INT, 1.0, (), True, "extra"), {}),  # too many
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_a_record_has_the_values_repr_equality_and_hash_of_a_frozen_dataclass(
        args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours_class, real_class = _pair()
    ours, real = ours_class(*args, **kwargs), real_class(*args, **kwargs)
    assert vars(ours) == vars(real) and list(vars(ours)) == list(vars(real))  # same values, field order
    assert repr(ours) == repr(real)
    assert hash(ours) == hash(real)
    same = ours_class(*args, **kwargs)
    assert ours == same
    assert not ours != same  # noqa: SIM202 - __ne__ is Python's inverse of our __eq__: checked too
    assert ours != ours_class("other", FieldKind.BOOL)
    assert ours != real  # another class is never equal, as between two dataclasses
    assert ours_class.__match_args__ == real_class.__match_args__
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(real)]
    assert dataclasses.is_dataclass(ours)
    assert dataclasses.asdict(ours) == dataclasses.asdict(real)


@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_a_record_refuses_the_calls_a_frozen_dataclass_refuses(args: tuple[Any, ...],
                                                                kwargs: dict[str, Any]) -> None:
    ours_class, real_class = _pair()
    with pytest.raises(TypeError) as real_error:
        real_class(*args, **kwargs)
    with pytest.raises(TypeError) as our_error:
        ours_class(*args, **kwargs)
    assert str(our_error.value) == str(real_error.value)


def test_a_record_is_frozen_and_replace_copy_and_pickle_protocols_work() -> None:
    ours_class, _ = _pair()
    record = ours_class("seed", FieldKind.INT, minimum=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del record.name
    changed = dataclasses.replace(record, minimum=5.0)
    assert changed.minimum == 5.0 and changed.name == "seed" and record.minimum == 0.0
    assert copy.copy(record) == record and copy.deepcopy(record) == record
    assert {record: 1}[ours_class("seed", FieldKind.INT, minimum=0.0)] == 1  # usable as a key


def test_a_record_refuses_what_it_does_not_support() -> None:
    with pytest.raises(TypeError):
        records.dataclass(frozen=False)
    with pytest.raises(TypeError, match="default_factory"):
        records.dataclass(frozen=True)(type("Listy", (), {"__annotations__": {"items": "list[str]"},
                                                          "items": dataclasses.field(default_factory=list)}))


def test_the_catalog_classes_are_records_and_their_instances_behave() -> None:
    for cls in (FieldSpec, PriceEstimate, AccountLimits, ProviderInfo, Credential, Region, VendorSpec):
        assert cls.__init__.__code__.co_filename == records.__file__  # made by records, nothing compiled
        assert dataclasses.is_dataclass(cls)
    info = next(iter(INFOS.values()))
    assert dataclasses.replace(info, label="changed").label == "changed"
    assert dataclasses.replace(info, label=info.label) == info
    assert repr(info).startswith(f"ProviderInfo(id={info.id!r}, label={info.label!r}")
    spec = next(iter(VENDOR_SPECS))
    assert hash(spec) == hash(dataclasses.replace(spec))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.label = "x"  # type: ignore[misc]
