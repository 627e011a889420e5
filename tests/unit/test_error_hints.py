"""Every error publisher raises tells the user what to do: a hint wherever one is made.

The README promises a ``tip:`` line under every error (and ``"hint"`` in its ``--json``
document). This reads every module under ``publisher/`` with ``ast`` and finds each place
an error is made: a call to a class deriving from resolve's ``Problem`` (the base of
``PublisherError``, also through a name holding one: ``kind: type[E]``, ``kind = A if c
else B``), or to a helper that makes one and passes its own ``hint`` parameter on
(``Transport.error``, ``config._input_error``: then every call of the helper must give
one). A site passes when its hint is something: a string, a constant, a variable never set
to ``None``, a call of a function that never returns ``None``, ``x or <something>``,
another error's ``.hint``. A ``hint`` the function takes with ``None`` for default makes
the function such a helper.

An error with no useful advice says so with ``hint=NO_HINT`` (publisher.core.errors) and a
``# no hint: <why>`` comment on the lines of the call; ``ALLOWED`` lists the sites in files
being changed elsewhere, to be given hints after, and fails once one is fixed so that the
list only shrinks.

The messages of those calls (and of functions returning an error, ``-> ConfigError``) are
read too: none names a Python type (``type(x).__name__``) or shows a caught exception's
repr (``{exc!r}``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "publisher"

#: The marker of an error that has no advice to give, from publisher.core.errors.
MARKER = "NO_HINT"
#: What the comment of a NO_HINT site starts with.
MARKER_COMMENT = "# no hint:"

#: Hintless sites let through for now, each (file, function, what is called), for a file
#: another change is rewriting: give each a hint once that change is in, then remove it from
#: here (the second test fails on an entry that is fixed). None today.
ALLOWED: set[tuple[str, str, str]] = set()

#: Messages that may name a Python type: the internal error, a bug to report, where the
#: class of the unexpected exception is what the maintainers need.
WORDING_ALLOWED: set[tuple[str, str, str]] = {
    ("publisher/cli/base.py", "_reporting", "PublisherError"),
}


@dataclass(frozen=True)
class Site:
    path: str
    function: str
    callee: str
    line: int
    problem: str
    wording: bool = False  # the message, not the hint

    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.callee)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}: {self.callee}(...) {self.problem}"


@dataclass(frozen=True)
class Helper:
    """A function that makes an error with the hint its caller gives (``hint`` param)."""

    name: str
    method: bool
    params: tuple[str, ...]  # without self/cls
    positional: int  # how many of them can be given by position
    required: int  # how many of them have no default
    hint: str
    kinds: tuple[str, ...]  # the parameters naming the error class it makes (type[...])

    def binds(self, call: ast.Call, classes: set[str]) -> bool:
        """Could ``call`` be a call of this helper: do its arguments fit the signature, and
        name an error class where the helper takes one?"""
        if any(isinstance(a, ast.Starred) for a in call.args):
            return False
        if any(k.arg is None for k in call.keywords):
            return False
        if len(call.args) > self.positional:
            return False
        names = set(self.params)
        given = set(self.params[: len(call.args)]) | {k.arg for k in call.keywords}
        if not {k.arg for k in call.keywords} <= names:
            return False
        if not set(self.params[: self.required]) <= given:
            return False
        return all(
            _base_name(value) in classes for value in (self.argument(call, k) for k in self.kinds)
        )

    def argument(self, call: ast.Call, name: str) -> ast.expr | None:
        """What ``call`` gives for the parameter ``name`` (None: nothing)."""
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value
        index = self.params.index(name)
        if index < min(self.positional, len(call.args)):
            return call.args[index]
        return None


@functools.cache
def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


@functools.cache
def _parse(text: str, path: str) -> ast.Module:
    return ast.parse(text, path)


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def error_classes(modules: dict[str, ast.Module]) -> set[str]:
    """Every class deriving (by name, at any depth) from resolve's ``Problem``."""
    classes = {"Problem"}
    grew = True
    while grew:
        grew = False
        for tree in modules.values():
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef) or node.name in classes:
                    continue
                if any(_base_name(base) in classes for base in node.bases):
                    classes.add(node.name)
                    grew = True
    return classes


