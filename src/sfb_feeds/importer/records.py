"""Statement records as YAML text, and writing them without ever replacing a file."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..loader import find_statement_files
from ..yamlio import YamlProblem, compose, decode


class _RecordDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text as a literal block (``excerpt: |``)."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself when a block cannot hold the text.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RecordDumper.add_representer(str, _represent_text)


def dump_record(record: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """One record as YAML, fields in the given order, preceded by ``# comment`` lines.

    Safe for any text: PyYAML quotes whatever would otherwise read as another type or as
    YAML syntax (``no``, ``2015``, ``# x``, ``- x``, ``a: b``); unicode is written as is.
    """
    body = yaml.dump(dict(record), Dumper=_RecordDumper, allow_unicode=True, sort_keys=False,
                     width=1_000_000, default_flow_style=False)
    head = "".join(f"# {comment}\n" for comment in comments)
    return head + body


def write_new(path: Path, data: bytes) -> bool:
    """Write ``path`` atomically unless it exists; False (and nothing written) if it does.

    The bytes go to a hidden temporary file in the same folder first, then are hard-linked
    into place: the link fails if the name is taken, so not even a file that appears
    meanwhile is replaced, and nobody ever sees half a record.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return _link_into_place(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _link_into_place(temporary: Path, path: Path) -> bool:
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: check, then rename
        if path.exists():
            return False
        os.replace(temporary, path)
    return True


def existing_ids(folder: Path) -> dict[str, Path]:
    """The id (or, lacking one, the url) of every record already in ``folder`` -> its file.

    Unreadable files are passed over: ``sfb-feeds check`` is the place to report them.
    """
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in find_statement_files(folder):
        try:
            node = compose(decode(path.read_bytes()))
        except (OSError, YamlProblem):
            continue
        records = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for record in records:
            ident = _identity(record)
            if ident:
                found.setdefault(ident, path)
    return found


def _identity(record: yaml.Node | None) -> str | None:
    if not isinstance(record, yaml.MappingNode):
        return None
    values = {
        str(key.value): str(value.value)
        for key, value in record.value
        if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)
    }
    return (values.get("id") or values.get("url") or "").strip() or None
