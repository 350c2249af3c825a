"""The schema of a `gnn` weight file: its stages and value kinds, and its program of
instructions, checked as the runtime will run it (every value defined before it is read, every
stage and domain it names present, loops well formed)."""
from __future__ import annotations

import math

from .common import _formula, _nat, _pos, _str

# the size variables a family's runtime evaluates formulas at
GNN_NAMES = ("n", "m")

GNN_KINDS = {"bool": 1, "int": 1, "index": 1, "pinf": 2, "ninf": 2}
# membership is tested against a tuple: a JSON list or object is unhashable, a dict lookup fails
KIND_NAMES = tuple(GNN_KINDS)
GNN_DOMS = ("node", "edge")
GNN_AGGS = ("any", "all", "sum", "count", "min", "max", "argmin", "argmax")
GNN_ACTS = ("relu", "id")


def _gnn(meta: dict, tensors: dict) -> list[str]:
    arch, enc = meta["architecture"], meta["encodings"]
    p = []
    if not isinstance(arch.get("program"), list) or not isinstance(arch.get("stages"), list) \
            or not _pos(arch.get("design_bound")):
        return ["a gnn architecture needs 'stages' (a list), 'program' (a list) and "
                "'design_bound' (a positive integer)"]
    values = arch.get("values", {})
    if not isinstance(values, dict) or not all(v in KIND_NAMES for v in values.values()):
        return [f"architecture 'values' must map value ids to kinds "
                f"({', '.join(GNN_KINDS)})"]
    if arch.get("value_bound") is not None:
        p += _formula(arch["value_bound"], GNN_NAMES, "architecture value_bound")
    stages = arch["stages"]
    for i, s in enumerate(stages):
        where = f"architecture stages[{i}]"
        if not isinstance(s, dict) or not isinstance(s.get("layers"), list) or not s["layers"]:
            p.append(f"{where} must have 'layers': a non-empty list")
            continue
        if not (_doms(s.get("domain", [])) and _str(s.get("op", "")) and _str(s.get("role", ""))):
            p.append(f"{where} must have a 'domain' (a list of node / edge) and string 'op' and "
                     f"'role'")
        prev = None
        for j, lay in enumerate(s["layers"]):
            if not (isinstance(lay, dict) and _pos(lay.get("in")) and _pos(lay.get("out"))
                    and lay.get("act") in GNN_ACTS):
                p.append(f"{where} layers[{j}] must be {{\"in\", \"out\": positive integers, "
                         f"\"act\": relu or id}}")
                break
            if prev is not None and lay["in"] != prev:
                p.append(f"{where} layers[{j}] reads {lay['in']} values but layer {j - 1} "
                         f"writes {prev}")
            prev = lay["out"]
            for name, shape in ((f"stages.{i}.layers.{j}.weight", (lay["out"], lay["in"])),
                                (f"stages.{i}.layers.{j}.bias", (lay["out"],))):
                t = tensors.get(name)
                if t is None:
                    p.append(f"tensor '{name}' is missing; {where} needs it")
                elif t.shape != shape or t.dtype.kind != "f":
                    p.append(f"tensor '{name}' has shape {t.shape} and dtype {t.dtype}; "
                             f"{where} needs a float tensor of shape {shape}")
    names = {f"stages.{i}.layers.{j}.{w}" for i, s in enumerate(stages) if isinstance(s, dict)
             and isinstance(s.get("layers"), list) for j in range(len(s["layers"]))
             for w in ("weight", "bias")}
    p += [f"tensor '{k}' is not part of any stage" for k in sorted(tensors) if k not in names]
    if p:
        return p
    graphs = [e for e in enc["inputs"] if e.get("kind") == "graph"]
    if len(graphs) != 1 or graphs[0]["type"] != "graph":
        return ["a gnn file's encodings must have exactly one input of kind graph, type graph"]
    p += _type_domains(meta)
    if p:
        return p
    inputs = {}
    for i, e in enumerate(enc["inputs"]):
        if e.get("kind") == "graph":
            continue
        if e.get("kind") not in KIND_NAMES or not _doms(e.get("domain")):
            p.append(f"encodings inputs[{i}] ('{e['name']}') must have a 'kind' "
                     f"({', '.join(GNN_KINDS)}) and a 'domain' (a list of node / edge)")
        else:
            inputs[e["name"]] = e
    if p:
        return p
    env: dict[int, tuple] = {}
    p += _gnn_block(arch["program"], env, stages, inputs, "architecture program", 0)
    if p:
        return p
    # training reads each carried value's kind from `values`
    p += [f"architecture 'values' has no kind for value {v}, which a loop carries"
          for v in sorted(_carried_next(arch["program"])) if str(v) not in values]
    for i, e in enumerate(enc["outputs"]):
        where = f"encodings outputs[{i}] ('{e['name']}')"
        if e.get("kind") not in KIND_NAMES or not _doms(e.get("domain")) \
                or not _nat(e.get("value")):
            p.append(f"{where} must have 'kind', 'domain' and 'value' (a value id)")
        elif e["value"] not in env:
            p.append(f"{where} reads value {e['value']}, which the program never computes")
        elif env[e["value"]] != (tuple(e["domain"]), GNN_KINDS[e["kind"]]):
            p.append(f"{where} has domain {e['domain']} and kind {e['kind']}, but value "
                     f"{e['value']} has domain {list(env[e['value']][0])} and "
                     f"{env[e['value']][1]} channels")
    return p