@dataclass
class _Function:
    node: ast.FunctionDef | ast.AsyncFunctionDef | None
    qualname: str
    method: bool
    optional_params: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    none_assigned: set[str] = field(default_factory=set)
    error_kinds: set[str] = field(default_factory=set)  # names holding an error class


def _is_none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _may_be_none(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation)
    return "None" in text or "Optional" in text


def _only_classes(node: ast.expr, classes: set[str]) -> bool:
    """Is ``node`` an error class, or a choice between error classes (``A if c else B``,
    ``A | B``)?"""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _only_classes(node.left, classes) and _only_classes(node.right, classes)
    if isinstance(node, ast.IfExp):
        return _only_classes(node.body, classes) and _only_classes(node.orelse, classes)
    if isinstance(node, ast.BoolOp):
        return all(_only_classes(value, classes) for value in node.values)
    return _base_name(node) in classes


def _function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, method: bool, classes: set[str]
) -> _Function:
    """What the walk needs of a function: its parameters that may be None, the names it sets
    to None, and the names holding an error class (``kind: type[E]``, ``kind = A if c else B``,
    where ``classes`` has the error classes and the type variables bound to one)."""
    info = _Function(node, qualname, method)
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    pairs = [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    for arg, default in pairs:
        info.params.add(arg.arg)
        if _is_none(default) or _may_be_none(arg.annotation):
            info.optional_params.add(arg.arg)
        note = arg.annotation
        if (
            isinstance(note, ast.Subscript)
            and _base_name(note.value) == "type"
            and _only_classes(note.slice, classes)
        ):
            info.error_kinds.add(arg.arg)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign) and _is_none(sub.value):
            info.none_assigned |= {t.id for t in sub.targets if isinstance(t, ast.Name)}
        elif isinstance(sub, ast.Assign) and _only_classes(sub.value, classes):
            info.error_kinds |= {t.id for t in sub.targets if isinstance(t, ast.Name)}
        elif (
            isinstance(sub, ast.AnnAssign)
            and isinstance(sub.target, ast.Name)
            and (sub.value is None or _is_none(sub.value))
        ):
            info.none_assigned.add(sub.target.id)
    return info


def _helper(info: _Function, hint: str) -> Helper:
    assert info.node is not None
    args = info.node.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if info.method and positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    required = len(positional) - len(args.defaults)
    keyword_only = [a.arg for a in args.kwonlyargs]
    return Helper(
        name=info.node.name,
        method=info.method,
        params=(*positional, *keyword_only),
        positional=len(positional),
        required=max(required, 0),
        hint=hint,
        kinds=tuple(sorted(info.error_kinds & set(positional + keyword_only))),
    )


