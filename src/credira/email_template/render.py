"""Rendering email templates with Jinja2, safely.

Templates are written by API clients, so they are untrusted code. Two layers keep them harmless:

1. **An allow-list over the parsed template** (checked when a template is saved and again before
   every render). A template may contain only:

   - text, and ``{{ name }}`` placeholders (a plain variable name: letters, digits, ``_``);
   - the filters ``upper``, ``lower``, ``title``, ``capitalize``, ``trim`` and ``default``
     (alias ``d``), with constant or variable arguments: ``{{ name | default("there") }}``;
   - ``{% if %}`` / ``{% elif %}`` / ``{% else %}`` on variables, ``not``, ``and``, ``or``, the
     filters above and the tests ``is defined`` / ``is undefined``;
   - ``{# comments #}`` and ``{% raw %}``.

   Everything else is refused before any code runs: attribute and item access (``''.__class__``,
   ``x['y']``), calls, arithmetic and string building (``'a' * 10**9``), loops, ``set``, macros,
   ``include`` / ``import`` / ``extends``, ``{% autoescape false %}``, the ``safe`` filter, and the
   special names (``self``, ``loop``, ``caller``, ...). That closes every known server-side template
   injection path without relying on the sandbox alone, and also bounds the work a render can do:
   the output is at most the template plus its variables.
2. **Jinja2's ``SandboxedEnvironment``** underneath, with no globals and only the allowed filters,
   as a second wall should the allow-list ever miss something.

HTML is auto-escaped (a customer named ``<script>`` stays text); the subject and the text part are
not escaped, but control characters in the rendered subject (CR, LF, ...) are folded into spaces,
so no variable can inject a mail header. Missing variables are strict: a placeholder without a
value is ``VALIDATION_ERROR`` "Missing template variable: <name>" (field ``variables.<name>``); use
``default`` or ``{% if name is defined %}`` for optional ones. Every failure is a
``ValidationFailed`` naming the field; no rendering internals reach the client.

**Sizes are bounded** (``Limits``, from the settings ``CREDIRA_TEMPLATE_*`` and
``CREDIRA_RENDERED_PART_MAX_CHARS``), because what a template renders grows as its size times its
variables' length: 40,000 placeholders and a 1,000-character variable make 40 MB from a 1 KB
request. A template part is held to a number of characters and of ``{{ }}`` / ``{% %}`` tags
(checked before it is parsed: compiling costs about 0.1 ms per tag), each variable to a number
of characters, and a render is streamed (``Template.generate``) and stops as soon as its part
passes the rendered bound, so no more than that bound is ever built. Each refusal is a
``VALIDATION_ERROR`` naming the part (``html_content``) or the variable (``variables.<name>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import Template, meta, nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from credira.config import Settings
from credira.errors import ValidationFailed

# filter -> (least, most) positional arguments
FILTERS: dict[str, tuple[int, int]] = {
    "upper": (0, 0),
    "lower": (0, 0),
    "title": (0, 0),
    "capitalize": (0, 0),
    "trim": (0, 0),
    "default": (0, 2),
    "d": (0, 2),
}
TESTS = frozenset({"defined", "undefined"})
MAX_DEPTH = 24
SUBJECT_MAX = 998

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Names Jinja gives a meaning of its own, and the globals of a default environment.
_RESERVED = frozenset(
    {"self", "loop", "caller", "varargs", "kwargs", "super", "range", "dict", "lipsum"}
    | {"cycler", "joiner", "namespace", "config", "request", "environment", "context"}
)
_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.Filter,
    nodes.Test,
    nodes.Not,
    nodes.And,
    nodes.Or,
)
_FORBIDDEN_WHAT = {
    nodes.Getattr: "attribute access",
    nodes.Getitem: "item access",
    nodes.Slice: "slicing",
    nodes.Call: "a function call",
    nodes.For: "a {% for %} loop",
    nodes.Macro: "a macro",
    nodes.CallBlock: "a {% call %} block",
    nodes.FilterBlock: "a {% filter %} block",
    nodes.With: "a {% with %} block",
    nodes.Block: "a {% block %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.ExprStmt: "{% do %}",
    nodes.Scope: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
    nodes.CondExpr: "an inline if expression",
    nodes.Compare: "a comparison",
    nodes.Concat: "string concatenation",
    nodes.BinExpr: "arithmetic",
    nodes.UnaryExpr: "arithmetic",
    nodes.Tuple: "a tuple",
    nodes.List: "a list",
    nodes.Dict: "a dict",
}
ALLOWED_SYNTAX = (
    "Templates may use {{ name }} placeholders, the filters upper, lower, title, capitalize, "
    "trim and default, and {% if name %} / {% if name is defined %} blocks"
)

# The fields a template is stored in; errors name them.
FIELDS = ("subject", "html_content", "text_content")


@dataclass(frozen=True)
class Limits:
    """How large a template part, a variable and a rendered part may be, in characters."""

    template_chars: int
    template_tags: int
    variable_chars: int
    variables: int
    rendered_chars: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            template_chars=settings.template_max_chars,
            template_tags=settings.template_max_tags,
            variable_chars=settings.template_variable_max_chars,
            variables=settings.template_max_variables,
            rendered_chars=settings.rendered_part_max_chars,
        )


# The settings' defaults, for callers without settings (the default templates, tests).
DEFAULT_LIMITS = Limits.of(Settings.model_construct())


def _invalid(field: str, details: str) -> ValidationFailed:
    error = ValidationFailed(f"Invalid value for {field}", details=details, field=field)
    return error


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _MissingVariable(UndefinedError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is undefined")
        self.name = name


class _Strict(StrictUndefined):
    """``StrictUndefined`` that says which variable was missing."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise _MissingVariable(str(self._undefined_name))

    __iter__ = __str__ = __len__ = _fail_with_undefined_error
    __eq__ = __ne__ = __bool__ = __hash__ = _fail_with_undefined_error
    __contains__ = _fail_with_undefined_error


