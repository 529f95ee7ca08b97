"""What the CLI tests share: a minimal site config, one valid record, and a run of main()."""

from __future__ import annotations

import io

from sfb_feeds.cli import main

MINIMAL = "site:\n  title: T\n  url: https://example.org/\n"
RECORD = "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\nid: urn:sfb:a\n"


def run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv)'s exit code, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()
