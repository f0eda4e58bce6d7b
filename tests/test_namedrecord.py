"""A NamedRecord class behaves as the same class body written as a typing.NamedTuple."""

import copy
import pickle
from typing import NamedTuple

import pytest

from picker.namedrecord import NamedRecord


class Point(NamedRecord):
    """A point with a label."""

    x: int
    y: int
    label: str = "origin"
    tags: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.x + self.y

    def moved(self, by: int) -> "Point":
        return self._replace(x=self.x + by)

    @classmethod
    def zero(cls) -> "Point":
        return cls(0, 0)


class PointTuple(NamedTuple):
    """A point with a label."""

    x: int
    y: int
    label: str = "origin"
    tags: tuple[str, ...] = ()


class Bare(NamedRecord):
    a: int


def test_the_same_fields_defaults_and_values_as_a_namedtuple() -> None:
    assert Point._fields == PointTuple._fields == ("x", "y", "label", "tags")
    assert Point._field_defaults == PointTuple._field_defaults
    assert Point.__match_args__ == PointTuple.__match_args__
    for args, kwargs in [((1, 2), {}), ((1, 2, "a", ("t",)), {}), ((1,), {"y": 2}),
                         ((), {"y": 2, "x": 1, "tags": ("u",)}), ((1, 2), {"label": "b"})]:
        record, reference = Point(*args, **kwargs), PointTuple(*args, **kwargs)
        assert record == reference and tuple(record) == tuple(reference)
        assert hash(record) == hash(reference)
        assert (record.x, record.y, record.label, record.tags) == tuple(reference)
        assert record._asdict() == reference._asdict()
        assert repr(record) == repr(reference).replace("PointTuple(", "Point(")
    assert isinstance(Point(1, 2), tuple) and type(Point(1, 2)).__mro__[-1] is object


def test_replace_make_unpacking_and_the_class_body_s_own_methods() -> None:
    record = Point(1, 2)
    moved = record.moved(3)
    assert type(moved) is Point and moved == (4, 2, "origin", ())
    assert record._replace(label="b", tags=("t",)) == PointTuple(1, 2, "b", ("t",))
    assert Point._make([5, 6, "c", ()]) == Point(5, 6, "c")
    x, y, label, tags = record
    assert (x, y, label, tags, record.total, Point.zero()) == (1, 2, "origin", (), 3, (0, 0, "origin", ()))
    assert record[1] == 2 and record[-2:] == ("origin", ())
    match record:
        case Point(1, y_value):
            assert y_value == 2
        case _:
            pytest.fail("match by position did not see the fields")
    assert Point.__doc__ == "A point with a label." and Bare.__doc__ == "Bare(a)"
    assert Point.__module__ == __name__ and Point.__qualname__ == "Point"
    assert Point.__annotations__ == PointTuple.__annotations__
    assert type(Point.x) is type(PointTuple.x) and Point.label.__doc__ == PointTuple.label.__doc__


def test_copies_and_pickles_round_trip() -> None:
    record = Point(1, 2, "p", ("a", "b"))
    assert copy.copy(record) == record and copy.deepcopy(record) == record
    loaded = pickle.loads(pickle.dumps(record))
    assert type(loaded) is Point and loaded == record


def test_wrong_arguments_fail_as_a_namedtuple_does() -> None:
    for args, kwargs, word in [((1,), {}, "missing"), ((), {"label": "a"}, "missing"),
                               ((1, 2, "a", (), 5), {}, "positional"),
                               ((1, 2), {"z": 3}, "unexpected"), ((1, 2), {"x": 3}, "multiple")]:
        with pytest.raises(TypeError, match=word):
            Point(*args, **kwargs)
        with pytest.raises(TypeError):
            PointTuple(*args, **kwargs)
    with pytest.raises(ValueError, match="unexpected field names"):
        Point(1, 2)._replace(z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Expected 4 arguments"):
        Point._make([1, 2])
    with pytest.raises(AttributeError):
        Point(1, 2).x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Point(1, 2).extra = 5  # type: ignore[attr-defined]