class _Finder(ast.NodeVisitor):
    """The error-making calls of one module, each judged by what it gives as its hint."""

    def __init__(
        self,
        path: str,
        source: str,
        classes: set[str],
        helpers: list[Helper],
        optional: frozenset[str] = frozenset(),
    ):
        self.optional_returns = optional  # functions that may return None (``-> str | None``)
        self.path = path
        self.lines = source.splitlines()
        self.classes = classes
        self.helpers = helpers
        self.stack: list[_Function] = [_Function(None, "<module>", method=False)]
        self.in_class: list[str] = []
        self.sites: list[Site] = []
        self.caught: list[str] = []  # the names ``except ... as NAME`` binds around here
        self.new_helpers: list[Helper] = []
        self.type_vars: set[str] = set()
        self.factories: set[str] = set()

    def visit_Module(self, node: ast.Module) -> None:
        """First the type variables bound to an error class (``E = TypeVar("E", bound=...)``),
        and the functions that return an error (``-> ConfigError``): what is passed to them
        is worded as a message is."""
        for sub in ast.walk(node):
            function = isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
            if function and sub.returns is not None and _only_classes(sub.returns, self.classes):
                self.factories.add(sub.name)
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
                call = statement.value
                bound = next((k.value for k in call.keywords if k.arg == "bound"), None)
                bound_to_error = bound is not None and _only_classes(bound, self.classes)
                if _base_name(call.func) == "TypeVar" and bound_to_error:
                    self.type_vars |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
        self.generic_visit(node)

    # -- scopes

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.in_class.append(node.name)
        self.generic_visit(node)
        self.in_class.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.stack[-1].qualname
        owner = self.in_class[-1] if self.in_class else None
        prefix = "" if outer == "<module>" else f"{outer}."
        qualname = f"{prefix}{owner}.{node.name}" if owner else f"{prefix}{node.name}"
        saved, self.in_class = self.in_class, []
        kinds = self.classes | self.type_vars
        self.stack.append(_function(node, qualname, method=owner is not None, classes=kinds))
        self.generic_visit(node)
        self.stack.pop()
        self.in_class = saved

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self.caught.append(node.name or "")
        self.generic_visit(node)
        self.caught.pop()

    # -- calls

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = _base_name(node.func)
        kind = isinstance(node.func, ast.Name) and name in self.stack[-1].error_kinds
        if name in self.classes or kind:
            if any(k.arg is None for k in node.keywords):
                self._judge(node, name, None, unknown=True)
                return
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            self._judge(node, name, hint)
            return
        for helper in self.helpers:
            if helper.name != name or (helper.method and isinstance(node.func, ast.Name)):
                continue
            if helper.binds(node, self.classes | self.stack[-1].error_kinds):
                self._judge(node, name, helper.argument(node, helper.hint))
                return
        if name in self.factories:  # it gives the hint itself; its message comes from here
            self._word(node, name)

    def _word(self, call: ast.Call, callee: str) -> None:
        """Report what the message of ``call`` shows that it should not."""
        function = self.stack[-1]
        said = [*call.args, *(k.value for k in call.keywords if k.arg != "hint")]
        for wrong in sorted({w for arg in said for w in self._wording(arg)}):
            site = Site(self.path, function.qualname, callee, call.lineno, wrong, wording=True)
            self.sites.append(site)

    def _judge(self, call: ast.Call, callee: str, hint: ast.expr | None, unknown=False) -> None:
        function = self.stack[-1]
        self._word(call, callee)
        if unknown:
            problem: str | None = "passes **keywords: give hint= by name"
        else:
            problem = self._problem(call, hint, function)
        if problem:
            self.sites.append(Site(self.path, function.qualname, callee, call.lineno, problem))

    def _wording(self, message: ast.expr) -> Iterator[str]:
        """What a message shows that a user should not see: a Python class name
        (``type(x).__name__``: KeyError, NoneType) or an exception's repr (``{exc!r}``)."""
        for node in ast.walk(message):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "__name__"
                and isinstance(node.value, ast.Call)
                and _base_name(node.value.func) == "type"
            ):
                yield "names a Python type in its message (type(...).__name__)"
            shown = None
            if isinstance(node, ast.FormattedValue) and node.conversion == ord("r"):
                shown = node.value
            elif isinstance(node, ast.Call) and _base_name(node.func) == "repr" and node.args:
                shown = node.args[0]
            if isinstance(shown, ast.Name) and shown.id in self.caught:
                yield "shows an exception's repr in its message"

    def _problem(self, call: ast.Call, hint: ast.expr | None, function: _Function) -> str | None:
        if hint is None:
            return "has no hint"
        verdict = self._verdict(hint, function)
        if verdict == "missing":
            return f"may have no hint (hint={ast.unparse(hint)} can be None or empty)"
        if verdict == "marker":
            end = call.end_lineno or call.lineno
            text = "\n".join(self.lines[call.lineno - 2 : end])
            if MARKER_COMMENT not in text:
                return f"gives {MARKER} without a '{MARKER_COMMENT} <why>' comment"
            return None
        if verdict.startswith("param:"):
            assert function.node is not None
            helper = _helper(function, verdict.removeprefix("param:"))
            if helper not in self.helpers and helper not in self.new_helpers:
                self.new_helpers.append(helper)
        return None

    def _verdict(self, hint: ast.expr, function: _Function) -> str:
        """One of "ok", "missing", "marker", or "param:NAME" (the caller's hint, maybe None)."""
        if isinstance(hint, ast.Constant):
            return "ok" if isinstance(hint.value, str) and hint.value.strip() else "missing"
        if isinstance(hint, ast.JoinedStr) and not hint.values:
            return "missing"
        if isinstance(hint, ast.Name):
            if hint.id == MARKER:
                return "marker"
            if hint.id in function.params and hint.id in function.optional_params:
                return f"param:{hint.id}"
            if hint.id in function.none_assigned:
                return "missing"
            return "ok"
        if isinstance(hint, ast.BoolOp) and isinstance(hint.op, ast.Or):
            return self._verdict(hint.values[-1], function)
        if isinstance(hint, ast.Call) and _base_name(hint.func) in self.optional_returns:
            return "missing"  # ``hint=foreign_hint(p)``: None on some machines
        if isinstance(hint, ast.IfExp):
            verdicts = {self._verdict(hint.body, function), self._verdict(hint.orelse, function)}
            for worst in ("missing", "marker"):
                if worst in verdicts:
                    return worst
            params = sorted(v for v in verdicts if v.startswith("param:"))
            return params[0] if params else "ok"
        return "ok"


