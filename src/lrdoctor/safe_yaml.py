"""YAML loading that is safe in time and memory, not only in what it constructs.

``yaml.safe_load`` never builds arbitrary objects, but it follows aliases: a 1 KB
"billion laughs" document (nine levels of ten aliases each) is a graph of 10^9 nodes once
anything walks it (a config lookup, a JSON dump), and ``&a [*a]`` is a cycle that never
ends. :func:`load_yaml` composes the node graph first (aliases are shared nodes there,
nothing is expanded), counts the nodes it would expand to and its depth, and refuses the
document before constructing anything when a bound below is passed. A leaf module (yaml
only), so that schedule specs and configs share it without importing the readers. Only then does the safe constructor build plain dicts, lists and scalars.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["load_yaml", "YamlLimitError", "MAX_YAML_CHARS", "MAX_YAML_ALIASES", "MAX_YAML_DEPTH", "MAX_YAML_NODES"]

#: Longest YAML text parsed (characters). Real configs are a few KB (an HF
#: TrainingArguments dump: ~6 KB); 4 MiB is 700x that and parses in about a second.
MAX_YAML_CHARS = 4 << 20

#: Most YAML aliases (``*name``) in one document. Real configs use a handful of anchors
#: for shared defaults; the billion-laughs attack needs ~90.
MAX_YAML_ALIASES = 64

#: Deepest nesting (mappings in lists in mappings ...). Real configs nest 3-5 levels
#: (Hydra/OmegaConf groups); 64 is far beyond that and far below Python's recursion limit.
MAX_YAML_DEPTH = 64

#: Most nodes a document may expand to once every alias is followed. Counted on the
#: composed graph before anything is constructed, so a billion-laughs document is refused
#: after visiting ~this many nodes instead of expanding to 10^9. A 6 KB config has ~500.
MAX_YAML_NODES = 100_000


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
    """Like ``yaml.safe_load(text)`` for one document, within the bounds above.
    Raises :class:`YamlLimitError` past a bound and ``yaml.YAMLError`` for invalid YAML."""
    if len(text) > MAX_YAML_CHARS:
        raise YamlLimitError(f"text is {len(text):,} characters; more than {MAX_YAML_CHARS:,} are refused")
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
