"""The only YAML reader (libyaml when available, aliases refused, line numbers kept) and
writer (the importer's records).

Values are read from the composed node tree rather than constructed by PyYAML, so
YAML 1.1 surprises (``no`` becoming False, ``2015-02-30`` raising deep inside the
constructor) become ordinary, well-located validation messages; an explicit tag that
would so be ignored (``!!binary``, ``!x``) is named (:func:`foreign_tag`) and refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import yaml

# libyaml (CSafeLoader) is 6-8x faster than the pure-Python loader; both compose the same
# node trees, with PyYAML's own tag resolution. The pure one only where libyaml is absent.
_READER: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
STR_TAG = "tag:yaml.org,2002:str"
_YAML_TAG = "tag:yaml.org,2002:"
_COLLECTION_TAGS: dict[type[yaml.Node], str] = {
    yaml.SequenceNode: _YAML_TAG + "seq", yaml.MappingNode: _YAML_TAG + "map"}
_RESOLVER = yaml.resolver.Resolver()  # (the readers' own implicit tags)


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
    try:
        loader = _READER(text)  # (the pure reader checks the characters here)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _problem(text, exc) from None
    if node is not None and "*" in text and _has_alias(node):  # (always written *name)
        raise YamlProblem(_first_alias_line(text),
                          "YAML aliases (*name) are not allowed; write the value out in full")
    return node


def _problem(text: str, exc: yaml.YAMLError) -> YamlProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "unreadable YAML"
        return YamlProblem(1 if mark is None else mark.line + 1, f"YAML syntax error: {what}")
    if isinstance(exc, yaml.reader.ReaderError):
        return _unacceptable(text, exc)
    return YamlProblem(1, f"YAML error: {exc}")


def _unacceptable(text: str, exc: yaml.reader.ReaderError) -> YamlProblem:
    """A character YAML refuses (C0 and C1 controls, U+FFFE/U+FFFF), named with its line
    (libyaml's position counts bytes, the pure reader's characters: its first occurrence
    is searched for instead)."""
    if not isinstance(exc.character, int):
        return YamlProblem(1, f"YAML error: {exc.reason}")
    found = chr(exc.character)
    kind = "control character" if unicodedata.category(found) == "Cc" else "character"
    return YamlProblem(text[: max(text.find(found), 0)].count("\n") + 1,
                       f"contains the {kind} U+{exc.character:04X}, which YAML files cannot "
                       "carry; remove it")


def _has_alias(root: yaml.Node) -> bool:
    # libyaml resolves an alias to the very node it names, so a node met twice is an
    # alias. Walking with a seen-set never expands anything: alias bombs stay small.
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack += [item for pair in node.value for item in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


def _first_alias_line(text: str) -> int:
    """The line of the document's first alias (an alias node carries its anchor's mark, so
    only the events know where the alias itself is written)."""
    alias = next(e for e in yaml.parse(text, Loader=_READER) if isinstance(e, yaml.AliasEvent))
    return 1 if alias.start_mark is None else int(alias.start_mark.line) + 1


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def foreign_tag(node: yaml.Node) -> str | None:
    """The explicit tag written on ``node`` (``!!binary``, ``!x``, ``!<tag:…>``) when it is
    not the tag YAML gives the node by itself, else None. Every value is read as the text
    written, so such a tag would be silently ignored; ``!!str`` on a scalar is not foreign
    (it says what is read anyway), nor a tag equal to the implicit one (``!!int 5``)."""
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == STR_TAG or (not node.style and _implicit_tag(node.value) == tag):
            return None
    elif tag == _COLLECTION_TAGS[type(node)]:
        return None
    if tag.startswith(_YAML_TAG):
        return "!!" + tag[len(_YAML_TAG):]
    return tag if tag.startswith("!") else f"!<{tag}>"


@lru_cache(maxsize=4096)  # (dates and booleans repeat: 0.1 against 1.1 µs a value)
def _implicit_tag(value: str) -> str:
    """The tag a plain scalar ``value`` gets with no tag written."""
    return str(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]


def mapping_items(node: yaml.MappingNode) -> list[tuple[str, yaml.Node, int]]:
    """(key text, value node, key line) for each entry, in document order (a list or
    mapping as a key, which no field is, written as flow YAML: ``[a, b]``)."""
    return [(_flow(key), value, line_of(key)) for key, value in node.value]


def _flow(node: yaml.Node, depth: int = 0) -> str:
    """``node`` as flow YAML; one with a foreign tag shown with it (``!x title``: a key so
    written is no field's name)."""
    if isinstance(node, yaml.ScalarNode):
        shown = str(node.value)
    elif depth == 3:
        shown = "..."
    elif isinstance(node, yaml.SequenceNode):
        shown = "[" + ", ".join(_flow(item, depth + 1) for item in node.value) + "]"
    else:
        shown = "{" + ", ".join(f"{_flow(key, depth + 1)}: {_flow(value, depth + 1)}"
                                for key, value in node.value) + "}"
    if node.tag != STR_TAG and (tag := foreign_tag(node)) is not None:
        return f"{tag} {shown}"
    return shown


class _RecordDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text as a literal block (``excerpt: |``)."""


class _FastRecordDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """The same with libyaml's emitter (when available): 5,000 imported records written by
    both were the same byte for byte, in 0.53 s of CPU instead of 7.7 s (an import writes
    each twice: 15 s of a 36 s import). It writes a character beyond U+FFFF as an escape
    (``\\U0001F600``), so a record holding one is written by :class:`_RecordDumper`."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself when a block cannot hold the text.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(STR_TAG, value, style=style)


_RecordDumper.add_representer(str, _represent_text)
_FastRecordDumper.add_representer(str, _represent_text)
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def dump_record(record: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """One record as YAML, fields in the given order, preceded by ``# comment`` lines (PyYAML
    quotes whatever would read as another type or as syntax: ``no``, ``2015``, ``# x``)."""
    head = "".join(f"# {comment}\n" for comment in comments)
    astral = any(_ASTRAL.search(str(value)) for value in record.values())
    return head + yaml.dump(dict(record), Dumper=_RecordDumper if astral else _FastRecordDumper,
                            allow_unicode=True, sort_keys=False, width=1_000_000,
                            default_flow_style=False)