def _type_domains(meta: dict) -> list[str]:
    """Each gnn encoding item's `domain` must be its declared type's (node[bool] is over node):
    the runtime stacks the decoded value, whose shape the type decides, as that domain."""
    from nclang.dsl import types as T
    from nclang.dsl.diagnostics import NclError
    from nclang.compiler.runtime.encoding import signature
    try:
        shim, _ = signature(meta, "")
    except NclError:
        return []  # reported by the runtime when it builds the signature (runtime.CompiledNet)
    enc, p = meta["encodings"], []
    typed = list(zip(enc["inputs"], shim.program.params)) + \
        list(zip(enc["outputs"], shim.program.results))
    for item, syntax in typed:
        t = T.from_syntax(getattr(syntax, "type", syntax))
        if isinstance(t, T.Graph) != (item.get("kind") == "graph"):
            p.append(f"encodings item '{item['name']}': only the graph has kind graph")
            continue
        dom = [a.kind for a in t.axes] if isinstance(t, T.Field) else []
        if not isinstance(t, T.Graph) and (item.get("domain") != dom
                                            or not all(d in GNN_DOMS for d in dom)):
            p.append(f"encodings item '{item['name']}' has domain {item.get('domain')}, but its "
                     f"type {item['type']} is over {dom}")
    return p


def _doms(v) -> bool:
    # at most one edge axis: a value with one is held with the edge (E) as its leading axis
    return isinstance(v, list) and len(v) <= 3 and all(d in GNN_DOMS for d in v) \
        and v.count("edge") <= 1


def _carried_next(code) -> set[int]:
    out = set()
    for ins in code:
        if ins["op"] == "loop":
            out |= {c["next"] for c in ins["carried"]} | _carried_next(ins["body"])
    return out


# fields every instruction of each op has, with their checks; `out`, `dom`, `kind` are common
_OPS = ("input", "adjacency", "const", "size", "iota", "mlp", "broadcast", "gather",
        "aggregate", "loop")


