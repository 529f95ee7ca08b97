"""The command line: parse arguments, run a command, print, and map errors to exit codes.

This is the only module that prints or exits.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import load_settings
from .errors import EXIT_OK, EXIT_USAGE, Problem, SfbError, UsageError
from .loader import Loaded, load_statements
from .model import Settings, Statement
from .site import is_published

EXAMPLES = {
    "check": "example:\n  sfb-feeds check --config site/sfb-feeds.yaml",
    "build": "examples:\n  sfb-feeds build\n"
             "  sfb-feeds build --quiet --config /srv/sfb/sfb-feeds.yaml\n"
             "  sfb-feeds build --now 2015-09-07T00:00:00+00:00",
    "digest": "examples:\n  sfb-feeds digest          # last complete week, every language\n"
              "  sfb-feeds digest --week 2015-W36 --lang pl --part text",
    "send": "examples:\n  sfb-feeds send --dry-run   # what would go out\n"
            "  sfb-feeds send --week 2015-W36 --lang pl",
    "import": "example:\n  sfb-feeds import listing.txt --out statements/imported "
              "--base-url https://socialismfrombelow.org",
}


class _Console:
    """Where messages go; honours --quiet and --verbose."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.quiet: bool = args.quiet
        self.verbose: bool = args.verbose
        self.out = out
        self.err = err

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.out)

    def detail(self, message: str) -> None:
        if self.verbose:
            print(message, file=self.err)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.err)


