"""Conditions as disjunctive normal form, for the transformer target (each conjunction is one
attention head) and for the analysis that counts its blocks: both walk the same condition trees,
("and" | "or", a, b), ("not", a) or a literal, and must split them into the same terms."""
from __future__ import annotations


def dnf(node, negate_literal) -> list[list]:
    """The condition `node` as a list of conjunctions (lists of literals), negations pushed down to
    the literals by De Morgan; `negate_literal(lit)` is the literal `not lit`."""
    def neg(nd):
        match nd[0]:
            case "not":
                return nd[1]
            case "and":
                return ("or", neg(nd[1]), neg(nd[2]))
            case "or":
                return ("and", neg(nd[1]), neg(nd[2]))
        return negate_literal(nd)

    def go(nd):
        match nd[0]:
            case "not":
                return go(neg(nd[1]))
            case "and":
                return [a + b for a in go(nd[1]) for b in go(nd[2])]
            case "or":
                return go(nd[1]) + go(nd[2])
        return [[nd]]
    return go(node)
