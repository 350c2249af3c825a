"""Residual-stream scheduling and allocation with liveness, for the transformer target.

Sublayers alternate: attention at even indices, MLP at odd ones (block b = sublayers 2b, 2b+1);
the embedding writes at -1. Every task goes to the earliest sublayer of its kind after all its
inputs are written (ASAP). A slot then lives from the sublayer that writes it until it is zero
again: after its last reader it is cleared by an MLP that writes -x (exact for any float:
`gadgets.signed_identity`), in the same MLP sublayer when an MLP reads it last, in the next one
when attention does. Slots are then packed into channels greedily in order of writing, reusing
the channels of slots already cleared; a clear is built only where a later slot reuses the
channels (elsewhere a dead value may stay: nothing reads it).

The width is the peak of what is live; `width_no_reuse` is the sum of all slot widths, the
width every value keeping its own subspace (tracr's layout) would need.
"""
from __future__ import annotations

from dataclasses import dataclass

from nclang.compiler import gadgets as G

from .slots import MLPTask


@dataclass
class Layout:
    blocks: list  # per block: (heads, mlp tasks)
    width: int
    width_no_reuse: int
    occupancy: list[dict]
    sublayers: int

    def to_json(self) -> dict:
        return {"width": self.width, "width_without_reuse": self.width_no_reuse,
                "sublayers": self.sublayers, "slots": self.occupancy}


def _is_head(task) -> bool:
    return hasattr(task, "mask")


def allocate(slots, tasks, embed_slots, loops=()) -> Layout:
    """`loops`: per repeat, the index ranges of its body's tasks and slots; each gets
    lp["blocks"] (first, last block of the body). A body starts a fresh block, every slot the
    body creates is cleared inside it (it is zero again when the next iteration starts), a slot
    from before the loop that the body reads stays until after the loop, and the copy that
    writes a carried slot's next value comes after the body's last reader of it."""
    ready = {id(s): 0 for s in embed_slots}
    for s in embed_slots:
        s.write_at = -1
    in_loop = {}
    body_slot = {}
    for li, lp in enumerate(loops):
        for i in range(*lp["tasks"]):
            in_loop[i] = li
        for s in slots[lp["slots"][0]:lp["slots"][1]]:
            body_slot[id(s)] = li
    index = {id(t): i for i, t in enumerate(tasks)}
    spans = {}

    def clear_time(s, reads):
        if not reads:
            return s.write_at + 1 + ((s.write_at + 1) % 2 == 0)
        r = max(reads, key=lambda t: t.at)
        return r.at if not _is_head(r) else r.at + 1

    floor, last = 0, -1
    for i in range(len(tasks) + 1):
        for li, lp in enumerate(loops):
            a, b = lp["tasks"]
            if b == i and li in spans:  # the body ends: its own slots are cleared inside it
                start = spans[li][0]
                end = max([start - 1] + [tasks[j].at for j in range(a, b)]
                          + [clear_time(s, s.readers) for s in slots[slice(*lp["slots"])]
                             if s.writer is not None])
                end += end % 2 == 0
                spans[li] = (start, end)
                floor, last = end + 1, max(last, end)
            if a == i:
                start = last + 1 + ((last + 1) % 2)
                spans[li] = (start, start - 1)
                floor = start
                if a == b:
                    spans[li] = (start, start + 1)
                    floor, last = start + 2, start + 1
        if i == len(tasks):
            break
        t = tasks[i]
        e = max([floor] + [ready.get(id(s), 0) for s in t.inputs])
        if getattr(t, "copy_back", False):
            for r in t.dest.readers:
                if r is not t and in_loop.get(index[id(r)]) == in_loop.get(i) and r.at >= 0:
                    e = max(e, r.at if not _is_head(r) else r.at + 1)
        want = 0 if _is_head(t) else 1
        k = e if e % 2 == want else e + 1
        t.at = k
        last = max(last, k)
        if not getattr(t, "copy_back", False):
            t.dest.write_at = k
            ready[id(t.dest)] = k + 1
    for li, lp in enumerate(loops):
        lp["blocks"] = (spans[li][0] // 2, spans[li][1] // 2)
    used = [s for s in slots if s in embed_slots or s.writer is not None]
    clear_at = {}
    must_clear = set()
    for s in used:
        if id(s) in body_slot:
            must_clear.add(id(s))
        if s.keep:
            s.free_at = None
            continue
        k = clear_time(s, s.readers)
        for r in s.readers:
            li = in_loop.get(index[id(r)])
            if li is not None and body_slot.get(id(s)) != li:
                k = max(k, spans[li][1] + 2)  # read in every iteration: cleared after the loop
        clear_at[id(s)] = k
        s.free_at = k + 1
    # greedy packing in order of writing; a channel is free from the sublayer its last
    # occupant is zero again
    free_from: list[int | None] = []
    occupant: list = []
    order = sorted(used, key=lambda s: (s.write_at, used.index(s)))
    reused = set()
    for s in order:
        chans = [c for c in range(len(free_from))
                 if free_from[c] is not None and free_from[c] <= s.write_at][:s.width]
        while len(chans) < s.width:
            free_from.append(None)
            occupant.append(None)
            chans.append(len(free_from) - 1)
        for c in chans:
            if occupant[c] is not None:
                reused.add(id(occupant[c]))
            occupant[c] = s
            free_from[c] = s.free_at
        s.channels = chans
    clears = []
    for s in used:
        if id(s) in reused or id(s) in must_clear:
            t = MLPTask([s], G.signed_identity(s.width, -1), s, f"clear {s.name}")
            t.at = clear_at[id(s)]
            clears.append(t)
    every = list(tasks) + clears
    last = max([last] + [t.at for t in clears])
    n_blocks = last // 2 + 1 if last >= 0 else 0
    blocks = [([], []) for _ in range(n_blocks)]
    for t in every:
        blocks[t.at // 2][0 if _is_head(t) else 1].append(t)
    occupancy = [{"name": s.name, "channels": list(s.channels), "from": s.write_at,
                  "to": s.free_at if s.free_at is not None else 2 * n_blocks}
                 for s in order]
    return Layout(blocks, len(free_from), sum(s.width for s in used), occupancy, 2 * n_blocks)