def parse_now(value: str) -> datetime:
    """``--now``: an ISO 8601 date-time with an offset, or a date (midnight UTC)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 date-time (e.g. 2015-09-07T12:00:00+00:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="PATH",
                        help="site config file (default: ./sfb-feeds.yaml)")
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="explain what happens")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfb-feeds",
        description="Feeds and weekly email digests for the statements of Socialism From Below.",
        epilog=EXAMPLES["build"], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common()

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    _add_commands(command)
    return parser


def _add_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    check = command("check", "validate the config and every statement; write nothing")
    check.add_argument("--now", type=parse_now, metavar="DATETIME",
                       help="the clock for counting scheduled statements (default: now)")
    build = command("build", "write every feed, archive, digest and page into the output folder")
    build.add_argument("--now", type=parse_now, metavar="DATETIME",
                       help="the run's clock (ISO 8601; default: the current time)")
    digest = command("digest", "show one week's digests without writing anything (default: "
                               "the last complete week, every language)")
    digest.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2015-W36")
    digest.add_argument("--lang", metavar="CODE", help="only this language, e.g. pl")
    digest.add_argument("--part", choices=("text", "html", "eml", "paths"), default="text",
                        help="what to print: a part of each digest (default: text), or the "
                             "paths that `build` writes them to")
    digest.add_argument("--now", type=parse_now, metavar="DATETIME", help="the run's clock")
    send = command("send", "email each digest of a week to its list (digests.lists), once only")
    send.add_argument("--week", metavar="YYYY-Www", help="ISO week (default: last complete)")
    send.add_argument("--lang", metavar="CODE", help="only this language")
    send.add_argument("--dry-run", action="store_true", help="list what would be sent")
    send.add_argument("--now", type=parse_now, metavar="DATETIME", help="the run's clock")
    imp = command("import", "turn listing text (as on the site) into statement records")
    imp.add_argument("listings", nargs="+", type=Path, metavar="LISTING")
    imp.add_argument("--out", type=Path, metavar="DIR",
                     help="folder for the new records (default: the statements folder)")
    imp.add_argument("--base-url", metavar="URL",
                     help="site address for ids and links (default: site.url)")


def _load(settings: Settings, console: _Console) -> Loaded:
    loaded = load_statements(settings)
    for warning in loaded.warnings:
        console.detail(f"warning: {warning}")
    return loaded


def _unpublished(statements: Sequence[Statement], now: datetime) -> tuple[int, int]:
    """(drafts, statements scheduled after ``now``)."""
    drafts = sum(1 for s in statements if s.draft)
    return drafts, sum(1 for s in statements if not s.draft and s.date > now)


def run_check(args: argparse.Namespace, console: _Console) -> int:
    settings = load_settings(args.config)
    loaded = load_statements(settings)
    for warning in loaded.warnings:
        console.warn(str(warning))
    now = args.now or datetime.now(UTC)
    languages = Counter(s.language for s in loaded.statements if is_published(s, now))
    drafts, scheduled = _unpublished(loaded.statements, now)
    console.info(f"{len(loaded.statements)} statements OK in {len(languages)} languages "
                 f"({scheduled} scheduled, {drafts} drafts)")
    for lang, count in sorted(languages.items()):
        console.info(f"  {lang}: {count}")
    return EXIT_OK


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

    def loaded(result: Loaded) -> None:
        for warning in result.warnings:
            console.detail(f"warning: {warning}")

    report = build(settings, args.now or datetime.now(UTC), on_loaded=loaded,
                   detail=console.detail, progress=_progress_bar(console))
    if report.changed:
        console.info(report.summary())
    else:
        console.detail(report.summary())
    return EXIT_OK


def run_digest(args: argparse.Namespace, console: _Console) -> int:
    from .digest.command import digest_outputs

    settings = load_settings(args.config)
    loaded = _load(settings, console)
    part = None if args.part == "paths" else args.part
    outputs = digest_outputs(settings, loaded.statements, args.now or datetime.now(UTC),
                             week=args.week, lang=args.lang, part=part)
    if not outputs:
        console.info("no digest: no published statements in that week"
                     + (f" in {args.lang!r}" if args.lang else ""))
    for output in outputs:
        if part is None:
            console.info(output.path)
            continue
        if len(outputs) > 1:
            console.out.write(f"==> {output.path} <==\n")
        console.out.write(output.data.decode("utf-8"))
    return EXIT_OK


def run_send(args: argparse.Namespace, console: _Console) -> int:
    from .digest.command import digest_outputs
    from .send import SendFailed, send_digests

    settings = load_settings(args.config)
    loaded = _load(settings, console)
    now = args.now or datetime.now(UTC)
    outputs = digest_outputs(settings, loaded.statements, now, week=args.week, lang=args.lang)
    report = send_digests(settings, outputs, now, dry_run=args.dry_run)
    for path in report.sent:
        console.detail(f"{'would send' if args.dry_run else 'sent'} {path}")
    for path in report.unlisted:
        console.detail(f"no list address for {path} (set digests.lists)")
    if report.problems:
        raise SendFailed(report.problems)
    if report.sent or args.dry_run:
        console.info(report.summary())
    return EXIT_OK


def run_import(args: argparse.Namespace, console: _Console) -> int:
    from .importer import import_listings

    settings = load_settings(args.config) if args.out is None or args.base_url is None else None
    out_dir = args.out or (settings.statements_dir if settings else Path("statements"))
    base_url = args.base_url or (settings.site.url if settings else "")
    report = import_listings(args.listings, out_dir, base_url)
    for warning in report.warnings:
        console.warn(str(warning))
    console.info(report.summary())
    return EXIT_OK


COMMANDS = {"check": run_check, "build": run_build, "digest": run_digest, "send": run_send,
            "import": run_import}


def _report(problems: Sequence[Problem | str], err: TextIO) -> None:
    for problem in problems:
        print(f"error: {problem}", file=err)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 invalid input, 2 usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help/--version
        return int(exc.code or 0)
    console = _Console(args, out, err)
    try:
        return COMMANDS[args.command](args, console)
    except SfbError as exc:
        _report(exc.messages(), err)
        if isinstance(exc, UsageError):
            print(f"(see: sfb-feeds {args.command} --help)", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130


def entry_point() -> None:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    sys.exit(code)


__all__ = ["EXIT_USAGE", "main"]
