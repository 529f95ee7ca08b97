"""`sfb-feeds import`: listings in, one new statement record per statement out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import fields
from ..errors import InvalidInput, Problem, SfbError, UsageError, counted, display_path
from ..loader import TooLarge, default_detector, read_regular
from ..model import LimitSettings
from ..validate import Detector, slugify
from ..yamlio import YamlProblem, decode, dump_record
from .listing import ListingEntry, parse_listing
from .records import (
    ExistingRecords,
    Held,
    existing_records,
    refusal,
    remove_stale_temporaries,
    write_new,
)
from .text import quoted
from .titles import derive_title
from .translations import Candidate, translation_keys

# Letters that Unicode decomposition does not bring down to ASCII, spelled out so that a
# slug keeps them ("europæiske" -> "europaeiske", Turkish dotless i -> "i").
_LATIN_LETTERS = str.maketrans({"æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "\u0131": "i", "ł": "l",
                                "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "œ": "oe", "Œ": "OE",
                                "þ": "th", "ð": "d"})

_EXAMPLE = "(e.g. --base-url https://www.istendency.net)"
REVIEW_TITLE = "the listing has no title; this one is the excerpt's first sentence"
REVIEW_LANGUAGE = "the excerpt's language could not be detected; add a `language:` field"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did. Paths are the record files; warnings point into the listings."""

    written: tuple[Path, ...] = ()
    existing: tuple[Path, ...] = ()  # already there: left untouched
    review: tuple[Path, ...] = ()  # written with a REVIEW comment for an editor
    warnings: tuple[Problem, ...] = ()

    def summary(self) -> str:
        lines = [f"{counted(len(self.written), 'record')} written, "
                 f"{len(self.existing)} already present "
                 f"(left unchanged), {len(self.review)} to review"]
        lines += [f"  wrote {display_path(path)}" for path in self.written]
        lines += [f"  kept  {display_path(path)}" for path in self.existing]
        lines += [f"  review {display_path(path)}" for path in self.review]
        return "\n".join(lines)


@dataclass(slots=True)
class _Draft:
    """One statement on its way to a file."""

    entry: ListingEntry
    title: str
    language: str | None
    stem: str
    review: list[str]  # what an editor must check

    def comments(self) -> list[str]:
        """The record's leading comment lines: where it came from, what to review."""
        source = f"Imported by sfb-feeds from {Path(self.entry.source).name}, " \
                 f"line {self.entry.line}."
        return [source] + [f"REVIEW: {reason}, then delete this line." for reason in self.review]


def import_listings(paths: Sequence[Path], out_dir: Path, base_url: str, *,
                    detect: Detector | None = None,
                    limits: LimitSettings | None = None) -> ImportReport:
    """Write a record ``<date>-<slug>.yaml`` in ``out_dir`` for every statement of the listings.

    Never replaces a file, and skips statements whose id is already used by a record in
    ``out_dir``, so importing the same listings again writes nothing, and skips (with a
    warning) statements whose record ``sfb-feeds check`` would refuse under ``limits``
    (default: the config's defaults). ``detect`` defaults to
    ``sfb_feeds.detect.detect_language``. Raises UsageError for an unreadable listing or a
    bad ``base_url``, InvalidInput for a listing that is not UTF-8; nothing is written then.
    """
    base = _base(base_url)
    detect = detect or default_detector()
    warnings: list[Problem] = []
    entries: list[ListingEntry] = []
    for path in paths:
        parsed = parse_listing(_read_listing(path), display_path(path))
        entries.extend(parsed.entries)
        warnings.extend(parsed.warnings)
    drafts = _drafts(_unique(entries, warnings), detect, warnings)
    drafts = _acceptable(drafts, base, limits or LimitSettings(), warnings)
    return _write_records(drafts, base, out_dir, warnings)


def _acceptable(drafts: list[_Draft], base: str, limits: LimitSettings,
                warnings: list[Problem]) -> list[_Draft]:
    """The drafts whose records ``sfb-feeds check`` accepts; the others skipped, with a
    warning (before translation keys are made: none names a skipped statement)."""
    kept: list[_Draft] = []
    for draft in drafts:
        record = _record(draft, f"{base}/statements/{draft.stem}", None)
        if (reason := refusal(dump_record(record, draft.comments()), limits)) is None:
            kept.append(draft)
        else:
            warnings.append(Problem(draft.entry.source, f"{quoted(draft.title)} cannot be "
                                    f"imported: {reason}; statement skipped", draft.entry.line))
    return kept