def _environment(*, html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=html,
        undefined=_Strict,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=0,
    )
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in FILTERS}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


_HTML = _environment(html=True)
_PLAIN = _environment(html=False)


def _describe(node: nodes.Node) -> str:
    for kind, what in _FORBIDDEN_WHAT.items():
        if isinstance(node, kind):
            return what
    return f"an unsupported construct ({type(node).__name__})"


def _check_node(node: nodes.Node) -> None:
    if not isinstance(node, _ALLOWED):
        raise _Refused(f"it uses {_describe(node)}")
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or not _NAME.fullmatch(node.name) or node.name in _RESERVED:
            raise _Refused(f"the variable name '{node.name[:64]}' is not allowed")
    elif isinstance(node, nodes.Const):
        if not isinstance(node.value, str | int | float | bool | None):
            raise _Refused("this constant is not allowed")
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS or node.node is None:
            raise _Refused(f"the filter '{node.name}' is not allowed")
        least, most = FILTERS[node.name]
        if node.kwargs or node.dyn_args or node.dyn_kwargs or not least <= len(node.args) <= most:
            raise _Refused(f"wrong arguments to the filter '{node.name}'")
    elif isinstance(node, nodes.Test):
        if node.name not in TESTS or node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _Refused(f"the test 'is {node.name}' is not allowed")
        if not isinstance(node.node, nodes.Name):
            raise _Refused(f"'is {node.name}' applies to a variable name only")


def _walk(tree: nodes.Template) -> Iterator[nodes.Node]:
    """Every node, in source order, each checked against the allow-list; depth bounded."""
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(f"the template is nested more than {MAX_DEPTH} levels deep")
        _check_node(node)
        yield node
        children = list(node.iter_child_nodes())
        stack.extend((child, depth + 1) for child in reversed(children))


def _parse(source: str, *, html: bool) -> nodes.Template:
    env = _HTML if html else _PLAIN
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _Refused(f"syntax error on line {exc.lineno}: {(exc.message or '')[:200]}") from None
    except (RecursionError, MemoryError):
        raise _Refused(f"the template is nested more than {MAX_DEPTH} levels deep") from None
    for _node in _walk(tree):
        pass
    return tree


@lru_cache(maxsize=128)
def _compiled(source: str, html: bool) -> tuple[Template, tuple[str, ...]]:
    """The checked, compiled template and its variables in order of first appearance."""
    tree = _parse(source, html=html)
    undeclared = meta.find_undeclared_variables(tree)
    ordered = dict.fromkeys(
        n.name for n in _walk(tree) if isinstance(n, nodes.Name) and n.name in undeclared
    )
    env = _HTML if html else _PLAIN
    try:
        template = env.from_string(tree)
    except (TemplateError, SyntaxError, RecursionError, MemoryError) as exc:
        # The allow-list admits nothing Jinja or Python should refuse to compile; if it ever
        # happens, the template is refused rather than failing the request.
        raise _Refused(f"the template cannot be compiled ({type(exc).__name__})") from None
    return template, tuple(ordered)


def _refused(field: str, reason: str) -> ValidationFailed:
    error = ValidationFailed(
        f"Template is not allowed: {reason}", details=ALLOWED_SYNTAX, field=field
    )
    return error


def _tags(source: str) -> int:
    """The ``{{ }}`` and ``{% %}`` tags of ``source``, counted without parsing it (an opening
    delimiter inside ``{% raw %}`` counts too: the count only bounds the work)."""
    return source.count("{{") + source.count("{%")


