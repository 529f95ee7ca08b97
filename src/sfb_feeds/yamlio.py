"""The only YAML reader: libyaml when available, aliases refused, line numbers kept.

Values are read from the composed node tree rather than constructed by PyYAML, so
YAML 1.1 surprises (``no`` becoming False, ``2015-02-30`` raising deep inside the
constructor) become ordinary, well-located validation messages.
"""

from __future__ import annotations

import re

import yaml

# libyaml is 6-8x faster than the pure-Python loader; both compose the same node trees.
_Loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
SCALAR_TAG = "tag:yaml.org,2002:str"


Resolvers = tuple[tuple[str, re.Pattern[str]], ...]


def _resolver_table(loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
                    ) -> tuple[dict[str, Resolvers], Resolvers]:
    """PyYAML's implicit resolvers by a plain scalar's first character ("" for an empty
    one), each list joined with the wildcard resolvers as its ``resolve`` joins them; and
    the wildcard resolvers alone (for any other first character)."""
    table = loader.yaml_implicit_resolvers
    wildcard = table.get(None, [])
    return ({first: tuple(resolvers + wildcard) for first, resolvers in table.items()
             if first is not None}, tuple(wildcard))


class _Reader(_Loader):  # type: ignore[valid-type,misc]  # (chosen at import time)
    """The loader with PyYAML's tag resolution done in fewer steps: the same tags, ~10 µs
    less a statement file (it is called for every node; a file has about twenty).

    Valid because the safe loader has no path resolvers (``add_path_resolver``): then
    ``descend_resolver`` and ``ascend_resolver`` do nothing, and ``resolve`` depends only
    on the scalar's first character and the implicit resolvers' patterns.
    """

    _table, _wildcard = _resolver_table(_Loader)

    def resolve(self, kind: type[yaml.Node], value: str | None,
                implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode:
            return str(super().resolve(kind, value, implicit))
        if implicit[0] and value is not None:
            for tag, pattern in self._table.get(value[:1], self._wildcard):
                if pattern.match(value):
                    return tag
        return SCALAR_TAG

    def descend_resolver(self, current_node: yaml.Node | None,
                         current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


# (PyYAML as shipped has no path resolvers; if one was added, the loader as it is)
_READER: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = \
    _Loader if _Loader.yaml_path_resolvers else _Reader


class YamlProblem(Exception):
    """A document that cannot be read; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped), or YamlProblem naming the bad byte's line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def compose(text: str) -> yaml.Node | None:
    """The document's node tree; None for an empty document. Aliases are refused."""
    loader = _READER(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "unreadable YAML"
        raise YamlProblem(line, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if node is not None and "*" in text:  # an alias is always written *name
        _refuse_aliases(node)
    return node


def _refuse_aliases(root: yaml.Node) -> None:
    # libyaml resolves an alias to the very node it names, so a node met twice is an
    # alias. Walking with a seen-set never expands anything: alias bombs stay small.
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, root.start_mark.line + 1)]
    while stack:
        node, line = stack.pop()
        if id(node) in seen:
            raise YamlProblem(
                line, "YAML aliases (*name) are not allowed; write the value out in full"
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, key.start_mark.line + 1))
                stack.append((value, key.start_mark.line + 1))
        elif isinstance(node, yaml.SequenceNode):
            # An alias item's own mark is its anchor's; the list's line is nearer the alias.
            stack.extend((item, max(line, item.start_mark.line + 1)) for item in node.value)


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def mapping_items(node: yaml.MappingNode) -> list[tuple[str, yaml.Node, int]]:
    """(key text, value node, key line) for each entry, in document order."""
    return [(str(key.value), value, line_of(key)) for key, value in node.value]
