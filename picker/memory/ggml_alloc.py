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
0.3.36), over `Node`s that `ggml_graph` builds. Decisions depend only on the graph's
structure and sizes, so replaying them gives the buffer to the byte.
"""

from __future__ import annotations

ALIGNMENT = 32  # ggml's CPU buffer alignment (TENSOR_ALIGNMENT)
_TAIL = 1 << 62  # the arena's open end


class Node:
    """One tensor of the graph. `view_src` is set for views (never allocated);
    `external` tensors (weights, KV cache) live in other buffers."""

    __slots__ = (
        "addr",
        "allocated",
        "children",
        "external",
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
                 output: bool = False, external: bool = False) -> None:
        self.size = (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        self.layout = layout
        self.inplace = inplace
        self.srcs = srcs
        self.view_src = view_src
        self.output = output
        self.external = external
        self.children = 0
        self.views = 0
        self.addr = -1
        self.allocated = False
        for src in srcs:
            src.children += 1
        if view_src is not None:
            view_src.views += 1


class Arena:
    """ggml_dyn_tallocr with one chunk: free blocks sorted by offset, the last one open."""

    __slots__ = ("free", "high")

    def __init__(self) -> None:
        self.free: list[list[int]] = [[0, _TAIL]]
        self.high = 0

    def alloc(self, size: int) -> int:
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
        free = self.free
        end = addr + size
        for index, block in enumerate(free):
            if block[0] + block[1] == addr:
                block[1] += size
                if index + 1 < len(free) and block[0] + block[1] == free[index + 1][0]:
                    block[1] += free[index + 1][1]
                    del free[index + 1]
                return
            if end == block[0]:
                block[0] = addr
                block[1] += size
                if index > 0 and free[index - 1][0] + free[index - 1][1] == addr:
                    free[index - 1][1] += block[1]
                    del free[index]
                return
        index = 0
        while index < len(free) and free[index][0] < addr:
            index += 1
        free.insert(index, [addr, size])

    def state(self) -> tuple[int, ...]:
        """Free blocks (the open end by its offset only): equal states evolve alike."""
        flat = [value for block in self.free[:-1] for value in block]
        flat.append(self.free[-1][0])
        return tuple(flat)


def allocate(arena: Arena, node: Node) -> None:
    """ggml_gallocr_allocate_node: reuse a parent in place when ggml would, else best fit."""
    if node.allocated or node.view_src is not None or node.external:
        return
    node.allocated = True
    if node.inplace:
        for parent in node.srcs:
            if not parent.allocated or parent.output or parent.layout != node.layout:
                continue
            if parent.children != 1 or parent.views != 0:
                continue
            node.addr = parent.addr
            parent.allocated = False
            if parent.size > node.size:
                arena.release(parent.addr + node.size, parent.size - node.size)
            return
    node.addr = arena.alloc(node.size)


def run(arena: Arena, nodes: list[Node]) -> None:
    """Place `nodes` in order, freeing each parent after its last consumer."""
    for node in nodes:
        allocate(arena, node)
        for parent in node.srcs:
            parent.children -= 1
            if parent.children or parent.views:
                continue
            source = parent.view_src
            if source is not None:
                source.views -= 1
                if not source.views and not source.children and source.allocated:
                    free(arena, source)
            elif parent.allocated:
                free(arena, parent)


def free(arena: Arena, node: Node) -> None:
    if node.output:
        return
    arena.release(node.addr, node.size)
    node.allocated = False
