"""Turn one record's YAML mapping into a Statement, collecting every problem."""

from __future__ import annotations

import difflib
import hashlib
import marshal
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from . import fields
from .errors import Problem, counted
from .model import Source, Statement
from .yamlio import line_of, mapping_items

REQUIRED = ("title", "date", "language", "excerpt")
OPTIONAL = ("url", "id", "authors", "tags", "translation_key", "updated", "draft")
KNOWN = REQUIRED + OPTIONAL

Detector = Callable[[str], "str | None"]


@dataclass(slots=True)
class RecordResult:
    """The record's statement (none when anything is wrong) and its messages."""

    statements: list[Statement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordContext:
    path: str
    record: int
    tz: ZoneInfo
    domain: str
    detect: Detector | None = None
    excerpt_bytes: int = 1024 * 1024  # the longest excerpt accepted (limits.excerpt_bytes)

    def problem(self, line: int, field: str | None, message: str) -> Problem:
        return Problem(self.path, message, line, self.record, field)


def suggest(name: str, known: tuple[str, ...]) -> str:
    """`` (did you mean 'title'?)`` for a near miss, else an empty string."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def validate_record(node: yaml.Node, ctx: RecordContext) -> RecordResult:
    """Check one record; it gives no statement when anything is wrong."""
    line = line_of(node)
    result = RecordResult()
    if not isinstance(node, yaml.MappingNode):
        result.problems.append(ctx.problem(
            line, None, "a record must be a mapping of fields (title: ..., date: ...)"))
        return result
    if problem := fields.tag_problem(node):
        result.problems.append(ctx.problem(line, None, problem))
        return result
    values, lines = _read_fields(node, ctx, result)
    if "title" in values:
        _drop_invisible(values, lines["title"], ctx, result)
    result.problems += [ctx.problem(line, name, "is missing; every record needs it")
                        for name in REQUIRED if name not in lines and _required(name, ctx)]
    if not result.problems:
        result.problems += _updated_too_early(values, lines, ctx)
    if not result.problems:
        _detect_language(values, ctx, line, result)
    if not result.problems:
        result.statements.append(_statement(values, ctx, line, result))
    return result


def _updated_too_early(values: dict[str, Any], lines: dict[str, int], ctx: RecordContext
                       ) -> list[Problem]:
    if values.get("updated", values["date"]) >= values["date"]:
        return []
    return [ctx.problem(lines["updated"], "updated", "is before the date; it is the time of "
                        "the last edit (or leave it out)")]


def _read_fields(
    node: yaml.MappingNode, ctx: RecordContext, result: RecordResult
) -> tuple[dict[str, Any], dict[str, int]]:
    """Each known field's value and line; unknown, repeated and invalid fields are problems."""
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for name, value, at in mapping_items(node):
        message = None
        if name not in KNOWN:
            message = f"unknown field{suggest(name, KNOWN)}"
        elif name in lines:
            message = f"appears twice in this record (first on line {lines[name]}); keep one"
        else:
            lines[name] = at
            try:
                values[name] = _read_value(name, value, ctx)
            except fields.EmptyField as exc:
                message = "is empty; give it a value" if _required(name, ctx) else str(exc)
            except fields.FieldError as exc:
                message = str(exc)
        if message is not None:
            result.problems.append(ctx.problem(at, name, message))
    return values, lines


def _read_value(name: str, node: yaml.Node, ctx: RecordContext) -> Any:
    if name in {"date", "updated"}:
        return fields.moment(node, ctx.tz)
    value = _READERS.get(name, fields.text)(node)
    limit = ctx.excerpt_bytes  # (no encoding if too long)
    if name == "excerpt" and (len(value) > limit or len(value.encode("utf-8")) > limit):
        raise fields.FieldError(f"is longer than {counted(limit, 'byte')} (limits.excerpt_bytes); "
                                "shorten it (a feed carries an excerpt, not the whole text)")
    if name in _SHOWN and fields.shows_nothing(value):
        raise fields.FieldError(f"holds only invisible characters "
                                f"({fields.invisible_codes(value)}); give it {_SHOWN[name]}")
    return value


# Fields that must show something: not only spaces and format characters (category Cf).
_SHOWN = {"title": "a title", "excerpt": "an excerpt"}


def _required(name: str, ctx: RecordContext) -> bool:
    """Whether a record must have the field (``language`` is detected when left out)."""
    return name in REQUIRED and not (name == "language" and ctx.detect)


# Zero-width characters a title never needs (ZWJ U+200D and ZWNJ U+200C stay: scripts
# such as Persian and emoji sequences need them); they hide text and split look-alikes.
# A regular-expression class body: ``import`` drops these too (importer/text.py).
INVISIBLE = "\u200b\u2060-\u2064\ufeff\u180e"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def _drop_invisible(values: dict[str, Any], line: int, ctx: RecordContext,
                    result: RecordResult) -> None:
    title: str = values["title"]
    found = sorted({f"U+{ord(c):04X}" for c in _INVISIBLE.findall(title)})
    if found:  # (a title of nothing else is refused when read: fields.shows_nothing)
        values["title"] = " ".join(_INVISIBLE.sub("", title).split())
        result.warnings.append(ctx.problem(line, "title", "holds zero-width characters "
                                           f"({', '.join(found)}); dropped them"))


_READERS: dict[str, Callable[[yaml.Node], Any]] = {
    "language": fields.language, "url": fields.public_url, "authors": fields.names,
    "tags": fields.tag_list, "draft": fields.boolean, "id": fields.identifier,
    "title": fields.line,
}


def _detect_language(values: dict[str, Any], ctx: RecordContext, line: int,
                     result: RecordResult) -> None:
    if "language" in values or ctx.detect is None:
        return
    found = ctx.detect(values["excerpt"])
    if found is None:
        result.problems.append(ctx.problem(line, "language", "is missing and could not be "
                                           "detected; add it"))
        return
    values["language"] = found
    result.warnings.append(ctx.problem(line, "language", f"is missing; detected {found!r} from "
                                       "the excerpt (add it to the record to make it certain)"))


def _statement(values: dict[str, Any], ctx: RecordContext, line: int,
               result: RecordResult) -> Statement:
    excerpt, truncated = fields.paragraphs(values["excerpt"])
    date: datetime = values["date"]
    generated = "id" not in values and "url" not in values
    ident = values.get("id") or values.get("url") or (
        f"tag:{ctx.domain},{date.date().isoformat()}:{values['language']}/"
        f"{slugify(values['title'])}")
    if generated:
        result.warnings.append(ctx.problem(line, "id", f"not set; using {ident!r}, which "
                                           "changes if the title, date or language is "
                                           "edited or a url is added (add an id: to keep "
                                           "it stable)"))
    content: dict[str, Any] = {
        "id": ident, "title": values["title"], "date": date, "language": values["language"],
        "excerpt": excerpt, "truncated": truncated, "url": values.get("url"),
        "authors": values.get("authors", ()), "tags": values.get("tags", ()),
        "translation_key": values.get("translation_key"),
        "updated": values.get("updated") or date, "draft": values.get("draft", False),
    }
    return Statement(**content, id_generated=generated, fingerprint=_fingerprint(content),
                     source=Source(path=ctx.path, line=line, record=ctx.record))


def _fingerprint(content: dict[str, Any]) -> str:
    """Changes whenever anything a reader could see changes.

    marshal version 2 writes no back-references, so it depends on the values alone (the keys
    are always the same, in order); a third of the time ``repr`` took."""
    values = tuple(v.isoformat() if isinstance(v, datetime) else v for v in content.values())
    return hashlib.blake2b(marshal.dumps(values, 2), digest_size=12).hexdigest()


def slugify(title: str) -> str:
    """An ASCII slug of ``title`` (60 characters at most); a short hash for titles with no
    Latin letters."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return slug or "s-" + hashlib.blake2b(title.encode("utf-8"), digest_size=5).hexdigest()
