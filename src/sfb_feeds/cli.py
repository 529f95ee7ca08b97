"""The command line, the only module that prints or exits (but for the unsubscribe
endpoint's own ``main``): run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from . import __version__, environment
from .arguments import parse_arguments
from .config import load_settings
from .errors import (
    EXIT_BUG,
    EXIT_OK,
    SfbError,
    UsageError,
    counted,
    display_path,
    printable,
)
from .folders import refuse_files_in_the_way
from .loader import Loaded, load_statements
from .model import Settings
from .site import is_published, refuse_edits_ahead
from .streams import ReaderGone, abandon_output, prepare, writing_output

if TYPE_CHECKING:
    from .send import SendReport


class _Console:
    """Where messages go; honours --quiet (errors, warnings and what the command was asked
    to print, but no summaries nor reminders of a warning an earlier run gave) and
    --verbose."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.quiet: bool = args.quiet
        self.verbose: bool = args.verbose
        self.out = out
        self.err = err
        self.command: str = args.command

    def write(self, text: str) -> None:
        """``text`` on standard output, as it is."""
        with writing_output(self.command):
            self.out.write(text)

    def write_bytes(self, data: bytes) -> None:
        """``data`` on standard output byte for byte (a digest as ``build`` writes it, in
        UTF-8 whatever the locale's encoding), or decoded where there are no bytes."""
        binary: BinaryIO | None = getattr(self.out, "buffer", None)
        if binary is None:
            self.write(data.decode("utf-8"))
            return
        with writing_output(self.command):
            self.out.flush()
            binary.write(data)
            binary.flush()

    def info(self, message: str) -> None:
        """A summary or note: not with --quiet."""
        if not self.quiet:
            self.output(message)

    def output(self, message: str) -> None:
        """What the command was asked to print (``digest --part paths``, ``send --dry-run``):
        --quiet too. (It may span lines; each line is escaped.)"""
        self.write("\n".join(printable(line) for line in message.split("\n")) + "\n")

    def detail(self, message: str) -> None:
        if self.verbose:
            print(printable(message), file=self.err)

    def warn(self, message: str) -> None:
        print(f"warning: {printable(message)}", file=self.err)

    def loaded(self, loaded: Loaded) -> None:
        """Show the loader's warnings with --verbose (``check`` shows them always)."""
        for warning in loaded.warnings:
            self.detail(f"warning: {warning}")


def clock(args: argparse.Namespace, settings: Settings) -> datetime:
    """The run's clock: ``--now`` (one without an offset is a time in ``site.timezone``,
    as records' dates are), else the current time."""
    now: datetime | None = args.now
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=settings.site.tz).astimezone(UTC)


def run_check(args: argparse.Namespace, console: _Console) -> int:
    settings = load_settings(args.config, recipients=True)  # as send needs them
    templates = settings.templates_dir
    console.detail(f"config {display_path(settings.config_path)}: statements from "
                   f"{display_path(settings.statements_dir)}/, outputs to "
                   f"{display_path(settings.output_dir)}/, "
                   + (f"templates from {display_path(templates)}/" if templates
                      else "built-in templates"))
    refuse_files_in_the_way(settings)  # (build would stop there; check makes no folder)
    loaded = load_statements(settings)
    for warning in loaded.warnings:
        console.warn(str(warning))
    now = clock(args, settings)
    refuse_edits_ahead(loaded.statements, now)
    languages = Counter(s.language for s in loaded.statements if is_published(s, now))
    drafts = sum(s.draft for s in loaded.statements)
    scheduled = sum(not s.draft and s.date > now for s in loaded.statements)
    console.info(f"{counted(len(loaded.statements), 'statement')} OK in "
                 f"{counted(len(languages), 'language')} "
                 f"({scheduled} scheduled, {counted(drafts, 'draft')})")
    for lang, count in sorted(languages.items()):
        console.info(f"  {lang}: {count}")
    _catalog_notes(settings, sorted(languages), console)
    from .readiness import readiness_warnings

    for notice in readiness_warnings(settings, languages, os.environ):
        console.warn(notice)
    return EXIT_OK


def _catalog_notes(settings: Settings, languages: Sequence[str], console: _Console) -> None:
    """With --verbose: the languages whose labels are English or from a parent catalog.
    A broken site catalog is a ConfigError, verbose or not."""
    from .i18n import catalogs_used, site_locales

    for lang in languages:
        used = catalogs_used(lang, site_locales(settings))
        if not used:
            console.detail(f"{lang}: no catalog; labels fall back to English")
        elif used != (lang.replace("-", "_"),):
            console.detail(f"{lang}: labels from the catalogs {', '.join(used)}")


