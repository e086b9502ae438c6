"""Payload filters: plain dicts in the proto's JSON shape, or this builder.

    Filter.must(Field("colour") == "red", Field("year").range(gte=2020))
    Filter(must=[Field("tags").any(["cat", "dog"])], must_not=[HasId(["a"])])
    {"must": [{"key": "colour", "equals": "red"}]}        # the same as a dict
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from google.protobuf import json_format

from clipdb.v1 import clipdb_pb2 as pb

__all__ = ["Condition", "Field", "Filter", "HasId", "FilterLike", "to_proto_filter"]


class Condition:
    """One condition of a filter, as the dict of the proto's JSON shape."""

    def __init__(self, spec: Dict[str, Any]) -> None:
        self.spec = spec

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.spec)

    def __invert__(self) -> "Condition":
        """`~cond`: holds when `cond` does not."""
        return Condition({"filter": {"must_not": [self.to_dict()]}})

    def __and__(self, other: "Union[Condition, Filter]") -> "Filter":
        return Filter(must=[self, other])

    def __or__(self, other: "Union[Condition, Filter]") -> "Filter":
        return Filter(should=[self, other])

    def __repr__(self) -> str:
        return f"Condition({self.spec!r})"


class Field:
    """A payload field (dotted for nested objects: "meta.author")."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return Condition({"key": self.key, "equals": value})

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return ~(self == value)

    def __gt__(self, value: float) -> Condition:
        return self.range(gt=value)

    def __ge__(self, value: float) -> Condition:
        return self.range(gte=value)

    def __lt__(self, value: float) -> Condition:
        return self.range(lt=value)

    def __le__(self, value: float) -> Condition:
        return self.range(lte=value)

    __hash__ = None  # type: ignore[assignment]

    def range(self, gt: Optional[float] = None, gte: Optional[float] = None,
              lt: Optional[float] = None, lte: Optional[float] = None) -> Condition:
        """The field is a number within these bounds (unset bounds are open)."""
        bounds = {k: v for k, v in (("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte))
                  if v is not None}
        return Condition({"key": self.key, "range": bounds})

    def any(self, values: Iterable[Any]) -> Condition:
        """The field equals one of these values."""
        return Condition({"key": self.key, "any": {"values": list(values)}})

    isin = any

    def is_empty(self) -> Condition:
        """The field is missing, null or an empty list."""
        return Condition({"key": self.key, "isEmpty": {}})

    def text(self, words: str) -> Condition:
        """The field is a string containing every word of `words` (any case)."""
        return Condition({"key": self.key, "text": words})


def HasId(ids: Iterable[Union[str, int]]) -> Condition:  # noqa: N802 (reads as a condition)
    """The point's id is one of these."""
    return Condition({"hasId": {"ids": [str(i) for i in ids]}})


CondLike = Union[Condition, "Filter", Mapping[str, Any]]


class _Clauses:
    """`Filter.must(...)` on the class builds a filter; on a filter it adds to it."""

    def __init__(self, clause: str) -> None:
        self.clause = clause

    def __get__(self, obj: "Optional[Filter]", owner: type) -> Any:
        clause = self.clause

        def build(*conditions: CondLike) -> "Filter":
            base = obj.to_dict() if obj is not None else {}
            base.setdefault(clause, [])
            base[clause] = list(base[clause]) + [_cond_dict(c) for c in conditions]
            return Filter._from_dict(base)

        return build


class Filter:
    """`must`: all hold; `should`: at least one holds (when given);
    `must_not`: none holds."""

    must = _Clauses("must")
    should = _Clauses("should")
    must_not = _Clauses("mustNot")

    def __init__(self, must: Sequence[CondLike] = (), should: Sequence[CondLike] = (),
                 must_not: Sequence[CondLike] = ()) -> None:
        self._spec: Dict[str, List[Dict[str, Any]]] = {}
        for name, conds in (("must", must), ("should", should), ("mustNot", must_not)):
            if conds:
                self._spec[name] = [_cond_dict(c) for c in conds]

    @classmethod
    def _from_dict(cls, spec: Dict[str, Any]) -> "Filter":
        f = cls()
        f._spec = spec
        return f

    def to_dict(self) -> Dict[str, Any]:
        return {k: list(v) for k, v in self._spec.items()}

    def __and__(self, other: CondLike) -> "Filter":
        return Filter(must=[self, other])

    def __or__(self, other: CondLike) -> "Filter":
        return Filter(should=[self, other])

    def __invert__(self) -> "Filter":
        return Filter(must_not=[self])

    def __repr__(self) -> str:
        return f"Filter({self._spec!r})"


def _cond_dict(c: CondLike) -> Dict[str, Any]:
    if isinstance(c, Condition):
        return c.to_dict()
    if isinstance(c, Filter):
        return {"filter": c.to_dict()}
    return dict(c)


FilterLike = Union[Filter, Condition, Mapping[str, Any], pb.Filter]


def to_proto_filter(f: Optional[FilterLike]) -> Optional[pb.Filter]:
    """A filter given as a Filter, a single Condition, a dict in the proto's
    JSON shape (camelCase or snake_case keys), or a clipdb.v1 Filter."""
    if f is None:
        return None
    if isinstance(f, pb.Filter):
        return f
    if isinstance(f, Condition):
        f = Filter(must=[f])
    spec = f.to_dict() if isinstance(f, Filter) else dict(f)
    try:
        return json_format.ParseDict(spec, pb.Filter())
    except json_format.ParseError as e:
        from clipdb.errors import InvalidArgument
        raise InvalidArgument(f"bad filter {spec!r}: {e}") from None
