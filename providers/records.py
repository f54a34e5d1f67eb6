"""``@dataclass(frozen=True)`` for the classes the first enable builds, without compiling code.

Registration imports the capability catalog and the vendor specs (``scene.foley`` and the
preferences are made from them), so their seven classes are created at every first enable. On
Python 3.11 (Blender 4.2-5.0) ``dataclasses`` writes each class's ``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and compiles it,
one ``exec`` per method: about 1.2 ms a class, 8-10 ms of the enable, measured here in a fresh
``bpy`` process. This decorator gives the same behaviour with shared, already compiled methods:

- it is still a dataclass: ``dataclasses.fields``, ``replace``, ``asdict`` and ``__match_args__``
  come from ``dataclasses`` itself (called with nothing to generate);
- ``__init__`` takes the fields in order, positionally or by name, with their defaults, and
  raises ``TypeError`` as a generated one does; instances are frozen (``FrozenInstanceError``);
- equality compares same-class instances field by field, the hash is the fields' hash, and
  the repr is ``Name(field=value, ...)``, as ``@dataclass(frozen=True)`` makes them.

Only what these classes use is supported: ``frozen=True``, plain defaults (no
``field(default_factory=...)``), no subclassing. ``tests/unit/providers/test_records.py``
holds the behaviour equal to a real frozen dataclass. Type checkers see the real
``dataclasses.dataclass`` (the modules import it under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def dataclass(*, frozen: bool) -> Callable[[T], T]:
    if not frozen:
        raise TypeError("providers.records makes frozen dataclasses only")
    return _make_frozen


def _make_frozen(cls: T) -> T:
    # nothing to generate: this only collects the fields (``__dataclass_fields__``, ``__match_args__``)
    # on ``cls`` itself (without ``slots`` the decorator returns the class it was given)
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)
    if any(field.default_factory is not dataclasses.MISSING for field in fields):
        raise TypeError(f"{cls.__name__}: default_factory is not supported by providers.records")
    names = tuple(field.name for field in fields)
    defaults = {field.name: field.default for field in fields if field.default is not dataclasses.MISSING}
    cls.__init__ = _init_for(cls.__name__, names, defaults)  # type: ignore[misc]
    cls.__repr__ = _repr  # type: ignore[assignment]
    cls.__eq__ = _eq  # type: ignore[assignment]
    cls.__hash__ = _hash  # type: ignore[assignment]
    cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
    cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
    cls._record_names = names  # type: ignore[attr-defined]
    return cls


def _init_for(class_name: str, names: tuple[str, ...], defaults: dict[str, Any]) -> Callable[..., None]:
    template = {name: defaults.get(name) for name in names}  # field order, defaults filled in
    known = frozenset(names)
    required = known - defaults.keys()

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - the method's own name
        if args:  # Python's own sentences for bad calls, as a generated __init__ gives them
            if len(args) > len(names):
                takes = f"from {len(required) + 1} to {len(names) + 1}" if defaults else str(len(names) + 1)
                raise TypeError(f"{class_name}.__init__() takes {takes} positional arguments "
                                f"but {len(args) + 1} were given")
            for name, value in zip(names, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{class_name}.__init__() got multiple values for argument '{name}'")
                kwargs[name] = value  # a fresh dict of this call's own
        if not kwargs.keys() <= known:
            unknown = next(name for name in kwargs if name not in known)
            raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument '{unknown}'")
        if not required <= kwargs.keys():
            missing = [name for name in names if name in required and name not in kwargs]
            raise TypeError(f"{class_name}.__init__() missing {len(missing)} required positional "
                            f"argument{'s' if len(missing) > 1 else ''}: {_listed(missing)}")
        state = template.copy()  # updating keeps the template's (field) order
        state.update(kwargs)
        object.__setattr__(self, "__dict__", state)  # not through our __setattr__: the record is frozen

    __init__.__qualname__ = f"{class_name}.__init__"
    return __init__


def _listed(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _values(record: Any) -> tuple[Any, ...]:
    state = record.__dict__
    return tuple(state[name] for name in record._record_names)


def _repr(self: Any) -> str:
    pairs = zip(self._record_names, _values(self), strict=True)
    fields = ", ".join(f"{name}={value!r}" for name, value in pairs)
    return f"{type(self).__qualname__}({fields})"


def _eq(self: Any, other: object) -> Any:  # bool, or NotImplemented for another class
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _frozen_setattr(self: Any, name: str, _value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
