"""The loop half of the range walker: a `repeat`'s carried bounds become symbols, the body runs
once on them, and the recurrences are solved (`recurrences.py`); what cannot be solved is
unbounded, with a note."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from nclang.dsl import ast as A

from .lattice import BOTTOM, UNBOUNDED, _shape, join
from .prover import capped_subs, le, size_to_sympy
from .recurrences import _relax_powers, _solve_growth
from .syntax import _assigned, _at


class LoopRanges:
    """Mixin of `walker._Analysis`: the state it reads is the walker's."""

    def repeat(self, s: A.Repeat, state: dict) -> dict:
        trips = size_to_sympy(s.count)
        if self.recording:
            self.structural(s.count, state, {})
        if not le(0, trips):
            trips = sp.Max(0, trips)
        carried = _assigned(s.body)
        recording, self.recording = self.recording, False
        try:
            history, cur = self._stabilise(s, state, carried)
            final, at_last = self._solve_loop(s, cur, carried, trips, len(history) - 1)
        finally:
            self.recording = recording
        if recording:
            # iteration i < t0 runs on history[i]; every later one on a state inside at_last
            for st in history[:-1] + [at_last]:
                self.exec_block(s.body, dict(st))
        return final

    def _stabilise(self, s: A.Repeat, state: dict, carried: set[str]):
        """Run the body on concrete bounds until no flag changes: afterwards only the finite
        bounds of int/frac variables still grow, and those become symbols."""
        history = [state]
        cur = state
        for _ in range(8 * len(carried) + 4):
            out = self.exec_block(s.body, dict(cur))
            nxt = {**cur, **{x: join(cur.get(x, BOTTOM), out[x]) for x in carried if x in out}}
            if all(_shape(nxt[x]) == _shape(cur.get(x, BOTTOM)) for x in carried if x in nxt):
                return history, cur
            cur = nxt
            history.append(cur)
        self.note(f"{_at(s.span)}: loop state did not settle; its variables are unbounded")
        return history, {**cur, **{x: UNBOUNDED for x in carried}}

    def _solve_loop(self, s: A.Repeat, cur: dict, carried: set[str], trips, t0: int):
        """Final state after `trips` iterations and the state bounding every iteration's input,
        from the recurrences of the symbolic bounds."""
        comps = {}  # (var, "hi"|"lo") -> (symbol, base)
        sym_state = dict(cur)
        tag = next(self.fresh)
        for x in sorted(carried):
            iv = cur.get(x, BOTTOM)
            if _shape(iv)[5]:
                dh = sp.Symbol(f"_d{tag}_{x}", nonnegative=True)
                dl = sp.Symbol(f"_e{tag}_{x}", nonnegative=True)
                comps[(x, "hi")] = (dh, iv.hi)
                comps[(x, "lo")] = (dl, iv.lo)
                sym_state[x] = replace(iv, lo=iv.lo - dl, hi=iv.hi + dh)
        if not comps:
            return cur, cur
        out = self.exec_block(s.body, dict(sym_state))
        growth = {}
        for (x, side), (sym, base) in comps.items():
            o = out.get(x, BOTTOM)
            if not o.fin:
                growth[(x, side)] = (sym, sp.Integer(0))
            else:
                growth[(x, side)] = (sym, o.hi - base if side == "hi" else base - o.lo)
        t = sp.Symbol(f"_t{tag}", integer=True, nonnegative=True)
        solved = self._solve_system(growth, t, s)
        final, last = dict(cur), dict(cur)
        for x in {x for x, _ in comps}:
            iv = cur[x]
            d_end = _relax_powers(capped_subs(solved[(x, "hi")], {t: trips - t0}))
            e_end = _relax_powers(capped_subs(solved[(x, "lo")], {t: trips - t0}))
            d_last = _relax_powers(capped_subs(solved[(x, "hi")], {t: trips - 1 - t0}))
            e_last = _relax_powers(capped_subs(solved[(x, "lo")], {t: trips - 1 - t0}))
            end = replace(iv, lo=sp.expand(iv.lo - e_end), hi=sp.expand(iv.hi + d_end))
            # with t0 concrete rounds a short loop may stop before the symbolic part begins
            final[x] = join(iv, end) if t0 else end
            last[x] = replace(iv, lo=sp.expand(iv.lo - e_last), hi=sp.expand(iv.hi + d_last))
        return final, last

    def _solve_system(self, growth: dict, t: sp.Symbol, s: A.Repeat) -> dict:
        """Closed forms D(t) for the components, strongly connected groups in dependency order;
        one shared bound per group (every g is nondecreasing in every symbol, so the largest
        component's growth bounds all of them)."""
        sym_of = {sym: key for key, (sym, _) in growth.items()}
        successors: dict = {key: [] for key in growth}
        for key, (_, g) in growth.items():
            for sym in sp.sympify(g).free_symbols:
                if sym in sym_of:
                    successors[sym_of[sym]].append(key)
        solved: dict = {}
        closed: dict = {}
        for members in _groups_in_order(successors):
            d = sp.Symbol(f"_D{next(self.fresh)}", nonnegative=True)
            gs = []
            for key in members:
                g = sp.sympify(growth[key][1]).subs(closed)
                gs.append(g.subs({growth[k][0]: d for k in members}))
            if any(g.has(sp.oo) for g in gs):
                sol = sp.oo
            else:
                sol = _solve_growth(gs, d, t)
                if sol is None:
                    names = ", ".join(sorted({k[0] for k in members}))
                    self.note(f"{_at(s.span)}: the growth of {names} per iteration is not "
                              "affine or geometric; taken as unbounded")
                    sol = sp.oo
            for key in members:
                solved[key] = sol
                closed[growth[key][0]] = sol
        return solved


def _groups_in_order(successors: dict) -> list[list]:
    """The strongly connected groups of a dependency graph (key -> keys that depend on it), each
    before every group that depends on it (Tarjan's algorithm, iteratively: it emits a group
    only after every group reachable from it, so the list is reversed). Here rather than
    networkx, whose import alone cost 0.1 s of every compile."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    groups: list[list] = []
    for root in successors:
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups[::-1]