def _gnn_block(code, env: dict, stages, inputs: dict, where: str, depth: int) -> list[str]:
    """Check one block of instructions, defining their outputs in `env` (value id -> (domain,
    channels)) as the runtime will; the first problem ends the block, since later
    instructions read what it would have defined."""
    if depth > 8:
        return [f"{where}: loops nested more than 8 deep"]
    if not isinstance(code, list):
        return [f"{where} must be a list of instructions"]
    for j, ins in enumerate(code):
        at = f"{where}[{j}]"
        if not isinstance(ins, dict) or ins.get("op") not in _OPS:
            return [f"{at} must be an instruction with 'op' one of {', '.join(_OPS)}"]
        op = ins["op"]
        at = f"{at} ({op})"
        if op == "loop":
            p = _gnn_loop(ins, env, stages, inputs, at, depth)
            if p:
                return p
            continue
        if not (_nat(ins.get("out")) and _doms(ins.get("dom"))
                and ins.get("kind") in KIND_NAMES):
            return [f"{at} must have 'out' (a value id), 'dom' (a list of node / edge) and "
                    f"'kind' ({', '.join(GNN_KINDS)})"]
        dom, width = tuple(ins["dom"]), GNN_KINDS[ins["kind"]]

        # ins and at bound as defaults: read is safe even if something keeps it past this iteration
        def read(key, want_dom=None, optional=False, *, ins=ins, at=at):
            v = ins.get(key)
            if v is None and optional:
                return None, None
            if not _nat(v) or v not in env:
                raise _Bad(f"{at} reads '{key}' = {v!r}, which is not a value computed before it")
            d, w = env[v]
            if want_dom is not None and d != tuple(want_dom):
                raise _Bad(f"{at} reads value {v} over {list(d)} where it needs "
                           f"{list(want_dom)}")
            return d, w

        try:
            if op == "input":
                e = inputs.get(ins["name"]) if _str(ins.get("name")) else None
                if e is None:
                    return [f"{at} reads input {ins.get('name')!r}, which is not one of the "
                            f"program's parameters in 'encodings'"]
                if e["kind"] != ins["kind"] or tuple(e["domain"]) != dom:
                    return [f"{at} reads {e['name']} as {ins['kind']} over {list(dom)}, but "
                            f"encodings say {e['kind']} over {e['domain']}"]
            elif op == "adjacency":
                if dom != ("node", "node") or width != 1:
                    return [f"{at} must be a one-channel value over node, node"]
            elif op == "const":
                v = ins.get("value")
                if dom != () or not isinstance(v, list) or len(v) != width or not all(
                        isinstance(x, (int, float)) and not isinstance(x, bool)
                        and math.isfinite(x) and abs(x) < 2 ** 53 for x in v):
                    return [f"{at} must be a global value with 'value': {width} finite numbers"]
            elif op == "size":
                p = _formula(ins.get("expr"), GNN_NAMES, f"{at} expr")
                if p:
                    return p
                if dom != () or width != 1:
                    return [f"{at} must be a one-channel global value"]
            elif op == "iota":
                if dom != ("node",) or width != 1:
                    return [f"{at} must be a one-channel value over node"]
            elif op == "mlp":
                s = ins.get("stage")
                if not _nat(s) or s >= len(stages) or not isinstance(ins.get("args"), list) \
                        or not ins["args"]:
                    return [f"{at} must have 'args' (value ids) and 'stage' (one of the "
                            f"{len(stages)} stages)"]
                total = 0
                for a in ins["args"]:
                    if not _nat(a) or a not in env or env[a][0] != dom:
                        return [f"{at} reads {a!r}, which is not a value over {list(dom)} "
                                f"computed before it"]
                    total += env[a][1]
                layers = stages[s]["layers"]
                if layers[0]["in"] != total or layers[-1]["out"] != width:
                    return [f"{at} feeds {total} channels to stage {s} and expects {width} "
                            f"back; the stage reads {layers[0]['in']} and writes "
                            f"{layers[-1]['out']}"]
            elif op == "broadcast":
                p = _broadcast(ins, at, dom)
                if p:
                    return p
                read("arg", ins["arg_dom"])
                if env[ins["arg"]][1] != width:
                    return [f"{at} changes the number of channels"]
            elif op == "gather":
                # x[p[v]] over node, or a global read at one node (`x[0]`, `x[s]`)
                if dom not in ((), ("node",)):
                    return [f"{at} must be a value over node or a global"]
                _, w = read("table", ("node",))
                read("index", dom)
                if w != width:
                    return [f"{at} changes the number of channels"]
            elif op == "aggregate":
                p = _aggregate(ins, at, dom, width, read)
                if p:
                    return p
        except _Bad as err:
            return [str(err)]
        env[ins["out"]] = (dom, width)
    return []


class _Bad(Exception):
    pass


def _broadcast(ins, at, dom) -> list[str]:
    arg_dom, axes, ends = ins.get("arg_dom"), ins.get("axes"), ins.get("endpoints")
    if not (_doms(arg_dom) and isinstance(axes, list) and isinstance(ends, list)
            and len(axes) == len(arg_dom) == len(ends)
            and all(_nat(a) and a < len(dom) for a in axes)
            and all(e in (None, "src", "dst") for e in ends)):
        return [f"{at} must have 'arg_dom', and 'axes' and 'endpoints' with one entry per "
                f"axis of it"]
    out_nodes = [i for i, k in enumerate(dom) if k == "node"]
    kept = [i for i, k in enumerate(arg_dom) if k == "node" and ends[i] is None]
    if any(e is not None and arg_dom[i] != "node" for i, e in enumerate(ends)) \
            or (any(e is not None for e in ends) and "edge" not in dom):
        return [f"{at}: an endpoint reads a node axis at an edge"]
    # two axes onto one node axis is the diagonal (`edge(v, v)`, `r[v, v]`), which the runtime takes
    if any(axes[i] not in out_nodes for i in kept):
        return [f"{at}: 'axes' must send each node axis to a node axis of {dom}"]
    if "edge" in arg_dom and "edge" not in dom:
        return [f"{at}: a broadcast cannot drop the edge axis"]
    return []