def _progress_bar(console: _Console) -> Callable[[int, int], None] | None:
    """A one-line bar on a terminal (never in cron's mail or a log); None elsewhere."""
    stream = console.err
    if console.quiet or not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 200 or (done % 50 and done != total):
            return
        filled = 30 * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} outputs")
        if done == total:
            stream.write("\r" + " " * 60 + "\r")
        stream.flush()

    return show


def run_build(args: argparse.Namespace, console: _Console) -> int:
    from .build import build

    settings = load_settings(args.config)
    report = build(settings, clock(args, settings), on_loaded=console.loaded,
                   detail=console.detail, progress=_progress_bar(console), adopt=args.adopt)
    for warning in report.warnings:
        console.warn(warning)
    for reminder in report.reminders:  # warnings an earlier run gave already: not --quiet
        if not console.quiet:
            console.warn(reminder)
    (console.info if report.changed else console.detail)(report.summary())
    return EXIT_OK


def run_digest(args: argparse.Namespace, console: _Console) -> int:
    from .digest.command import digest_outputs, week_label

    settings = load_settings(args.config)
    loaded = load_statements(settings)
    console.loaded(loaded)
    part = None if args.part == "paths" else args.part
    now = clock(args, settings)
    outputs = digest_outputs(settings, loaded.statements, now, week=args.week, lang=args.lang,
                             part=part)
    if not outputs:
        console.info(f"no digest: no published statements in "
                     f"{week_label(settings, now, args.week)}"
                     + (f" in {args.lang!r}" if args.lang else ""))
    for output in outputs:
        if part is None:
            console.output(output.path)
            continue
        if len(outputs) > 1:
            console.write(f"==> {output.path} <==\n")
        console.write_bytes(output.data)
    return EXIT_OK


def _address(option: str, address: str | None, check: Callable[[str], str]) -> str | None:
    """``address`` as ``check`` writes it; a UsageError naming ``option`` if it is bad."""
    try:
        return None if address is None else check(address)
    except ValueError as exc:
        raise UsageError(f"{option}: {address!r} {exc}") from None


def _require_secret(settings: Settings, to: str | None, dry_run: bool) -> None:
    """A site with subscribers needs their links' secret on every run that sends, even one
    with nothing to send, as it needs the SMTP password: an hourly cron job started without
    it fails at once, not in the hour the week's digests fall due."""
    from .readiness import unsubscribe_secret

    if settings.digests.recipients and to is None and not dry_run:
        unsubscribe_secret(settings, os.environ)


def run_send(args: argparse.Namespace, console: _Console) -> int:
    from .carry import carried
    from .digest.command import digest_outputs, list_copies, require_complete_week, week_label
    from .recipients import check_address, check_one_address
    from .send import SendFailed, send_digests

    # --to: one address, its display name dropped; --recipient: as recipients files give it
    to = _address("--to", args.to, check_one_address)
    only = _address("--recipient", args.recipient, lambda text: check_address(text.strip()))
    settings = load_settings(args.config, recipients=True)  # as check reads them
    _require_secret(settings, to, args.dry_run)
    loaded = load_statements(settings)
    console.loaded(loaded)
    now = clock(args, settings)
    if to is None:
        require_complete_week(settings, now, args.week)
    outputs = digest_outputs(settings, loaded.statements, now, week=args.week, lang=args.lang)
    lists = list_copies(settings, loaded.statements, now, week=args.week, lang=args.lang)
    # --week, --resend and --to are about the digests they name: nothing carried over
    carry = None if to is not None else carried(
        settings, loaded.statements, now, lang=args.lang,
        carrying=args.week is None and not args.resend)
    report = send_digests(settings, outputs, now, dry_run=args.dry_run, resend=args.resend,
                          to=to, only=only, lists=lists, carry=carry)
    for path in sorted(report.carried, key=lambda path: Path(path).parts[-2:]):
        console.detail(f"{Path(path).parent.name} {Path(path).stem}: carried over from an "
                       "earlier run that did not finish it")
    for warning in report.warnings:
        console.warn(warning)
    if not outputs and not report.carried:
        console.detail(f"nothing to send: no digest for {week_label(settings, now, args.week)} "
                       "(no published statements in that week)")
    if args.dry_run:
        _show_dry_run(report, console)
    else:
        _show_sent(report, to, console)
    if report.problems:
        raise SendFailed(report.problems)
    return EXIT_OK


CARRIED = "; carried over from an earlier run"


def _show_dry_run(report: SendReport, console: _Console) -> None:
    labels = {f"{Path(path).parent.name} {Path(path).stem}" for path in report.carried}
    for digest in report.would_send:
        carried = CARRIED if digest.path in report.carried else ""
        console.output(f"would send {digest.where()} ({digest.path}{carried})")
    for label, tally in sorted(report.subscribers.items()):
        console.output(f"would send {label} to {counted(tally.would_send, 'subscriber')} "
                       f"({tally.already} already sent, {tally.suppressed} unsubscribed "
                       f"skipped{CARRIED if label in labels else ''})")
    would = len(report.would_send) + sum(t.would_send for t in report.subscribers.values())
    already = report.already_count
    console.output(f"would send {would}" + (f", {already} already sent" if already else ""))