def _part(field: str, source: str, limits: Limits) -> tuple[Template, tuple[str, ...]]:
    if len(source) > limits.template_chars:
        raise _invalid(field, f"A template part may be at most {limits.template_chars} characters")
    if _tags(source) > limits.template_tags:
        raise _invalid(
            field,
            f"A template part may hold at most {limits.template_tags} tags "
            "({{ placeholders }} and {% blocks %})",
        )
    try:
        return _compiled(source, field == "html_content")
    except _Refused as exc:
        raise _refused(field, exc.reason) from None


def check_template(field: str, source: str, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Refuse ``source`` (a ``VALIDATION_ERROR`` naming ``field``) unless the policy and the
    limits allow it; return its variables in order of first appearance."""
    return list(_part(field, source, limits)[1])


def template_variables(
    subject: str, html: str, text: str, limits: Limits = DEFAULT_LIMITS
) -> list[str]:
    """The variables of a template, each once, in order of first appearance in the HTML part,
    then the text part, then the subject (the documented example lists them that way).

    The set is Jinja's ``find_undeclared_variables``; a template the policy or the limits refuse
    raises ``ValidationFailed`` naming its field."""
    seen: dict[str, None] = {}
    for field, source in (("html_content", html), ("text_content", text), ("subject", subject)):
        seen.update(dict.fromkeys(check_template(field, source, limits)))
    return list(seen)


def check_variable_count(variables: Mapping[str, object], limits: Limits) -> None:
    """Refuse more variables than a client may send (field ``variables``)."""
    if len(variables) > limits.variables:
        raise _invalid("variables", f"A request may give at most {limits.variables} variables")


def _context(variables: Mapping[str, object], limits: Limits) -> dict[str, str]:
    """Values as plain strings (a ``Markup`` value would skip escaping); null means absent."""
    context: dict[str, str] = {}
    for name, value in variables.items():
        if value is None:
            continue
        if isinstance(value, str):
            text = str(value)
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, int | float | Decimal):
            try:
                text = str(value)
            except ValueError:  # an int past Python's 4,300 digits: longer than any limit
                text = "9" * (limits.variable_chars + 1)
        else:
            raise _invalid(f"variables.{name}", "Template variables must be strings or numbers")
        if len(text) > limits.variable_chars:
            raise _invalid(
                f"variables.{name}",
                f"A template variable may be at most {limits.variable_chars} characters",
            )
        context[name] = text
    return context


def _missing(name: str) -> ValidationFailed:
    error = ValidationFailed(
        f"Missing template variable: {name}",
        details=f"The template uses {{{{{name}}}}}, but no value was given or found",
        field=f"variables.{name}",
    )
    return error


def _render_part(
    field: str, source: str, context: Mapping[str, str], limits: Limits, *, shown: int = 0
) -> str:
    """The part rendered piece by piece (each piece is one text run or one variable's value),
    refused as soon as it passes ``limits.rendered_chars``: never more than that is built.
    The refusal states ``shown`` as the limit when given (the subject's own, smaller one)."""
    template, _names = _part(field, source, limits)
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(context):
            size += len(piece)
            if size > limits.rendered_chars:
                break  # the generator is dropped unfinished: nothing more is rendered
            pieces.append(piece)
    except _MissingVariable as exc:
        raise _missing(exc.name) from None
    except UndefinedError:
        raise _missing("unknown") from None
    except (TemplateError, TypeError, ValueError, RecursionError) as exc:
        # SecurityError is a TemplateError; the message would describe internals, so it stays out.
        raise _refused(field, f"it failed to render ({type(exc).__name__})") from None
    if size > limits.rendered_chars:
        limit = shown or limits.rendered_chars
        raise _invalid(field, f"The rendered {field} is longer than {limit} characters")
    return "".join(pieces)


# C0 and C1 controls (U+0085 is a line break to Unicode) and the line separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def render(
    subject: str,
    html: str,
    text: str,
    variables: Mapping[str, object],
    limits: Limits = DEFAULT_LIMITS,
) -> Rendered:
    """Render the three parts of a template with ``variables``, within ``limits``.

    Raises ``ValidationFailed``: "Missing template variable: <name>" (field ``variables.<name>``),
    "Template is not allowed: ..." naming the part the policy refuses, or "Invalid value for
    <field>" for a part, a variable or a rendered part past its limit."""
    context = _context(variables, limits)
    rendered_html = _render_part("html_content", html, context, limits)
    rendered_text = _render_part("text_content", text, context, limits)
    # Streamed to the rendered bound, as it may shrink below: runs of control characters fold.
    raw_subject = _render_part("subject", subject, context, limits, shown=SUBJECT_MAX)
    rendered_subject = _CONTROL.sub(" ", raw_subject).strip()
    if len(rendered_subject) > SUBJECT_MAX:
        raise _invalid("subject", f"The rendered subject is longer than {SUBJECT_MAX} characters")
    return Rendered(subject=rendered_subject, html=rendered_html, text=rendered_text)