def _aggregate(ins, at, dom, width, read) -> list[str]:
    body_dom, axis, agg, group = (ins.get("body_dom"), ins.get("axis"), ins.get("agg"),
                                  ins.get("group"))
    if not (_doms(body_dom) and _nat(axis) and axis < len(body_dom) and agg in GNN_AGGS
            and group in (None, "src", "dst")
            and all(k in ins for k in ("body", "cond", "elem", "body_kind", "group"))):
        return [f"{at} must have 'agg' ({', '.join(GNN_AGGS)}), 'body_dom', 'axis' (an axis "
                f"of it), 'group' (null, src or dst), and 'body', 'cond', 'elem' and "
                f"'body_kind' (each may be null)"]
    if ins.get("body_kind") is not None and ins["body_kind"] not in KIND_NAMES:
        return [f"{at} has body_kind {ins['body_kind']!r}"]
    rest = [k for i, k in enumerate(body_dom) if i != axis]
    if group is not None:
        # grouped by an edge's endpoint: the edge axis becomes that node axis, in place
        if body_dom[axis] != "edge" or tuple(body_dom[:axis] + ["node"] + body_dom[axis + 1:]) \
                != dom:
            return [f"{at}: a neighbourhood aggregation turns the edge axis into a node axis"]
    elif tuple(rest) != dom:
        return [f"{at} aggregates {body_dom} over axis {axis}, which does not give {dom}"]
    body = read("body", body_dom, optional=True)
    cond = read("cond", body_dom, optional=True)
    elem = read("elem", body_dom, optional=True)
    if body == (None, None) and cond == (None, None) and elem == (None, None):
        return [f"{at} aggregates nothing"]
    if agg in ("any", "all", "sum", "min", "max", "argmin", "argmax") and body[0] is None:
        return [f"{at} ({agg}) needs a 'body'"]
    if agg in ("argmin", "argmax") and elem[0] is None:
        return [f"{at} ({agg}) needs an 'elem'"]
    bk = ins.get("body_kind")
    if body[0] is not None and (bk is None or GNN_KINDS[bk] != body[1]):
        return [f"{at}: 'body_kind' does not describe its body"]
    want = {"any": 1, "all": 1, "sum": 1, "count": 1, "argmin": 1, "argmax": 1}.get(agg)
    if agg in ("min", "max"):
        want = 2 if ins["kind"] in ("pinf", "ninf") else 1
    if width != want or (body[0] is not None and agg in ("any", "all", "sum") and body[1] != 1) \
            or (cond[0] is not None and cond[1] != 1) or (elem[0] is not None and elem[1] != 1):
        return [f"{at}: channels do not fit a {agg}"]
    return []


def _gnn_loop(ins, env, stages, inputs, at, depth) -> list[str]:
    p = _formula(ins.get("count"), GNN_NAMES, f"{at} count")
    if p:
        return p
    carried = ins.get("carried")
    if not isinstance(ins.get("until_stable"), bool) or not isinstance(carried, list) or not all(
            isinstance(c, dict) and _str(c.get("name")) and _nat(c.get("next"))
            and _nat(c.get("out")) and all(k in c and (c[k] is None or _nat(c[k]))
                                           for k in ("init", "param")) for c in carried):
        return [f"{at} must have 'until_stable' (a Boolean), 'carried' (a list of {{name, init, "
                f"param, next, out}}) and 'body'"]
    if len({c["name"] for c in carried}) != len(carried):
        return [f"{at} carries a variable twice"]
    for c in carried:
        if c["init"] is not None and c["init"] not in env:
            return [f"{at} starts '{c['name']}' from value {c['init']}, which is not computed "
                    f"before the loop"]
        if c["param"] is not None:
            if c["init"] is None:
                return [f"{at} reads '{c['name']}' in its body but gives it no initial value"]
            env[c["param"]] = env[c["init"]]
    p = _gnn_block(ins.get("body"), env, stages, inputs, f"{at} body", depth + 1)
    if p:
        return p
    for c in carried:
        if c["next"] not in env:
            return [f"{at}: '{c['name']}' takes value {c['next']}, which the body never computes"]
        if c["init"] is not None and env[c["init"]] != env[c["next"]]:
            return [f"{at}: '{c['name']}' changes domain or channels between rounds"]
        env[c["out"]] = env[c["next"]]
    return []