def _write_records(drafts: list[_Draft], base: str, out_dir: Path,
                   warnings: list[Problem]) -> ImportReport:
    """Each draft's record as a new file in ``out_dir``, unless it is there already."""
    remove_stale_temporaries(out_dir)
    known = existing_records(out_dir)
    keys = _translation_keys(drafts, base, known, warnings)
    written: list[Path] = []
    existing: list[Path] = []
    review: list[Path] = []
    for index, draft in enumerate(drafts):
        record = _record(draft, f"{base}/statements/{draft.stem}", keys.get(index))
        path = out_dir / f"{draft.stem}.yaml"
        present = _already_present(draft, record, known, warnings)
        if present is None and _write(path, dump_record(record, draft.comments()).encode()):
            _name_redated(draft, path, known, warnings)
            known.remember(path, record, len(draft.comments()) + 1)
            written.append(path)
            if draft.review:
                review.append(path)
                warnings.append(Problem(draft.entry.source, f"review {display_path(path)}: "
                                        + "; ".join(draft.review), draft.entry.line))
            continue
        existing.append(present or path)
        if present is None:
            warnings.append(Problem(draft.entry.source, f"{display_path(path)} already holds "
                                    "another record, so this statement was not imported "
                                    "(rename that file, or import into another folder)",
                                    draft.entry.line))
    return ImportReport(tuple(written), tuple(existing), tuple(review), tuple(warnings))


def _translation_keys(drafts: list[_Draft], base: str, known: ExistingRecords,
                      warnings: list[Problem]) -> dict[int, str]:
    """Index of each draft in a group of translations -> the group's key. A group with
    members already in the folder takes the first key they have (new translations join the
    old ones), and each such member without that key is named, for an editor to add it."""
    candidates = [Candidate(d.entry.day, d.language, d.entry.paragraphs, d.stem) for d in drafts]
    keys = translation_keys(candidates)
    groups: dict[str, list[int]] = {}
    for index, key in keys.items():
        groups.setdefault(key, []).append(index)
    for key, members in groups.items():
        joined = _joined_key(drafts, members, key, base, known, warnings)
        keys.update((index, joined) for index in members)
    return keys


def _joined_key(drafts: list[_Draft], members: list[int], key: str, base: str,
                known: ExistingRecords, warnings: list[Problem]) -> str:
    """One group's key: the first key of its members already present, if some are new."""
    held = {index: found for index in members
            if (found := _held(drafts[index], base, known)) is not None}
    if not held or len(held) == len(members):  # (all held: nothing new to join them)
        return key
    key = next((h.translation_key for h in held.values() if h.translation_key), key)
    _name_keyless(drafts, held, key, warnings)
    return key


def _name_keyless(drafts: list[_Draft], held: dict[int, Held], key: str,
                  warnings: list[Problem]) -> None:
    """Warn of each record already present whose translations here get another key."""
    for index, found in held.items():
        if found.translation_key != key:
            draft = drafts[index]
            warnings.append(Problem(draft.entry.source, f"{quoted(draft.title)} is already "
                                    f"present as {display_path(found.path)} without the "
                                    "translation_key of its translations here; add "
                                    f"{quoted('translation_key: ' + key)} to it to link them",
                                    draft.entry.line))


def _name_redated(draft: _Draft, path: Path, known: ExistingRecords,
                  warnings: list[Problem]) -> None:
    """Warn when the record just written has the title and language of one already there,
    on another date: the site may have corrected the statement's date."""
    day = draft.entry.day.isoformat()
    if (found := known.redated(day, draft.language, draft.title)) is not None:
        warnings.append(Problem(draft.entry.source, f"{quoted(draft.title)} ({day}) has the "
                                f"title and language of {display_path(found.path)}:"
                                f"{found.line} ({found.day}): it may be the same statement "
                                "with a corrected date; both are kept, remove one of them "
                                f"({display_path(path)} is the new one)", draft.entry.line))


def _held(draft: _Draft, base: str, known: ExistingRecords) -> Held | None:
    """The record already in the folder that holds this draft's statement, if any."""
    record = _record(draft, f"{base}/statements/{draft.stem}", None)
    return known.find(record["id"], record["url"], record["date"].isoformat(), draft.language,
                      draft.title)


def _write(path: Path, data: bytes) -> bool:
    """``write_new``, its failure an error naming the file or the folder in the way."""
    try:
        return write_new(path, data)
    except OSError as exc:
        where = (_in_the_way(Path(exc.filename or path.parent))
                 if isinstance(exc, FileExistsError | NotADirectoryError) else path)
        reason = "not a folder" if where is not path else exc.strerror or str(exc)
        raise SfbError(f"{display_path(where)}: cannot write a record: {reason} (records "
                       "written before it are whole; importing again skips them)") from exc


def _in_the_way(folder: Path) -> Path:
    """The file where ``folder`` or one of its parents should be (``folder`` if none is
    found): ``out/file/sub`` could not be made because ``out/file`` is a file."""
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()),
                folder)


def _already_present(draft: _Draft, record: dict[str, Any], known: ExistingRecords,
                     warnings: list[Problem]) -> Path | None:
    """The file that already holds this statement, if any: quietly under its own id (an
    earlier import), with a warning under another id with the same url or title."""
    if (same_id := known.holding(record["id"])) is not None:
        return same_id.path
    found = known.duplicate(record["url"], record["date"].isoformat(), draft.language,
                            draft.title)
    if found is None:
        return None
    path, reason = found[0].path, found[1]
    warnings.append(Problem(draft.entry.source, f"{quoted(draft.title)} is already present as "
                            f"{display_path(path)} ({reason}); not imported", draft.entry.line))
    return path


