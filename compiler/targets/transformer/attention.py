"""Attention heads: an aggregation over positions, a gather, or the length is one head (or a
few, by inclusion-exclusion) whose scores select the keys exactly, and an MLP gadget that decodes
the head's average. A mixin of `tasks.TransformerPlanner`."""
from __future__ import annotations

import itertools
import math

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.dnf import dnf
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError

from .fusion import Fn, _compose, _const_fn, _leaf
from .slots import (ATTENTION_MARGIN, LAMBDA, MAX_DISJUNCTS, NUMERIC_EQ_MIN, TABLE_LIMIT, Head,
                    MLPTask, Slot, _magnitude, _unsupported)


class AttentionMixin:
    def length(self) -> Slot:
        """n, the sequence length, at every row: a head selecting every row averages the BOS
        flag to 1/(n+1) and the real-row flag to n/(n+1)."""
        if self.n_value is None:
            tmp = self.slot("avg n", 2, False, (0, 1))
            self.add(Head([[(self.one, 0, 0)]], [[(self.one, 0, 0)]],
                          [[(self.bos, 0, 1)], [(self.real, 0, 1)]], tmp, None, "count rows"))
            self.n_value = self.decode(tmp, 1, self.n, "n", A.NOSPAN)
        return self.n_value
    def decode(self, tmp: Slot, lo_hi_or_dom, hi=None, name="", span=A.NOSPAN,
               thresholds=None, value_dim=1) -> Slot:
        """The integer X from a head's (1/(c+1), X/(c+1)) outputs (dims 0 and value_dim)."""
        if hi is None:
            lo, hi = min(lo_hi_or_dom), max(lo_hi_or_dom)
        else:
            lo = lo_hi_or_dom
        bound = max(abs(lo), abs(hi), 1)
        if thresholds is None:
            err = G.ratio_margin_error(self.n, bound, self.np_dtype)
            if err >= 1:
                raise NclError.at(span, ATTENTION_MARGIN,
                                  f"the attention average for this value cannot be decoded "
                                  f"exactly: values up to {bound} averaged over up to "
                                  f"{self.n + 1} rows leave a rounding error of {err:.2f} "
                                  f"against a margin of 1 in {self.dtype}; use a smaller "
                                  f"--size n or --dtype float64")
        blk = G.ratio_decoder(lo, hi, self.n, thresholds)
        box = [(min(lo, 0), max(hi, 0))] * tmp.width
        box[0] = (0, 1)
        blk = G.chain(G.route(box, [value_dim, 0]), blk)
        out = self.slot(name, 1, False, (0, 1) if thresholds else tuple(range(lo, hi + 1)))
        self.add(MLPTask([tmp], blk, out, f"decode {name}"))
        return out

    # ---- attention

    def split(self, v: ir.Value, agg: ir.Aggregate):
        """A body-domain value of an aggregation as ("side", "k"|"q", Fn) — depending on one
        side only — or a Boolean tree of ("atom", op, key Fn, query Fn)."""
        if len(v.domain) == 1:
            return ("side", "k", self.fn(v))
        r = agg.axis
        op = self.defs.get(v)
        match op:
            case ir.Broadcast(arg=arg):
                if not arg.domain:
                    return ("side", "g", self.fn(arg))
                if len(arg.domain) == 1:
                    return ("side", "k" if op.axes[0] == r else "q", self.fn(arg))
            case ir.Local(op=name, args=args):
                parts = [self.split(a, agg) for a in args]
                if all(p[0] == "side" for p in parts):
                    sides = {p[1] for p in parts} - {"g"}
                    if len(sides) <= 1:
                        return ("side", sides.pop() if sides else "g",
                                _compose(name, [p[2] for p in parts]))
                    if name in ir.COMPARISONS and len(parts) == 2:
                        a, b = parts
                        if a[1] == "q" or b[1] == "k":
                            a, b = b, a
                            name = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(name, name)
                        return ("atom", name, a[2], b[2])
                if name in ("and", "or", "not"):
                    return (name, *parts)
            case ir.Const():
                return ("side", "g", self.fn(v))
        raise _unsupported(agg.span, "this condition: each comparison must set a value of the "
                                     "selected position against one of the selecting position")

    def dnf(self, node, agg) -> list[list]:
        """The condition as a list of conjunctions (lists of literals)."""
        flip = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le"}

        def negate(lit):
            if lit[0] == "side":
                return ("side", lit[1], _compose("not", [lit[2]]))
            return ("atom", flip[lit[1]], lit[2], lit[3])
        terms = dnf(node, negate)
        if len(terms) > 16:
            raise _unsupported(agg.span, "a condition with this many alternatives")
        return terms

    def features(self, lits: list, agg, bos_level: bool):
        """Score features (q, k) and causal mask for a conjunction of literals; the BOS row
        scores the full level when `bos_level`, else one below it."""
        q, k, mask, level_one = [], [], None, 0
        span = agg.span
        for lit in lits:
            if lit[0] == "side":
                side, fn = lit[1], lit[2]
                if fn.leaves == () and fn.f():
                    continue
                if side == "k":
                    s = self.materialize_fn(fn, span, "key condition")
                    q.append([(self.one, 0, 1)])
                    k.append([(s, 0, 1)])
                else:  # a query-side (or global) condition: real keys score it, BOS scores 1
                    s = self.materialize_fn(fn, span, "query condition")
                    q.append([(s, 0, 1)])
                    k.append([(self.real, 0, 1)])
                    q.append([(self.one, 0, 1)])
                    k.append([(self.bos, 0, 1)])
                    continue
                level_one += 1
                continue
            _, name, kf, qf = lit
            if kf.key == ("leaf", self._iota_id(kf)) and qf.key == ("leaf", self._iota_id(qf)) \
                    and name in ("le", "lt", "ge", "gt") and mask is None:
                mask = name
                continue
            kdom, qdom = self.fn_domain(kf, span), self.fn_domain(qf, span)
            numeric = not any(isinstance(x, str) for x in kdom + qdom)
            if name == "eq" and numeric and min(len(kdom), len(qdom)) >= NUMERIC_EQ_MIN:
                km_, qm_ = max(map(abs, kdom)), max(map(abs, qdom))
                self.check_scores((2 * qm_ * km_ + km_ * km_ + qm_ * qm_) * LAMBDA, span)
                ks = self.materialize_fn(kf, span, "key")
                kk = self.materialize_fn(_compose("mul", [kf, kf]), span, "key squared")
                qs = self.materialize_fn(qf, span, "query")
                qq = self.materialize_fn(_compose("mul", [qf, qf]), span, "query squared")
                # 2kq - k^2 = q^2 - (k - q)^2: q^2 at k = q, at most q^2 - 1 elsewhere
                q += [[(qs, 0, 2)], [(self.one, 0, 1)], [(qq, 0, 1)]]
                k += [[(ks, 0, 1)], [(kk, 0, -1)], [(self.bos, 0, 1)]]
                continue
            # one-hot of the smaller side against the other side's indicator row
            op = ir.scalar.COMPARE[name]
            if len(kdom) <= len(qdom):
                oh = self.onehot(kf, kdom, span, "key one-hot")
                ind = self.indicators(qf, [lambda x, v=v, op=op: int(op(v, x)) for v in kdom], span,
                                      f"query {name} row")
                for c in range(len(kdom)):
                    q.append([(ind, c, 1)])
                    k.append([(oh, c, 1)])
            else:
                oh = self.onehot(qf, qdom, span, "query one-hot")
                ind = self.indicators(kf, [lambda x, v=v, op=op: int(op(x, v)) for v in qdom], span,
                                      f"key {name} row")
                for c in range(len(qdom)):
                    q.append([(oh, c, 1)])
                    k.append([(ind, c, 1)])
            level_one += 1
        level = level_one if bos_level else level_one - 1
        if level:
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, level)])
        if not q:
            q, k = [[(self.one, 0, 0)]], [[(self.one, 0, 0)]]
        return q, k, mask

    def _iota_id(self, fn: Fn):
        if len(fn.leaves) == 1 and isinstance(self.defs.get(fn.leaves[0]), ir.Iota):
            return fn.leaves[0].id
        return None

    def onehot(self, fn: Fn, dom, span, what) -> Slot:
        if fn.key[0] == "leaf":
            s = self.leaf_slot(fn.leaves[0])
            if s.onehot and tuple(s.domain) == tuple(dom):
                return s
        return self.indicators(fn, [lambda x, v=v: int(x == v) for v in dom], span, what)

    def indicators(self, fn: Fn, preds, span, what) -> Slot:
        key = ("ind", fn.key, what, tuple(p(x) for p in preds
                                          for x in self.fn_domain(fn, span)))
        if key in self.cache:
            return self.cache[key]
        fns = [Fn(fn.leaves, lambda *xs, p=p: p(fn.f(*xs)), (fn.key, what, i))
               for i, p in enumerate(preds)]
        slot = self.slot(what, len(fns), False, (0, 1))
        self.add(self.table_task(fns, None, span, what, dest=slot))
        self.cache[key] = slot
        return slot

    def head(self, q, k, v, dest, mask, what, span):
        bound = 0
        for qf, kf in zip(q, k):
            qm = sum(abs(w) * _magnitude(s) for s, _, w in qf)
            # the BOS row's key is its BOS-channel term alone (the compiler corrects it so), a
            # real row's has no BOS term: a key's magnitude is the larger of the two
            km = max(sum(abs(w) * _magnitude(s) for s, _, w in kf if s is not self.bos),
                     sum(abs(w) for s, _, w in kf if s is self.bos))
            bound += qm * km
        bound *= LAMBDA
        self.check_scores(bound, span)
        self.max_score = max(self.max_score, bound)
        self.add(Head(q, k, v, dest, mask, what))
        return dest

    def check_scores(self, bound, span) -> None:
        if bound >= self.limit:
            raise NclError.at(span, ATTENTION_MARGIN,
                              f"attention margin cannot be guaranteed: this selection needs "
                              f"scores up to {bound:.0f} (2^{math.log2(bound):.1f}) at n = "
                              f"{self.n}, past 2^{int(math.log2(self.limit))}, where {self.dtype} "
                              f"stops computing them exactly (margin 1 scaled by {LAMBDA})")

    def aggregate(self, op: ir.Aggregate) -> Slot:
        agg, span = op.agg, op.span
        if op.kind != "attention":
            raise _unsupported(span, f"an aggregation over {op.reduced}")
        if len(op.body_domain) > 2:
            raise _unsupported(span, "an aggregation with more than two position axes")
        cond = self.split(op.cond, op) if op.cond is not None else ("side", "g", _const_fn(1))
        terms = self.dnf(cond, op)
        if op.body is not None and agg in ("any", "all", "sum") and len(op.body_domain) == 2 \
                and not self._one_sided(op.body, op):
            return self.mixed_body(op, cond)
        body = self.split(op.body, op) if op.body is not None else None
        if body is not None and body[0] != "side":
            raise _unsupported(span, "a body that compares the selecting and selected "
                                     "positions (move the comparison into the condition)")
        name = f"{agg} %{op.out.id}"
        if agg in ("argmax", "argmin", "max", "min"):
            return self.select_extreme(op, terms, body, name)
        if len(terms) > 1 and agg not in ("count", "sum", "any", "all", "mean"):
            raise _unsupported(span, f"'{agg}' over a condition with alternatives ('or')")
        if len(terms) > MAX_DISJUNCTS:
            raise _unsupported(span, f"a condition with {len(terms)} alternatives (at most "
                                     f"{MAX_DISJUNCTS})")
        # inclusion-exclusion: sum over non-empty subsets of the disjuncts of their conjunction
        subsets = [c for r in range(1, len(terms) + 1)
                   for c in itertools.combinations(range(len(terms)), r)]
        if agg == "mean":
            if any(self.consumers(op.out)):
                raise _unsupported(span, "a mean used inside the program (a frac is computed "
                                         "only as a result, as an exact sum / count pair)")
            s = self.counted(op, subsets, terms, body, "sum", name + " sum")
            c = self.counted(op, subsets, terms, body, "count", name + " count")
            out = self.slot(name, 2, False, tuple(range(min(s.lo, 0), max(s.hi, self.n) + 1)))
            blk = G.parallel(G.identity([(s.lo, s.hi)]), G.identity([(c.lo, c.hi)]))
            self.add(MLPTask([s, c], blk, out, "mean pair"))
            out.frac = True
            return out
        return self.counted(op, subsets, terms, body, agg, name)

    def _one_sided(self, v, agg) -> bool:
        try:
            return self.split(v, agg)[0] == "side"
        except NclError:
            return False

    def mixed_body(self, op, cond) -> Slot:
        """any / all / sum of a body that compares the selecting and selected positions (or
        their values): the comparison moves into the condition. any(b if c) is
        count(c and b) >= 1, all(b if c) is count(c and not b) == 0, sum of a Boolean b is
        count(c and b), and sum(x if b else y if c) is sum(x if c and b) + sum(y if c and
        not b), x and y values of the selected position (or constants)."""
        agg, span, name = op.agg, op.span, f"{op.agg} %{op.out.id}"
        v = op.body

        def sel_count(tree, body, how, label):
            terms = self.dnf(tree, op)
            if len(terms) > MAX_DISJUNCTS:
                raise _unsupported(span, f"a condition with {len(terms)} alternatives (at most "
                                         f"{MAX_DISJUNCTS}) once the body's comparison joins it")
            subsets = [c for r in range(1, len(terms) + 1)
                       for c in itertools.combinations(range(len(terms)), r)]
            return self.counted(op, subsets, terms, body, how, label)
        if isinstance(v.type, T.Bool):
            b = self.split(v, op)
            if agg == "all":
                b = ("not", b)
            c = sel_count(("and", cond, b), None, "count", name + " count")
            if agg == "sum":
                return c
            bit = self.slot(name, 1, False, (0, 1))
            f = (lambda x: int(x >= 1)) if agg == "any" else (lambda x: int(x == 0))
            sh = G.table(f, [(c.lo, c.hi)], "relu", TABLE_LIMIT)
            self.add(MLPTask([c], sh.block(), bit, name))
            return bit
        src = self.defs.get(v)
        if agg == "sum" and isinstance(src, ir.Local) and src.op == "select":
            c_v, x_v, y_v = src.args
            b = self.split(c_v, op)
            xs, ys = self.split(x_v, op), self.split(y_v, op)
            if xs[0] == "side" and ys[0] == "side" and "q" not in (xs[1], ys[1]):
                a = sel_count(("and", cond, b), xs, "sum", name + " then")
                e = sel_count(("and", cond, ("not", b)), ys, "sum", name + " else")
                lo, hi = a.lo + e.lo, a.hi + e.hi
                out = self.slot(name, 1, False, tuple(range(lo, hi + 1)))
                ranges = [(a.lo, a.hi), (e.lo, e.hi)]
                blk = G.chain(G.parallel(*[G.identity([r]) for r in ranges]),
                              G._make([G.Layer(np.array([[1, 1]], np.float64), [0], "id")],
                                      ranges, [(lo, hi)]))
                self.add(MLPTask([a, e], blk, out, f"{name} (then + else)"))
                return out
        raise _unsupported(span, "a body that compares the selecting and selected positions "
                                 "here (any, all and sum of a comparison, and sum of "
                                 "'x if COMPARISON else y', compile; move it into the condition)")

    def _never_empty(self, lits) -> bool:
        """Whether a conjunction holds at the selecting position itself (j = i), so that the
        selection is never empty: each literal an inclusive comparison of the two positions
        (j <= i, j >= i, j == i) or of one value at both (tokens[j] == tokens[i])."""
        for lit in lits:
            if lit[0] == "side":
                if lit[2].leaves == () and lit[2].f():
                    continue
                return False
            _, name, kf, qf = lit
            if name not in ("eq", "le", "ge"):
                return False
            both_pos = self._iota_id(kf) is not None and self._iota_id(qf) is not None \
                and kf.key == ("leaf", self._iota_id(kf)) and qf.key == ("leaf", self._iota_id(qf))
            if not (both_pos or kf.key == qf.key):
                return False
        return True

    def consumers(self, v):
        for o in ir.walk(self.program.ops):
            if v in ir.operands(o):
                yield o

    def value_terms(self, body, agg, op):
        """The head's value dimension for `agg` over `body`, with its range."""
        if agg == "count":
            return [(self.real, 0, 1)], (0, 1)
        fn = body[2]
        if agg == "any":
            s = self.materialize_fn(fn, op.span, "any body")
            return [(s, 0, 1)], (0, 1)
        if agg == "all":
            s = self.materialize_fn(_compose("not", [fn]), op.span, "all body")
            return [(s, 0, 1)], (0, 1)
        s = self.materialize_fn(fn, op.span, f"{agg} body")
        if agg == "only" and isinstance(op.out.type, (T.Index, T.NoneType)):
            return [(s, 0, 1), (self.real, 0, 1)], (s.lo + 1, s.hi + 1)
        return [(s, 0, 1)], (s.lo, s.hi)

    def counted(self, op, subsets, terms, body, agg, name) -> Slot:
        if body is not None and body[1] == "q" and agg not in ("count",):
            raise _unsupported(op.span, "a body that depends on the selecting position only")
        vt, (vlo, vhi) = self.value_terms(body, agg, op)
        n = self.n
        parts = []
        for sub in subsets:
            lits = [lit for i in sub for lit in terms[i]]
            q, k, mask = self.features(lits, op, True)
            tmp = self.slot(f"avg {name}", 2, False, (min(vlo, 0), max(vhi, 1)))
            self.head(q, k, [[(self.bos, 0, 1)], vt], tmp, mask, name, op.span)
            if agg in ("count", "sum"):
                lo, hi = (0, n) if agg == "count" else (n * min(vlo, 0), n * max(vhi, 0))
            elif agg in ("any", "all"):
                lo, hi = 0, n
            else:
                lo, hi = min(vlo, 0), max(vhi, 0)
            parts.append((len(sub), self.decode(tmp, lo, hi, name, op.span)))
        if len(parts) == 1:
            x = parts[0][1]
        else:
            signs = [(-1) ** (r + 1) for r, _ in parts]
            lo = sum(min(s * p.lo, s * p.hi) for s, (_, p) in zip(signs, parts))
            hi = sum(max(s * p.lo, s * p.hi) for s, (_, p) in zip(signs, parts))
            lo, hi = max(lo, 0 if agg == "count" else lo), min(hi, n if agg == "count" else hi)
            x = self.slot(name, 1, False, tuple(range(lo, hi + 1)))
            W = np.array([signs], np.float64)
            ranges = [(p.lo, p.hi) for _, p in parts]
            blk = G.chain(G.parallel(*[G.identity([r]) for r in ranges]),
                          G._make([G.Layer(W, [0], "id")], ranges, [(lo, hi)]))
            self.add(MLPTask([p for _, p in parts], blk, x, f"{name} (inclusion-exclusion)"))
        if agg in ("any", "all"):
            bit = self.slot(name, 1, False, (0, 1))
            f = (lambda c: int(c >= 1)) if agg == "any" else (lambda c: int(c == 0))
            sh = G.table(f, [(x.lo, x.hi)], "relu", TABLE_LIMIT)
            self.add(MLPTask([x], sh.block(), bit, name))
            return bit
        if agg == "only" and isinstance(op.out.type, (T.Index, T.NoneType)):
            out = self.slot(name, 1, False, tuple(range(x.lo - 1, x.hi)))
            blk = G._make([G.Layer([[1]], [-x.lo], "relu"), G.Layer([[1]], [x.lo - 1], "id")],
                          [(x.lo, x.hi)], [(x.lo - 1, x.hi - 1)])
            self.add(MLPTask([x], blk, out, name))
            return out
        return x

    def select_extreme(self, op, terms, body, name) -> Slot:
        """argmax/argmin/max/min: one key wins exactly: score W * (condition level) + s_j with
        s_j = sign * (N+1) * body_j - j, unique per key; the BOS row (the empty selection's
        none) scores below every selected key and above every unselected one."""
        agg, span = op.agg, op.span
        if len(terms) > 1:
            raise _unsupported(span, f"'{agg}' over a condition with alternatives ('or')")
        if body is None or body[0] != "side" or body[1] == "q":
            raise _unsupported(span, f"'{agg}' of a value of the selecting position")
        if agg in ("max", "min") and terms != [[("side", "g", terms[0][0][2])]] \
                and op.cond is not None and not self._never_empty(terms[0]):
            inf = "-inf" if agg == "max" else "inf"
            raise _unsupported(span, f"'{agg}' over a condition that may select nothing: an "
                                     f"empty selection gives {inf}, which the network cannot "
                                     f"hold (a condition that holds at the selecting position, "
                                     f"such as j <= i, compiles)")
        sign = 1 if agg in ("argmax", "max") else -1
        bs = self.materialize_fn(body[2], span, f"{agg} key")
        N = self.n
        srange = (N + 1) * (bs.hi - bs.lo) + N
        q, k, mask = self.features(terms[0], op, False)
        # the condition's unit of score must outweigh every s_j difference
        Wc = srange + 2
        q = [[(s, c, w * Wc) for s, c, w in f] for f in q]
        if agg in ("argmax", "argmin"):
            if op.elem is None or not isinstance(self.defs.get(self._base(op.elem)), ir.Iota):
                raise _unsupported(span, f"'{agg}' whose element is not the position")
        # A key at condition level l scores l * Wc + s_j, s_j in [smax - srange, smax]; the BOS
        # row, given level L - 1 by `features` (L the full level), scores smax + 1 on top: just
        # below every selected key (L * Wc + smax - srange > that) and above every key that
        # fails a literal (at most (L - 1) * Wc + smax), so an empty selection gives none.
        smax = (bs.hi if sign > 0 else -bs.lo) * (N + 1)
        q.append([(self.one, 0, 1)])
        k.append([(bs, 0, sign * (N + 1)), (self.pos, 0, -1), (self.bos, 0, smax + 1)])
        if agg in ("argmax", "argmin"):
            v = [[(self.pos, 0, 1), (self.real, 0, 1), (self.one, 0, -1)]]
            out = self.slot(name, 1, False, tuple(range(-1, N)))
        else:
            v = [[(bs, 0, 1)]]
            out = self.slot(name, 1, False, bs.domain)
        return self.head(q, k, v, out, mask, name, span)

    def _base(self, v):
        op = self.defs.get(v)
        while isinstance(op, ir.Broadcast):
            v = op.arg
            op = self.defs.get(v)
        return v

    def gather(self, op: ir.Gather) -> Slot:
        if len(op.index) != 1 or len(op.table.domain) != 1:
            raise _unsupported(op.span, "a read of a field with other than one position axis")
        table = self.leaf_slot(op.table)
        idx = self.fn(op.index[0])
        span = op.span
        pos_fn = _leaf(self._pos_value())
        lit = ("atom", "eq", pos_fn, idx)
        fake = ir.Aggregate(op.out, "only", 1, None, None, None, None, span)
        # An index outside the sequence (`tokens[i - 1]` at i = 0, `tokens[i + 1]` at the last
        # position) matches no key. The program never observes such a read (it is guarded, or
        # the interpreter errs), but the fused gadgets that consume it are exact only on their
        # domain's grid, so a miss must still give a value of the domain, not an average of
        # every row. Hence the BOS row scores half a level below the match: the matching key
        # wins, and on a miss the BOS row wins alone and contributes the fill value (the
        # domain's first value; the BOS row's value features are its embedding terms only, see
        # `artifact`). Half a level is LAMBDA / 2 = 512 score units: exp(-512) is 0 in float32
        # (it underflows below exp(-104)), so float32 keeps the scores' size; in float64 it is
        # not 0, so there the scores are doubled instead (2^53 leaves room) and the BOS row
        # sits one full unit below the match.
        q, k, mask = self.features([lit], fake, True)
        if self.dtype == "float64":
            q = [[(s, c, 2 * w) for s, c, w in f] for f in q]
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, -1)])
        else:
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, -0.5)])
        out = self.slot(f"gather %{op.out.id}", table.width, table.onehot, table.domain)
        fill = 1 if table.onehot else table.lo  # channel 0: the first value's, or the number
        v = [[(table, c, 1)] + ([(self.bos, 0, fill)] if c == 0 and fill else [])
             for c in range(table.width)]
        return self.head(q, k, v, out, mask, f"gather %{op.out.id}", span)

    def _pos_value(self) -> ir.Value:
        v = ir.Value(-1, (ir.POS,), T.Index(T.POS))
        self.defs[v] = ir.Iota(v)
        self.materialized[v] = self.pos
        return v
