"""ggml's graph allocator, replayed: how big llama.cpp's compute buffer really is.

llama.cpp sizes the compute buffer by handing the worst-case graph to ggml-alloc
(`ggml_gallocr_reserve_n`), which walks the nodes in order and places every
intermediate tensor in one arena: best fit among the free blocks (ties go to the
later block), else the end of the arena; a tensor is freed when its last consumer
has run (a view keeps its source alive); some ops (norms, adds, rope, softmax...)
write into their only-consumer parent instead of new memory. The buffer is the
arena's high-water mark, which a sum of "tensors alive at once" misses whenever
freed blocks leave a hole below a late, large tensor (the logits).

This module is that algorithm, written from ggml-alloc.c's rules (llama-cpp-python
0.3.36), over `Node`s that `ggml_graph` builds. Which tensor is placed, freed or
reused in place, and when, depends only on the graph's structure, not on sizes or
addresses: `Recorder` runs the rules once and keeps those decisions as a flat
`Program` of slot events, and `execute` replays a program against an `Arena` for
any sizes (a longer context only changes the attention scores and masks). Only
the best-fit placement itself depends on sizes, and it is what `execute` does.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

ALIGNMENT = 32  # ggml's CPU buffer alignment (TENSOR_ALIGNMENT)
_TAIL = 1 << 62  # the arena's open end


class Node:
    """One tensor of the graph. `view_src` is set for views (never allocated);
    tensors in other buffers (weights, the KV cache) are not nodes: a view of one (a KV
    store) has a stand-in `view_src`."""

    __slots__ = (
        "addr",
        "allocated",
        "cache",
        "children",
        "inplace",
        "layout",
        "output",
        "size",
        "srcs",
        "view_src",
        "views",
    )

    def __init__(self, size: int, layout: tuple[int, ...], inplace: bool,
                 srcs: tuple[Node, ...], view_src: Node | None = None,
                 output: bool = False,
                 cache: tuple[int, int] | None = None) -> None:
        self.size = (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        self.cache = cache  # (KV cache index, bytes per cell) when sized by a cache
        self.layout = layout
        self.inplace = inplace
        self.srcs = srcs
        self.view_src = view_src
        self.output = output
        self.children = 0
        self.views = 0
        self.addr = -1
        self.allocated = False
        for src in srcs:
            src.children += 1
        if view_src is not None:
            view_src.views += 1


def pad(size: int) -> int:
    return (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


class Arena:
    """ggml_dyn_tallocr with one chunk: free blocks sorted by offset, the last one open."""

    __slots__ = ("free", "high")

    def __init__(self) -> None:
        self.free: list[list[int]] = [[0, _TAIL]]
        self.high = 0

    def alloc(self, size: int) -> int:
        if not size:  # an empty tensor (a recurrent cache's spare rows): takes no room
            return 0
        free = self.free
        best = -1
        best_size = _TAIL
        for index in range(len(free) - 1):
            block_size = free[index][1]
            if size <= block_size <= best_size:
                best, best_size = index, block_size
        block = free[best]  # -1: the open end
        addr = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del free[best]
        if addr + size > self.high:
            self.high = addr + size
        return addr

    def release(self, addr: int, size: int) -> None:
        """Return a block, merged with the free neighbours it touches (ggml's merging gives
        exactly this)."""
        if not size:
            return
        free = self.free
        index = bisect_left(free, [addr])  # the first free block above: it exists, since
        following = free[index]  # everything placed lies below the open end
        end = addr + size
        if index:
            previous = free[index - 1]
            if previous[0] + previous[1] == addr:
                previous[1] += size
                if following[0] == end:
                    previous[1] += following[1]
                    del free[index]
                return
        if following[0] == end:
            following[0] = addr
            following[1] += size
        else:
            free.insert(index, [addr, size])

    def place(self, node: Node) -> None:
        node.addr = self.alloc(node.size)

    def drop(self, node: Node) -> None:
        self.release(node.addr, node.size)

    def share(self, node: Node, parent: Node) -> None:
        node.addr = parent.addr

    def state(self) -> tuple[int, ...]:
        """Free blocks (the open end by its offset only): equal states evolve alike."""
        flat = [value for block in self.free[:-1] for value in block]
        flat.append(self.free[-1][0])
        return tuple(flat)

    def restore(self, state: tuple[int, ...]) -> None:
        """Back to the free blocks of `state()` (the high-water mark stays)."""
        self.free = [[state[i], state[i + 1]] for i in range(0, len(state) - 1, 2)]
        self.free.append([state[-1], _TAIL - state[-1]])


def allocate(arena: Arena, node: Node) -> None:
    """ggml_gallocr_allocate_node: reuse a parent in place when ggml would, else best fit."""
    if node.allocated or node.view_src is not None:
        return
    node.allocated = True
    if node.inplace:
        for parent in node.srcs:
            if not parent.allocated or parent.output or parent.layout != node.layout:
                continue
            if parent.children != 1 or parent.views != 0:
                continue
            # same layout, same size: ggml's "free the extra space" never applies here
            arena.share(node, parent)
            parent.allocated = False
            return
    arena.place(node)


def run(arena: Arena, nodes: list[Node]) -> None:
    """Place `nodes` in order, freeing each parent after its last consumer."""
    run_across(lambda _node: arena, nodes)


def run_across(arena_of: Callable[[Node], Arena], nodes: Iterable[Node]) -> None:
    """`run` over several backends (llama.cpp's scheduler splits): each tensor is placed in,
    and freed from, its own device's arena."""
    for node in nodes:
        allocate(arena_of(node), node)
        for parent in node.srcs:
            parent.children -= 1
            if parent.children or parent.views:
                continue
            source = parent.view_src
            if source is not None:
                source.views -= 1
                if not source.views and not source.children and source.allocated:
                    free(arena_of(source), source)
            elif parent.allocated:
                free(arena_of(parent), parent)


def free(arena: Arena, node: Node) -> None:
    if node.output:
        return
    arena.drop(node)
    node.allocated = False


ALLOC, FREE = 0, 1
Program = list[tuple[int, int]]  # (ALLOC | FREE, slot)


class Recorder(Arena):
    """Runs the rules without addresses, writing down each decision as a slot event: a
    tensor's "address" is its slot, which a tensor reusing its parent in place shares."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self.cache_sized: list[tuple[int, int, int]] = []  # (slot, cache, bytes per cell)
        self.events: Program = []

    def place(self, node: Node) -> None:
        node.addr = len(self.sizes)
        self.sizes.append(node.size)
        if node.cache is not None:
            self.cache_sized.append((node.addr, *node.cache))
        self.events.append((ALLOC, node.addr))

    def drop(self, node: Node) -> None:
        self.events.append((FREE, node.addr))

    def take(self) -> Program:
        events, self.events = self.events, []
        return events


def execute(arena: Arena, program: Program, addrs: list[int], sizes: list[int]) -> None:
    """Replay recorded decisions: best-fit placements and frees at these sizes."""
    alloc, release = arena.alloc, arena.release
    for op, slot in program:
        if op == ALLOC:
            addrs[slot] = alloc(sizes[slot])
        else:
            release(addrs[slot], sizes[slot])