def _optional_returns(modules: dict[str, ast.Module]) -> frozenset[str]:
    """The names of the functions that may return None (every definition of the name says
    so: ``-> str | None``), so a hint made by calling one may be missing."""
    kinds: dict[str, set[bool]] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                kinds.setdefault(node.name, set()).add(_may_be_none(node.returns))
    return frozenset(name for name, may in kinds.items() if may == {True})


def find_sites(sources: dict[str, str] | None = None) -> list[Site]:
    """Every error-making call under publisher/ (or in ``sources``) whose hint may be missing."""
    sources = _sources() if sources is None else sources
    modules = {path: _parse(text, path) for path, text in sources.items()}
    classes = error_classes(modules)
    optional = _optional_returns(modules)
    helpers: list[Helper] = []
    while True:  # until no new pass-through helper turns up
        sites: list[Site] = []
        found: list[Helper] = []
        for path, tree in modules.items():
            finder = _Finder(path, sources[path], classes, helpers, optional)
            finder.visit(tree)
            sites += finder.sites
            found += [h for h in finder.new_helpers if h not in found]
        if not found:
            return sites
        helpers += found


@functools.cache
def package_sites() -> tuple[Site, ...]:
    """The package's sites, read once for the tests below."""
    return tuple(find_sites())


def _findings(sites: tuple[Site, ...], *, wording: bool = False) -> Iterator[str]:
    allowed = WORDING_ALLOWED if wording else ALLOWED
    for site in sites:
        if site.wording == wording and site.key() not in allowed:
            yield str(site)


def test_every_error_is_made_with_a_hint():
    missing = list(_findings(package_sites()))
    assert not missing, "errors made without a hint (give each a tip saying what to do):\n" + (
        "\n".join(missing)
    )


def test_no_message_shows_a_python_type_or_an_exception_repr():
    """A message says what happened in words: "expected a string, got null", never "got
    NoneType" or "KeyError('x')" (those are for a bug report, the internal error's alone)."""
    wrong = list(_findings(package_sites(), wording=True))
    assert not wrong, "messages in Python's words:\n" + "\n".join(wrong)
    left = {site.key() for site in package_sites() if site.wording}
    assert left >= WORDING_ALLOWED, f"remove from WORDING_ALLOWED: {WORDING_ALLOWED - left}"


