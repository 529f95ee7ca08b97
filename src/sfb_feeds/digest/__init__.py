"""Weekly email digests: inline-styled HTML, plain text, .eml, and a web archive.

Each language and week with statements gets ``digests/<lang>/<YYYY-Www>.html`` (the email
body, styles inlined), ``.txt`` (the plain-text part) and ``.eml`` (the whole message);
each language gets ``digests/<lang>/index.html``, the archive of its digests. The three
outputs of a digest share one rendering (see ``render.rendered_digest``).
"""

from __future__ import annotations

from ..plan import OutputFormat, Scope, Target
from ..site import Site
from ..urls import DIGEST_ARCHIVE_PATH as ARCHIVE_PATH
from ..urls import DIGEST_PATH
from .eml import render_eml
from .render import render_archive, rendered_digest


def render_digest_html(site: Site, target: Target) -> bytes:
    return rendered_digest(site, target, "html").html


def render_digest_text(site: Site, target: Target) -> bytes:
    return rendered_digest(site, target, "text").text


def render_digest_eml(site: Site, target: Target) -> bytes:
    return render_eml(site, rendered_digest(site, target, "eml"))


def render_digest_archive(site: Site, target: Target) -> bytes:
    if target.language is None:
        raise ValueError("a digest archive belongs to a language")
    return render_archive(site, target.language)


FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat(name="digest-html", media_type="text/html", path=f"{DIGEST_PATH}.html",
                 scope=Scope.LANGUAGE_WEEK, render=render_digest_html),
    OutputFormat(name="digest-text", media_type="text/plain",
                 path=f"{DIGEST_PATH}.txt", scope=Scope.LANGUAGE_WEEK,
                 render=render_digest_text),
    OutputFormat(name="digest-eml", media_type="message/rfc822",
                 path=f"{DIGEST_PATH}.eml", scope=Scope.LANGUAGE_WEEK,
                 render=render_digest_eml),
    OutputFormat(name="digest-archive", media_type="text/html",
                 path=ARCHIVE_PATH, scope=Scope.LANGUAGE,
                 render=render_digest_archive),
)
