"""CLRS's mst_prim and dijkstra on a CLRS sample, written out in plain Python with the one choice
CLRS leaves open made explicit: its `u = np.argsort(key + (1 - in_queue) * 1e9)[0]` extracts
a queued node of least key, but numpy's default sort is not stable, so among tied keys which
node comes first is numpy's (it differs across CPUs). Here ties go to the smallest index, the
rule nclang's programs state, and the run counts the extractions where a tie was there to break.
The loop is CLRS's, line for line, on the sample's matrix `A` (0 = no edge)."""
from __future__ import annotations


def run(A: list[list], s: int, step) -> tuple[list[int], list, int]:
    """(pi, key, ties): `step(key_u, weight)` is the key an edge u -> v offers v."""
    n = len(A)
    key, pi = [0] * n, list(range(n))
    mark, queued = [False] * n, [False] * n
    queued[s] = True
    ties = 0
    for _ in range(n):
        waiting = [x for x in range(n) if queued[x]]
        if not waiting:
            break
        u = min(waiting, key=lambda x: (key[x], x))
        ties += sum(key[x] == key[u] for x in waiting) > 1
        mark[u], queued[u] = True, False
        for v in range(n):
            if A[u][v] != 0 and not mark[v] and (not queued[v] or step(key[u], A[u][v]) < key[v]):
                pi[v], key[v], queued[v] = u, step(key[u], A[u][v]), True
    return pi, key, ties


def mst_prim(A, s):
    return run(A, s, lambda _, w: w)


def dijkstra(A, s):
    return run(A, s, lambda d, w: d + w)


# the CLRS algorithms whose reference breaks extraction ties with numpy's argsort
BY_NAME = {"mst_prim": mst_prim, "dijkstra": dijkstra}


def tree_value(A: list[list], s: int, pi: list[int], name: str):
    """What any right answer shares, whichever tie it broke: for mst_prim the nodes the tree
    reaches and its weight, for dijkstra each node's distance from s along pi (None where pi
    does not reach it)."""
    n = len(A)
    dist: list = [None] * n
    dist[s] = 0
    for _ in range(n):
        for v in range(n):
            if dist[v] is None and pi[v] != v and dist[pi[v]] is not None:
                dist[v] = dist[pi[v]] + A[pi[v]][v]
    if name == "dijkstra":
        return dist
    reached = [v for v in range(n) if dist[v] is not None]
    return reached, sum(A[pi[v]][v] for v in reached if v != s)
