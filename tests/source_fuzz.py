"""A source fuzzer for nclang: token-level mutations of real programs, and the property that
every mutant is checked (and, when it checks, compiled at small sizes) to an answer or to
located diagnostics.

Used by tests/test_fuzz_source.py (bounded, through hypothesis) and bench/fuzz_source.py (10^4
mutants from a seed). The seeds are the stdlib programs and every `ncl` block of docs/*.md. A
mutation works on the token list, so most mutants stay close to a program that checks (the
interesting crashes are deep in the checker, the analyses and the lowering, not in the parser),
and the whitespace between tokens is kept, so lines and columns stay meaningful.
"""
from __future__ import annotations

import re
import signal
import tempfile
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TOKEN = re.compile(r"""
    (?P<comment>^[ \t]*//[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<int>[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>//|==|!=|<=|>=|\.\.|->|[-+*/%<>=()\[\]{},:;])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.M | re.X)

# Literals that have broken something before: zero and negative counts, the float32 and
# float64 exactness edges, more digits than Python reads, loop counts no run can finish.
HUGE_LITERALS = ("0", "1", "-1", "2", "16777216", "16777217", "9007199254740991",
                 "9007199254740992", str(10 ** 12), str(10 ** 20), "9" * 5000)
SIZE_NAMES = ("n", "m", "k", "w", "q", "NC2", "inf", "none", "nodes", "positions")
INSERTS = ("repeat 1000000000000 {", "repeat n * n {", "repeat log2(n) {", "}", "{", "(", ")",
           "[", "]", ",", "inf", "-inf", "none", "true", "and", "or", "not", "xor", "if", "else",
           "for", "in", "+", "-", "*", "//", "/", "%", "==", "<", "..", "->", "=", "0", "n",
           "k // 0", "ceil(log2(n))", "until stable", "return", "program", "def", "x[0]",
           "tokens[-1]", "count(i for i in range(k) if x[i])", "bits[w]", "int[inf..inf]",
           "int[0..9007199254740993]", "vec[int, 1099511627776]", "scan(+, x)")


def seeds() -> list[str]:
    """Every stdlib program and every `ncl` block of the docs."""
    out = [p.read_text() for p in sorted((ROOT / "stdlib").rglob("*.ncl"))]
    fence = re.compile(r"^```ncl[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
    for doc in sorted((ROOT / "docs").glob("*.md")):
        out += [m.group(1) for m in fence.finditer(doc.read_text())]
    return out


def tokens(text: str) -> list[tuple[str, str]]:
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]


def untokens(toks: list[tuple[str, str]]) -> str:
    return "".join(t for _, t in toks)


MUTATIONS = ("delete", "duplicate", "swap", "literal", "rename", "insert", "repeat")


def mutate(text: str, choose) -> str:
    """One mutation of `text`; `choose(seq)` picks an element (hypothesis's draw, or random)."""
    toks = tokens(text)
    solid = [i for i, (kind, _) in enumerate(toks) if kind not in ("space", "comment")]
    if not solid:
        return choose(INSERTS)
    kind = choose(MUTATIONS)
    i = choose(solid)
    if kind == "delete":
        del toks[i]
    elif kind == "duplicate":
        toks.insert(i, toks[i])
        toks.insert(i + 1, ("space", " "))
    elif kind == "swap":
        j = choose(solid)
        toks[i], toks[j] = toks[j], toks[i]
    elif kind == "literal":
        ints = [j for j in solid if toks[j][0] == "int"] or [i]
        toks[choose(ints)] = ("int", choose(HUGE_LITERALS))
    elif kind == "rename":
        names = [j for j in solid if toks[j][0] == "name"] or [i]
        target = toks[choose(names)][1]
        new = choose(SIZE_NAMES)
        toks = [(k, new if (k, t) == ("name", target) else t) for k, t in toks]
    elif kind == "insert":
        toks.insert(i, ("other", " " + choose(INSERTS) + " "))
    else:  # a loop count no one can wait for, or one that may be zero or undefined
        reps = [j for j in solid if toks[j][1] == "repeat"]
        if reps:
            j = choose(reps)
            k = next((x for x in solid if x > j and toks[x][1] == "{"), None)
            if k is not None:
                toks[j + 1:k] = [("other", " " + choose(("1000000000000", "n * n * n", "0",
                                                          "n - 5", "k // (k - 1)", "log2(n)",
                                                          "ceil(log2(m))")) + " ")]
        else:
            toks.insert(i, ("other", " repeat 1000000000000 { "))
            toks.append(("other", " }"))
    return untokens(toks)


@dataclass
class Outcome:
    stage: str      # "parse-or-check" | "checked" | "compiled" | "refused-at-compile"
    error: str | None = None   # a traceback when something other than NclError escaped


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Raise Hang in this (main) thread after `seconds`; a no-op where SIGALRM is missing."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def sizes_for(checked) -> dict[str, int]:
    """Small sizes for every size a compile needs: n for a sequence program (the transformer's
    maximum length), every width of a bits program."""
    sizes = {name: 3 for name in checked.size_vars if name not in ("n", "m")}
    if checked.family == "seq":
        sizes["n"] = 3
    return sizes


def check_and_compile(text: str, compile_too: bool = True, seconds: float = 30.0) -> Outcome:
    """Check `text`; when it checks, compile its first program at small sizes. Only NclError
    may escape the nclang code; anything else (a Hang included) comes back as `error`."""
    from nclang.compiler.driver import Source, compile_checked
    from nclang.dsl.checker import check_source
    from nclang.dsl.diagnostics import NclError

    stage = "parse-or-check"
    try:
        with time_limit(seconds):
            checked = check_source(text, "fuzz.ncl")
            stage = "checked"
            if not compile_too or not checked:
                return Outcome(stage)
            with tempfile.TemporaryDirectory() as tmp:
                source = Source("fuzz.ncl", text.encode(), text)
                try:
                    compile_checked(source, checked[0], Path(tmp) / "out.safetensors",
                                    sizes=sizes_for(checked[0]))
                except NclError:
                    return Outcome("refused-at-compile")
            return Outcome("compiled")
    except NclError:
        return Outcome(stage)
    except RecursionError:
        return Outcome(stage, "RecursionError\n" + traceback.format_exc(limit=-8))
    except Exception:  # noqa: BLE001 - the property: nothing else escapes
        return Outcome(stage, traceback.format_exc(limit=-8))
