"""`targets/transformer/residual.py` on its own: residual-stream scheduling and allocation for
random task graphs (attention heads and MLPs reading and writing slots of several widths).

The central property is a simulation of the stream the layout describes: channels start at zero,
the embedding writes its slots, and sublayer by sublayer every task reads its inputs from the
stream as it stood before that sublayer and then adds its output (a clear adds -x). Every read
must find exactly the value of the slot it reads — never a value that was not cleared, nor the
sum of two slots packed on one channel — and every output slot must hold its value at the end.
Around it: heads sit on even sublayers and MLPs on odd ones, after what they read; the width is
between the peak of live values and the width without reuse.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nclang.compiler.targets.transformer.residual import allocate


@dataclass(eq=False)
class Slot:
    name: str
    width: int
    writer: object = None
    readers: list = field(default_factory=list)
    channels: list = field(default_factory=list)
    keep: bool = False
    write_at: int = -1
    free_at: int | None = None


@dataclass(eq=False)
class MLP:
    inputs: list
    dest: Slot
    what: str
    at: int = -1


@dataclass(eq=False)
class Head:
    inputs: list
    dest: Slot
    what: str
    mask: str | None = None
    at: int = -1


@st.composite
def programs(draw):
    """(slots, tasks, embedded slots): tasks in an order where every slot is written before it
    is read; some slots are outputs (kept)."""
    embed = [Slot(f"e{i}", draw(st.integers(1, 3)), keep=draw(st.booleans()))
             for i in range(draw(st.integers(1, 3)))]
    slots, tasks = list(embed), []
    for i in range(draw(st.integers(1, 12))):
        reads = draw(st.lists(st.sampled_from(slots), min_size=1, max_size=3, unique=True))
        dest = Slot(f"s{i}", draw(st.integers(1, 3)))
        kind = Head if draw(st.booleans()) else MLP
        t = kind(reads, dest, f"task {i}")
        dest.writer = t
        for s in reads:
            s.readers.append(t)
        slots.append(dest)
        tasks.append(t)
    for s in slots[len(embed):]:
        s.keep = not s.readers or draw(st.integers(0, 4)) == 0
    return slots, tasks, embed


def _simulate(layout, embed) -> None:
    """Run the stream symbolically: a channel holds a set of slot names (empty: zero)."""
    stream = [frozenset() for _ in range(layout.width)]
    for s in embed:
        for c in s.channels:
            stream[c] = stream[c] | {s.name}
    for b, (heads, mlps) in enumerate(layout.blocks):
        for sub, group in ((2 * b, heads), (2 * b + 1, mlps)):
            before = list(stream)
            for t in group:
                assert t.at == sub
                reads = t.inputs
                for s in reads:
                    for c in s.channels:
                        assert before[c] == {s.name}, (t.what, s.name, c, before[c])
            for t in group:
                for c in t.dest.channels:
                    if t.what == f"clear {t.dest.name}":
                        stream[c] = stream[c] - {t.dest.name}
                    else:
                        stream[c] = stream[c] | {t.dest.name}
    return stream


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(programs())
def test_every_read_finds_its_slot_s_value_in_the_stream(program):
    slots, tasks, embed = program
    layout = allocate(slots, tasks, embed)
    stream = _simulate(layout, embed)
    for s in slots:
        if s.keep:
            assert all(stream[c] == {s.name} for c in s.channels), s.name


@SETTINGS
@given(programs())
def test_tasks_sit_on_their_kind_of_sublayer_after_what_they_read(program):
    slots, tasks, embed = program
    layout = allocate(slots, tasks, embed)
    for t in tasks:
        assert t.at % 2 == (0 if isinstance(t, Head) else 1)
        assert all(s.write_at < t.at for s in t.inputs), t.what
        assert t.dest.write_at == t.at
        assert 0 <= t.at < layout.sublayers
    placed = [t for heads, mlps in layout.blocks for t in heads + mlps]
    assert all(t in placed for t in tasks)
    assert layout.sublayers == 2 * len(layout.blocks)


@SETTINGS
@given(programs())
def test_the_width_lies_between_the_peak_of_live_values_and_no_reuse(program):
    slots, tasks, embed = program
    layout = allocate(slots, tasks, embed)
    used = [s for s in slots if s in embed or s.writer is not None]
    assert layout.width_no_reuse == sum(s.width for s in used)
    for s in used:
        assert len(set(s.channels)) == s.width and all(0 <= c < layout.width for c in s.channels)
    # a slot is live from its write until its last reader has read it
    last = {s.name: max([s.write_at] + [t.at for t in s.readers]) for s in used}
    peak = max(sum(s.width for s in used if s.write_at <= k <= last[s.name]
                   or (s.keep and s.write_at <= k))
               for k in range(-1, layout.sublayers))
    assert peak <= layout.width <= layout.width_no_reuse
    assert {o["name"] for o in layout.occupancy} == {s.name for s in used}


def test_a_chain_reuses_the_channels_of_cleared_values():
    # e -> a -> b -> c -> out, each read once: a cleared value's channel is taken by a later one
    e = Slot("e", 1)
    prev, slots, tasks = e, [e], []
    for i in range(4):
        dest = Slot(f"v{i}", 1, keep=i == 3)
        t = MLP([prev], dest, f"task {i}")
        dest.writer = t
        prev.readers.append(t)
        slots.append(dest)
        tasks.append(t)
        prev = dest
    layout = allocate(slots, tasks, [e])
    assert layout.width < layout.width_no_reuse == 5
    _simulate(layout, [e])
    clears = [t for _, mlps in layout.blocks for t in mlps if t.what.startswith("clear ")]
    assert clears and all(t.block is not None for t in clears)


# ---------------------------------------------------------------- a loop's blocks, run repeatedly

@dataclass(eq=False)
class CopyBack(MLP):
    copy_back: bool = True


def _task(kind, reads, dest, what, slots, tasks):
    t = kind(reads, dest, what)
    dest.writer = t
    for s in reads:
        s.readers.append(t)
    slots.append(dest)
    tasks.append(t)
    return t


@st.composite
def loop_programs(draw):
    """Tasks before a loop, the loop's body (reading what came before, its carried slots and its
    own values; each carried slot gets the body's next value by a copy-back), and tasks after it
    (reading what came before the loop and the carried slots), as the transformer target lays
    out a `repeat`."""
    slots, tasks = [], []
    embed = [Slot(f"e{i}", draw(st.integers(1, 2)), keep=True) for i in range(2)]
    slots += embed
    outside = list(embed)
    for i in range(draw(st.integers(0, 3))):
        reads = draw(st.lists(st.sampled_from(outside), min_size=1, max_size=2, unique=True))
        kind = Head if draw(st.booleans()) else MLP
        _task(kind, reads, Slot(f"p{i}", draw(st.integers(1, 2))), f"pre {i}", slots, tasks)
        outside.append(slots[-1])
    carried = []
    for i in range(draw(st.integers(1, 2))):
        init = draw(st.sampled_from(outside))
        _task(MLP, [init], Slot(f"loop c{i}", init.width), f"loop c{i} = init", slots, tasks)
        carried.append(slots[-1])
    start_task, start_slot = len(tasks), len(slots)
    inside = []
    for i in range(draw(st.integers(1, 5))):
        pool = outside + carried + inside
        reads = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        kind = Head if draw(st.booleans()) else MLP
        _task(kind, reads, Slot(f"b{i}", draw(st.integers(1, 2))), f"body {i}", slots, tasks)
        inside.append(slots[-1])
    changing = set()
    for C in carried:
        nexts = [s for s in inside if s.width == C.width]
        if not nexts:
            continue  # its next value is itself: it keeps its init
        changing.add(id(C))
        nx = draw(st.sampled_from(nexts))
        t = CopyBack([nx, C], C, f"{C.name} = next")
        for s in t.inputs:
            s.readers.append(t)
        tasks.append(t)
    loop = {"tasks": (start_task, len(tasks)), "slots": (start_slot, len(slots))}
    for i in range(draw(st.integers(0, 3))):
        reads = draw(st.lists(st.sampled_from(outside + carried), min_size=1, max_size=2,
                              unique=True))
        kind = Head if draw(st.booleans()) else MLP
        _task(kind, reads, Slot(f"q{i}", 1, keep=True), f"post {i}", slots, tasks)
    for s in slots:
        s.keep = s.keep or (not s.readers and s not in inside)
    return slots, tasks, embed, loop, set(map(id, inside)), changing


def _run_with_loop(layout, embed, loop, inside, carried, trips: int) -> None:
    """The stream as the runtime runs it: the body's blocks `trips` times. A value is tagged
    (slot, iteration): a body value by the iteration that wrote it, a carried slot by the
    iteration whose next value it holds (-1: its init; `carried` are the ones that change)."""
    first, last = loop["blocks"]
    order = list(range(first)) + list(range(first, last + 1)) * trips + \
        list(range(last + 1, len(layout.blocks)))
    stream = [frozenset() for _ in range(layout.width)]
    for s in embed:
        for c in s.channels:
            stream[c] = frozenset({(s.name, None)})
    runs = {}
    for b in order:
        runs[b] = runs.get(b, -1) + 1
        it = runs[b] if first <= b <= last else None
        after = b > last

        def tag(s, it=it, after=after):
            if id(s) in carried:
                return (s.name, trips - 1 if after else (it - 1 if it is not None else -1))
            return (s.name, it if id(s) in inside else None)

        for group in layout.blocks[b]:
            before = list(stream)
            for t in group:
                for s in t.inputs:
                    for c in s.channels:
                        assert before[c] == {tag(s)}, (t.what, s.name, it, c, before[c])
            for t in group:
                for c in t.dest.channels:
                    if t.what == f"clear {t.dest.name}":
                        stream[c] = frozenset()
                    elif getattr(t, "copy_back", False):
                        stream[c] = frozenset({(t.dest.name, it)})
                    elif t.what.endswith(" = init"):
                        stream[c] = stream[c] | {(t.dest.name, -1 if id(t.dest) in carried
                                                  else None)}
                    else:
                        stream[c] = stream[c] | {tag(t.dest)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_programs(), st.integers(1, 3))
def test_a_loop_body_s_blocks_can_run_any_number_of_times(program, trips):
    slots, tasks, embed, loop, inside, carried = program
    layout = allocate(slots, tasks, embed, [loop])
    first, last = loop["blocks"]
    body = tasks[slice(*loop["tasks"])]
    # the body has blocks of its own: nothing from before or after the loop runs in them
    for b, (heads, mlps) in enumerate(layout.blocks):
        for t in heads + mlps:
            if t in body:
                assert first <= b <= last
            elif not t.what.startswith("clear "):
                assert not first <= b <= last, t.what
    _run_with_loop(layout, embed, loop, inside, carried, trips)
