"""A large catalog's models, each decoded from the cached copy when it is first read.

A ranking of the best ten reads every model's filter facts but plans only the few whose
best possible score can reach the top: with a 5,000-model catalog `picker --json` looked
at ~1,100 records and decoded all 5,000 (~35 ms of its ~155;
benchmarks/catalog_scale_figures.md). The cached copy of a large catalog (builtcache.py)
therefore keeps an index beside the records: each model's `ModelFacts` (facts.py: what the
ranking's filters read, and its id) and where its record's bytes end. `LazyModels` answers the
facts from the index and decodes a record, with every field's type checked, the first time
it is asked for.

A record is trusted no more than the eager read trusted it: one that does not decode, or
whose id and facts differ from its index entry, means the copy is not what picker wrote,
so the catalog is built afresh from its source files (`rebuild`) and every record is then
served from that; where even those differ from the index the run cannot go on with what it
has read already, and stops with a one-line error (the copy is replaced by the one built
afresh, or removed; the next run reads a sound one).
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from operator import eq
from typing import overload

from picker.catalog.facts import ModelFacts, facts_of, model_facts
from picker.catalog.types import Model
from picker.errors import PickerError
from picker.namedrecord import NamedRecord


class CopyIndex(NamedRecord):
    """An indexed copy's first line (builtcache.py): each model's facts, and where its record
    ends among the records."""

    facts: tuple[ModelFacts, ...]
    ends: tuple[int, ...]


class DamagedCopyError(PickerError):
    """The catalog's cached copy held records unlike its own index (edited or planted)."""

    code = "catalog_copy_damaged"


class LazyModels(Sequence[Model]):
    """The models of a cached copy, in order: `facts` from its index, and `records`, a JSON
    array of their records, the i-th from just after the bracket or comma before it to
    `ends[i]`. A record read by its place is decoded alone (`decode`); the first iteration decodes
    every one not read yet at once (`decode_all`: in C, as fast as the whole copy's read; it
    is what a pass over every model, e.g. the on-disk scan's, costs anyway). Both give None
    for bytes that do not make models."""

    def __init__(self, facts: Sequence[ModelFacts], records: memoryview, ends: Sequence[int],
                 decode: Callable[[memoryview], Model | None],
                 decode_all: Callable[[memoryview], Sequence[Model] | None],
                 rebuild: Callable[[], Sequence[Model]], discard: Callable[[], None]) -> None:
        self.facts = facts
        self._records, self._ends, self._decode, self._decode_all = records, ends, decode, decode_all
        self._rebuild, self._discard = rebuild, discard
        self._models: list[Model | None] = [None] * len(facts)
        self._missing = len(facts)  # records not decoded yet
        self._lock = threading.Lock()  # the TUI may rank in a thread

    def __len__(self) -> int:
        return len(self.facts)

    @overload
    def __getitem__(self, index: int) -> Model: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Model]: ...

    def __getitem__(self, index: int | slice) -> Model | Sequence[Model]:
        if isinstance(index, slice):
            return tuple(self[position] for position in range(*index.indices(len(self))))
        model = self._models[index]  # IndexError as a tuple's
        return model if model is not None else self._load(range(len(self))[index])

    def __iter__(self) -> Iterator[Model]:
        if self._missing:
            self._load_all()
        return iter(self._models)  # type: ignore[arg-type]  # none missing now

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(map(eq, self, other))

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple, unlike it in hash

    def __repr__(self) -> str:
        return f"LazyModels({len(self)} models)"

    def _load(self, position: int) -> Model:
        with self._lock:
            model = self._models[position]
            if model is None:
                start = (self._ends[position - 1] if position else 0) + 1
                model = self._decode(self._records[start:self._ends[position]])
                if model is None or facts_of(model) != self.facts[position]:
                    return self._rebuilt()[position]
                self._models[position] = model
                self._missing -= 1
            return model

    def _load_all(self) -> None:
        with self._lock:
            if not self._missing:
                return
            decoded = self._decode_all(self._records)
            if decoded is None or list(model_facts(decoded)) != list(self.facts):
                self._rebuilt()
                return
            # The records read already stay the objects the caller has.
            self._models = [model if model is not None else fresh
                            for model, fresh in zip(self._models, decoded, strict=True)]
            self._missing = 0

    def _rebuilt(self) -> list[Model]:
        """Every record from the catalog built afresh (`rebuild`), once its facts are found
        to be the index's (DamagedCopyError where they are not)."""
        self._discard()
        fresh = list(self._rebuild())
        if list(model_facts(fresh)) != list(self.facts):
            raise DamagedCopyError("the catalog's cached copy did not match its index (it was "
                                   "edited or planted) and has been built again: run the command "
                                   "again")
        self._models = list[Model | None](fresh)
        self._missing = 0
        return fresh