def test_the_allowance_only_lists_sites_still_without_a_hint():
    left = {site.key() for site in package_sites() if not site.wording}
    fixed = sorted(ALLOWED - left)
    assert not fixed, f"these have a hint now: remove them from ALLOWED: {fixed}"


PLANTED = """
from publisher.core.errors import CommandError, ConfigError, NO_HINT, UsageError

def bare():
    raise UsageError("no hint")

def none():
    raise CommandError("none", hint=None)

def local(flag):
    hint = None
    if flag:
        hint = "do this"
    raise UsageError("maybe", hint=hint)

def passes(message, hint=None):
    return ConfigError(message, hint=hint)

def calls_the_helper():
    raise passes("the helper is given nothing")

def marked():
    raise UsageError("marked", hint=NO_HINT)

class Thing:
    def error(self, message: str, *, hint: str | None = None) -> UsageError:
        return UsageError(message, hint=hint)

    def use(self):
        raise self.error("the method is given nothing")

def fine(flag, hint=None):
    raise UsageError("fine", hint=hint or "do that")

def typed(value):
    raise UsageError(f"got {type(value).__name__}", hint="pass a string")

def shown():
    try:
        pass
    except OSError as exc:
        raise UsageError(f"failed: {exc!r}", hint="check it")

def corrupt(message: str) -> ConfigError:
    return ConfigError(message, hint="restore the file")

def through_a_factory(data):
    raise corrupt(f"expected an object, got {type(data).__name__}")

def maybe(flag) -> str | None:
    return "do this" if flag else None

def returned(flag):
    raise UsageError("maybe", hint=maybe(flag))

def returned_or(flag):
    raise UsageError("maybe", hint=maybe(flag) or "do that")

def marked_with_why():
    # no hint: the message is the whole story
    raise UsageError("marked", hint=NO_HINT)
"""


@functools.cache
def planted_sites() -> tuple[Site, ...]:
    """The sites the walk reports in PLANTED, read beside the package (whose classes it uses)."""
    planted = "publisher/planted.py"
    return tuple(s for s in find_sites({**_sources(), planted: PLANTED}) if s.path == planted)


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("bare", "has no hint"),
        ("none", "may have no hint"),
        ("local", "may have no hint"),
        ("calls_the_helper", "has no hint"),
        ("marked", "without a '# no hint: <why>' comment"),
        ("Thing.use", "has no hint"),
        ("returned", "may have no hint"),
    ],
)
def test_a_planted_error_without_a_hint_is_caught(function, reason):
    """The walk finds what it is for: each way of leaving out the hint is reported."""
    sites = [site for site in planted_sites() if not site.wording]
    by_function = {site.function: site for site in sites}
    assert function in by_function, [str(s) for s in sites]
    assert reason in by_function[function].problem
    assert not {"fine", "marked_with_why", "passes", "Thing.error", "returned_or"} & set(
        by_function
    )


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("typed", "names a Python type in its message"),
        ("shown", "shows an exception's repr"),
        ("through_a_factory", "names a Python type in its message"),
    ],
)
def test_a_planted_message_in_python_s_words_is_caught(function, reason):
    by_function = {site.function: site for site in planted_sites() if site.wording}
    assert function in by_function, [str(s) for s in planted_sites()]
    assert reason in by_function[function].problem
    assert len({s.function for s in planted_sites() if s.wording}) == 3


def test_the_package_has_error_sites_to_check():
    """The walk sees the package (a wrong path would make the main test pass vacuously)."""
    sources = _sources()
    assert "publisher/core/errors.py" in sources
    modules = {path: _parse(text, path) for path, text in sources.items()}
    assert {"PublisherError", "ConfigError", "ResolveError"} <= error_classes(modules)
    assert len(sources) > 30
