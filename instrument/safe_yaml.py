"""YAML input with bounded work: size, nesting depth, aliases and the size they expand to.

A YAML alias refers to an earlier node, so a few hundred bytes can describe a document of
billions of nodes (the "billion laughs" alias bomb); any code that walks the loaded data, or the
loader itself, then hangs. :func:`compose` builds the node graph (linear in the text), refuses a
text, a depth, an alias count or an expanded size beyond the limits, and refuses a node that
contains itself; :func:`construct` then turns the checked graph into Python data.

The limits are far above any configuration or protocol file (a shipped protocol is a few
hundred nodes, nested 6 deep) and far below what hangs a process.
"""

from __future__ import annotations

import logging
from typing import Any

import yaml

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1_000_000
"""Longest YAML text accepted, characters."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted."""
MAX_ALIASES = 1_000
"""Most alias references (``*name``) accepted."""
MAX_EXPANDED_NODES = 200_000
"""Most nodes the document may have once every alias is expanded."""


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML text exceeds a bound; ``problem`` says which, ``problem_mark`` where."""

    def __str__(self) -> str:
        mark = self.problem_mark
        return f"line {mark.line + 1}: {self.problem}" if mark is not None else str(self.problem)


def compose(text: str) -> yaml.Node | None:
    """The checked node graph of the first document of ``text`` (None when empty).

    Raises
    ------
    yaml.YAMLError
        Not valid YAML, or a :class:`YamlLimitError` when a bound is exceeded.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise YamlLimitError(
            problem=f"{len(text)} characters, more than the {MAX_TEXT_CHARS} allowed"
        )
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is not None:
        _check_expansion(node)
    return node


def construct(node: yaml.Node | None) -> Any:
    """Python data (dicts, lists, scalars) of a node graph checked by :func:`compose`."""
    if node is None:
        return None
    return yaml.SafeLoader("").construct_document(node)


def load(text: str) -> Any:
    """``yaml.safe_load`` with the bounds of :func:`compose`."""
    return construct(compose(text))


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a graph nested deeper than MAX_DEPTH, containing itself, with more than
    MAX_ALIASES references to an earlier node, or expanding to more than MAX_EXPANDED_NODES
    nodes (a shared node counted once per reference). Iterative: no recursion limit is hit."""
    expanded: dict[int, tuple[int, int]] = {}  # id → (nodes once expanded, nesting depth)
    on_path: set[int] = set()
    aliases = 0
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]  # (node, children done?)
    while pending:
        node, done = pending.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            measures = [expanded[id(child)] for child in children]
            size = 1 + sum(nodes for nodes, _ in measures)
            depth = 1 + max((levels for _, levels in measures), default=0)
            if size > MAX_EXPANDED_NODES:
                raise _limit(node, f"expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)")
            if depth > MAX_DEPTH:
                raise _limit(node, f"nested more than {MAX_DEPTH} levels deep")
            expanded[key] = (size, depth)
        elif key in expanded:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _limit(node, f"more than {MAX_ALIASES} alias references")
        elif key in on_path:
            raise _limit(node, "a node contains itself (recursive alias)")
        else:
            if len(on_path) >= MAX_DEPTH:
                raise _limit(node, f"nested more than {MAX_DEPTH} levels deep")
            on_path.add(key)
            pending.append((node, True))
            pending.extend((child, False) for child in children)


def _limit(node: yaml.Node, problem: str) -> YamlLimitError:
    return YamlLimitError(problem=problem, problem_mark=node.start_mark)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
