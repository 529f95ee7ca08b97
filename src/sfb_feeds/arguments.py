"""The command line's words for ``cli.py``: commands, options and examples (argparse)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from . import __version__
from .weeks import FIRST_YEAR, LAST_YEAR, YEARS

EXAMPLES = {
    "check": "example:\n  sfb-feeds check --config site/sfb-feeds.yaml",
    "build": "examples:\n  sfb-feeds build\n"
             "  sfb-feeds build --quiet --config /srv/sfb/sfb-feeds.yaml\n"
             "  sfb-feeds build --now 2015-09-07T00:00:00+00:00",
    "digest": "examples:\n  sfb-feeds digest          # last complete week, every language\n"
              "  sfb-feeds digest --week 2015-W36 --lang pl --part text",
    "send": "examples:\n  sfb-feeds send --dry-run   # what would go out\n"
            "  sfb-feeds send --week 2015-W36 --lang pl\n"
            "  sfb-feeds send --week 2015-W36 --lang pl --to me@example.org   # a test copy\n"
            "  sfb-feeds send --week 2015-W36 --lang pl --resend   # after checking the archive\n"
            "  sfb-feeds send --week 2015-W36 --lang pl --resend --recipient ann@example.org",
    "unsubscribe": "examples:\n  sfb-feeds unsubscribe ann@example.org --lang pl\n"
                   "  sfb-feeds unsubscribe ann@example.org   # every language",
    "import": "example:\n  sfb-feeds import listing.txt --out statements/imported "
              "--base-url https://www.istendency.net/",
}


# --now's forms, those of records' dates (README): a calendar date, or one with a time and
# an optional offset; ISO 8601's others (week and ordinal dates, basic 20150907, an hour
# alone, an offset with seconds...) are refused, not read as something else.
_NOW = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                  r"(?:[Zz]|[+-]\d{2}:\d{2})?)?")
NOW_FORMS = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]"
_NOW_ADVICE = ("use YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM "
               "(without one: a time in site.timezone)")


def parse_now(value: str) -> datetime:
    """``--now``: a date (its midnight) or a date-time, in :data:`NOW_FORMS`; without an
    offset it is naive, a time in the site's timezone (:func:`cli.clock`). ``t`` and ``z``
    may be lowercase, and a space stand for the ``T``, as in records (RFC 3339 5.6)."""
    try:
        if not _NOW.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date or date-time; "
                                         f"{_NOW_ADVICE}") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"{value!r} is outside the years {YEARS}")
    return moment


def _now_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--now``, ``what`` it is for, with the forms it takes."""
    parser.add_argument("--now", type=parse_now, metavar="DATETIME",
                        help=f"{what}: {NOW_FORMS} (without an offset: a time in "
                             "site.timezone; default: the current time)")


def _send_options(send: argparse.ArgumentParser) -> None:
    send.add_argument("--week", metavar="YYYY-Www", help="ISO week (default: last complete)")
    send.add_argument("--lang", metavar="CODE", help="only this language")
    send.add_argument("--dry-run", action="store_true",
                      help="list what would be sent, and to whom; send and record nothing")
    send.add_argument("--resend", action="store_true",
                      help="send again the selected digests that were sent or may have gone "
                           "out (check the list's archive first)")
    send.add_argument("--to", metavar="ADDRESS",
                      help="send a test copy of the selected digests to ADDRESS only; "
                           "record nothing")
    send.add_argument("--recipient", metavar="ADDRESS",
                      help="only this subscriber of the recipients files, or this list "
                           "address (with --resend: send that copy again)")
    _now_option(send, "the run's clock")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line's arguments; an unknown one is a usage error (exit 2) shown with
    the usage of the command it was given to (argparse alone shows the whole program's)."""
    commands: dict[str, argparse.ArgumentParser] = {}
    args, unknown = build_parser(commands).parse_known_args(argv)
    if unknown:
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def build_parser(commands: dict[str, argparse.ArgumentParser] | None = None
                 ) -> argparse.ArgumentParser:
    """The program's parser; ``commands`` (if given) receives each command's own."""
    parser = argparse.ArgumentParser(
        prog="sfb-feeds",
        description="Feeds and weekly email digests for the statements of Socialism From Below.",
        epilog=EXAMPLES["build"], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="PATH",
                        help="site config file (default: ./sfb-feeds.yaml)")
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true",
                       help="print only errors, new warnings and what the command "
                            "was asked to print (digest's output, send --dry-run's list)")
    noise.add_argument("-v", "--verbose", action="store_true", help="explain what happens")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        made = sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
        if commands is not None:
            commands[name] = made
        return made

    _add_commands(command)
    return parser


def _add_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    check = command("check", "validate the config and every statement; write nothing")
    _now_option(check, "the clock for counting scheduled statements")
    build = command("build", "write every feed, archive, digest and page into the output folder")
    _now_option(build, "the run's clock")
    build.add_argument("--adopt", action="store_true",
                       help="on the first build into a folder, replace files already at "
                            "output paths (without it they are listed and nothing is written)")
    digest = command("digest", "show one week's digests without writing anything (default: "
                               "the last complete week, every language)")
    digest.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2015-W36")
    digest.add_argument("--lang", metavar="CODE", help="only this language, e.g. pl")
    digest.add_argument("--part", choices=("text", "html", "eml", "paths"), default="text",
                        help="what to print: a part of each digest (default: text), or the "
                             "paths that `build` writes them to")
    _now_option(digest, "the run's clock")
    _send_options(command("send", "email each digest of a week to its list (digests.lists) "
                                  "and subscribers (digests.recipients), once only"))
    unsubscribe = command("unsubscribe", "add an address to the suppression list: send never "
                                         "mails it again (digests.recipients)")
    unsubscribe.add_argument("address", metavar="ADDRESS",
                             help="the subscriber's address, local@domain")
    unsubscribe.add_argument("--lang", metavar="CODE",
                             help="only this language's digests, one of digests.recipients "
                                  "(default: every language)")
    imp = command("import", "turn listing text (as on the site) into statement records")
    imp.add_argument("listings", nargs="+", type=Path, metavar="LISTING",
                     help="a text file of one listing page, as copied from the site")
    imp.add_argument("--out", type=Path, metavar="DIR",
                     help="folder for the new records (default: the statements folder)")
    imp.add_argument("--base-url", metavar="URL",
                     help="site address for ids and links (default: site.url)")
