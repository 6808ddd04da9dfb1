"""YAML loading that is safe in time and memory, not only in what it constructs.

``yaml.safe_load`` never builds arbitrary objects, but it follows aliases: a 1 KB
"billion laughs" document (nine levels of ten aliases each) is a graph of 10^9 nodes once
anything walks it (a config lookup, a JSON dump), and ``&a [*a]`` is a cycle that never
ends. :func:`load_yaml` composes the node graph first (aliases are shared nodes there,
nothing is expanded), counts the nodes it would expand to and its depth, and refuses the
document before constructing anything when a bound of :mod:`lrdoctor.io.limits` is
passed. Only then does the safe constructor build plain dicts, lists and scalars.
"""

from __future__ import annotations

from typing import Any

import yaml

from lrdoctor.io.limits import MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_NODES

__all__ = ["load_yaml", "YamlLimitError"]


class YamlLimitError(ValueError):
    """The document passes a size bound; ``str()`` says which, for a one-line message."""


class _CountingLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing (each ``*name`` is one event)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_YAML_ALIASES:
                raise YamlLimitError(f"more than {MAX_YAML_ALIASES} YAML aliases (*name); refused before expanding them")
        return super().compose_node(parent, index)


def _check_graph(root: yaml.Node) -> None:
    """Walk the composed graph as an expander would, without expanding: count nodes (each
    alias as often as it is used), track depth, and stop at the first bound passed.

    Iterative (no recursion), and each node's expanded size is memoised, so the walk costs
    O(distinct nodes) even when the expansion would be astronomically large.
    """
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    # stack of (node, depth, state): state 0 = enter, 1 = leave
    stack: list[tuple[yaml.Node, int, int]] = [(root, 1, 0)]
    while stack:
        node, depth, state = stack.pop()
        nid = id(node)
        if state == 1:
            on_path.discard(nid)
            total = 1 + sum(expanded[id(c)] for c in _children(node))
            if total > MAX_YAML_NODES:
                raise YamlLimitError(f"expands to more than {MAX_YAML_NODES} values once its aliases are "
                                     "followed (a 'billion laughs' document?); refused before expanding")
            expanded[nid] = total
            continue
        if nid in expanded:
            continue
        if nid in on_path:
            raise YamlLimitError("an alias refers to a node that contains it (a recursive YAML structure)")
        if depth > MAX_YAML_DEPTH:
            raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels")
        on_path.add(nid)
        stack.append((node, depth, 1))
        for child in _children(node):
            if id(child) not in expanded:
                stack.append((child, depth + 1, 0))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml(text: str) -> Any:
    """Like ``yaml.safe_load(text)`` for one document, within the bounds of
    :mod:`lrdoctor.io.limits`. Raises :class:`YamlLimitError` past a bound and
    ``yaml.YAMLError`` for invalid YAML."""
    loader = _CountingLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_graph(root)
        return loader.construct_document(root)
    except RecursionError:
        raise YamlLimitError(f"nested deeper than {MAX_YAML_DEPTH} levels") from None
    finally:
        loader.dispose()