def _base(base_url: str) -> str:
    """The address ids are made under (``{base}/statements/<stem>``): an absolute http(s)
    URL as the config's ``site.url`` is, with a host and nothing after the path (a query or
    a fragment would swallow ``/statements/<stem>``)."""
    try:
        if not urlsplit(fields.absolute_url(base_url)).hostname:
            raise fields.FieldError(base_url)
    except fields.FieldError:
        raise UsageError(f"base URL {quoted(base_url)} is not an absolute http(s) address with "
                         f"a host and no spaces {_EXAMPLE}") from None
    if "@" in urlsplit(base_url).netloc:  # (not quoted: it would show the password)
        raise UsageError("base URL holds a user name or password before its host, which "
                         f"every imported id and url would publish; leave it out {_EXAMPLE}")
    if "?" in base_url or "#" in base_url:
        raise UsageError(f"base URL {quoted(base_url)} has a query or a fragment ('?' or '#'), "
                         f"so every id and url would point at one page; leave it out {_EXAMPLE}")
    return base_url.rstrip("/")


# The largest listing read: listing pages are text of tens of kilobytes; a file thousands
# of times larger is no listing, and reading it whole would fill the memory.
LISTING_BYTES = 64 * 1024 * 1024


def _read_listing(path: Path) -> str:
    """The listing's text, read only from a regular file of at most LISTING_BYTES: a FIFO
    would wait for a writer for ever, /dev/zero or a huge file fill the memory."""
    try:
        data = read_regular(path, LISTING_BYTES)
    except TooLarge:
        raise UsageError(f"{display_path(path)}: cannot read the listing: it is larger than "
                         f"{LISTING_BYTES // 1024**2} MiB, more than any listing; split it "
                         "into smaller files") from None
    except OSError as exc:
        raise UsageError(f"{display_path(path)}: cannot read the listing: {exc.strerror}") \
            from None
    try:
        return decode(data)
    except YamlProblem as exc:
        raise InvalidInput([Problem(display_path(path), exc.message, exc.line)]) from None


def _unique(entries: list[ListingEntry], warnings: list[Problem]) -> list[ListingEntry]:
    """Drop a statement that an earlier listing (or page) already showed word for word."""
    seen: dict[tuple[date, str | None, tuple[str, ...]], ListingEntry] = {}
    for entry in entries:
        earlier = seen.setdefault((entry.day, entry.title, entry.paragraphs), entry)
        if earlier is not entry:
            warnings.append(Problem(entry.source, "the same statement as "
                                    f"{earlier.source}:{earlier.line}; imported once",
                                    entry.line))
    return list(seen.values())  # the first of each, in order


def _drafts(entries: list[ListingEntry], detect: Detector,
            warnings: list[Problem]) -> list[_Draft]:
    drafts: list[_Draft] = []
    stems: set[str] = set()
    for entry in entries:
        review: list[str] = []
        title = entry.title
        if title is None:
            title = derive_title(entry.paragraphs[0])
            review.append(f"{REVIEW_TITLE} ({quoted(title)})")
        language = _language(entry, detect, warnings)
        if language is None:
            review.append(REVIEW_LANGUAGE)
        stem = _stem(entry.day, title, language, stems)
        drafts.append(_Draft(entry, title, language, stem, review))
    return drafts


def _language(entry: ListingEntry, detect: Detector, warnings: list[Problem]) -> str | None:
    """The excerpt's language; failing that, the first the title names, else None."""
    found = detect("\n\n".join(entry.paragraphs))
    if found is not None:
        if entry.languages and found not in entry.languages:
            warnings.append(Problem(entry.source, f"the title names {', '.join(entry.languages)}"
                                    f" but the excerpt reads as {found!r}; kept {found!r}",
                                    entry.line))
        return found
    if entry.languages:
        warnings.append(Problem(entry.source, "could not tell the excerpt's language; using "
                                f"{entry.languages[0]!r}, the first the title names",
                                entry.line))
        return entry.languages[0]
    return None


def _stem(day: date, title: str, language: str | None, taken: set[str]) -> str:
    """``<date>-<slug>``, made unique within one import (by language, then a number)."""
    stem = f"{day.isoformat()}-{slugify(title.translate(_LATIN_LETTERS))}"
    options = [stem, f"{stem}-{(language or 'und').lower()}"]
    options += [f"{stem}-{number}" for number in range(2, len(taken) + 3)]
    chosen = next(option for option in options if option not in taken)
    taken.add(chosen)
    return chosen


def _record(draft: _Draft, ident: str, translation_key: str | None) -> dict[str, Any]:
    entry = draft.entry
    record = {"id": ident, "title": draft.title, "date": entry.day, "language": draft.language,
              "authors": list(entry.authors) or None, "translation_key": translation_key,
              "url": entry.url or ident, "excerpt": "\n\n".join(entry.paragraphs) + "\n"}
    return {name: value for name, value in record.items() if value is not None}