def _show_sent(report: SendReport, to: str | None, console: _Console) -> None:
    for digest in report.sent:
        console.detail(f"sent {digest.where()}")
    for label, tally in sorted(report.subscribers.items()):
        console.detail(f"{label}: {tally.sent} sent to subscribers, {tally.already} already "
                       f"sent, {tally.suppressed} unsubscribed skipped")
    if to is not None:
        console.info(f"{counted(len(report.sent), 'test copy', 'test copies')} sent to {to}; "
                     "nothing recorded")
    elif report.sent or any(t.sent for t in report.subscribers.values()):
        console.info(report.summary())
    elif report.already_count and not report.problems:
        console.detail(f"nothing to send: {report.already_count} already sent")


def _subscribers_language(settings: Settings, lang: str) -> str:
    """``--lang`` of ``unsubscribe``: a language whose subscribers ``send`` mails (its
    digests.recipients), published or not yet; a UsageError for any other."""
    from .language import canonical_tag

    if (tag := canonical_tag(lang.strip())) is None:
        raise UsageError(f"--lang: {lang!r} is not a language tag (e.g. pl, pt-BR)")
    if tag not in settings.digests.recipients:
        known = ", ".join(settings.digests.recipients) or "none"
        raise UsageError(f"--lang: no subscribers in {tag!r} (digests.recipients: {known}); "
                         "leave out --lang to stop every language")
    return tag


def run_unsubscribe(args: argparse.Namespace, console: _Console) -> int:
    from .recipients import check_address
    from .suppression import ALL_LANGUAGES, suppress

    # as the recipients files give addresses: one that no file can hold matches no one
    address = _address("ADDRESS", args.address, lambda text: check_address(text.strip()))
    settings = load_settings(args.config)
    lang = ALL_LANGUAGES if args.lang is None else _subscribers_language(settings, args.lang)
    suppress(settings.state_folder, lang, str(address), "cli")
    which = "digests in any language" if args.lang is None else f"{lang} digests"
    console.info(f"{address}: no more {which} (send skips it from now on)")
    return EXIT_OK


def run_import(args: argparse.Namespace, console: _Console) -> int:
    from .importer import import_listings

    settings = load_settings(args.config) if args.out is None or args.base_url is None else None
    out_dir = args.out or (settings.statements_dir if settings else Path("statements"))
    base_url = args.base_url or (settings.site.url if settings else "")
    report = import_listings(args.listings, out_dir, base_url,
                             limits=settings.limits if settings else None)
    for warning in report.warnings:
        console.warn(str(warning))
    console.info(report.summary())
    return EXIT_OK


COMMANDS = {"check": run_check, "build": run_build, "digest": run_digest, "send": run_send,
            "unsubscribe": run_unsubscribe, "import": run_import}


def _report_bug(exc: BaseException, verbose: bool, err: TextIO) -> int:
    """An unexpected exception is a bug in sfb-feeds: one line, the traceback on request."""
    if verbose:
        traceback.print_exception(exc, file=err)
    what = printable(f"{type(exc).__name__}: {exc}")
    how = "with the traceback above" if verbose else "with what --verbose prints"
    print(f"error: internal error in sfb-feeds {__version__}: {what}; this is a bug, please "
          f"report it to the maintainers {how}", file=err)
    return EXIT_BUG


def _report_error(exc: SfbError, command: str, err: TextIO) -> int:
    """Each of the error's messages on a line of its own, then its details (a listing:
    indented, no "error:"); a usage error points at the command's help."""
    for problem in exc.messages():
        print(f"error: {printable(str(problem))}", file=err)
    for detail in exc.details():
        print(printable(detail), file=err)
    if isinstance(exc, UsageError):
        print(f"(see: sfb-feeds {command} --help)", file=err)
    return exc.exit_code


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (``errors.EXIT_*``; 130 if interrupted)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = parse_arguments(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help/--version
        return int(exc.code or 0)
    console = _Console(args, out, err)
    try:
        environment.check()  # before anything is read or written
        code = COMMANDS[args.command](args, console)
        with writing_output(args.command):  # (what is still in the buffer)
            out.flush()
        return code
    except SfbError as exc:
        return _report_error(exc, args.command, err)
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
    except Exception as exc:  # anything else is a bug: say so in one line, exit 70
        return _report_bug(exc, args.verbose, err)


def entry_point() -> None:
    prepare()  # (closed standard streams, the locale's encoding)
    try:
        code = main()
        sys.stdout.flush()
    except (ReaderGone, BrokenPipeError):
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        abandon_output()
        code = 141
    except OSError:  # (a full disk, which main has reported as an error)
        abandon_output()
    sys.exit(code)
