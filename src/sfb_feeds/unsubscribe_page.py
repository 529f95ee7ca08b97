"""The unsubscribe endpoint's page: the question with its one button, and the answers, in
the list's language (right to left where it is written so), through the digest catalogs."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

from .suppression import normalise_address, normalise_lang

ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058's form field and value

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em;"
          "line-height:1.5;color:#1a1a1a;background:#fff;overflow-wrap:anywhere}"
          "button{font-size:1.1em;padding:.5em 1.5em;cursor:pointer}")
ASK = "Stop sending these digests to {address}?"
ASK_NO_ADDRESS = "Stop sending these digests to this address?"
DONE = ("Done. If this link was valid, no more digests in this language will be sent to "
        "that address.")
NOT_ONE_CLICK = "This is not an unsubscribe request. Open the link from the digest instead."
# A valid link whose entry could not be written (full disk...): never "Done" (plain text).
NOT_RECORDED = b"The request could not be recorded; try again later.\n"
# A body that stopped arriving before its Content-Length (plain text).
INCOMPLETE = b"The request did not arrive in full; nothing was recorded. Try again.\n"


@dataclass(frozen=True, slots=True)
class Query:
    lang: str
    address: str
    token: str

    def shown_lang(self, locales: Path | None) -> str:
        """The language to answer in: the link's, if it is a tag with a catalog (the site's
        or a shipped one), else English, as the page's words then are."""
        from .i18n import catalogs_used

        try:
            tag = normalise_lang(self.lang)
        except ValueError:
            return "en"
        return tag if tag != "*" and catalogs_used(tag, locales) else "en"


def label(lang: str, locales: Path | None, msgid: str, **values: object) -> str:
    from .i18n import translations  # catalogs load on the first page, not at import

    return translations(lang, locales).gettext(msgid).format(**values)


def page(lang: str, locales: Path | None, text: str, form_action: str | None = None) -> bytes:
    """The page in ``lang``: the paragraph ``text`` (HTML) and, maybe, the button's form."""
    from .language import text_direction

    title = html.escape(label(lang, locales, "Unsubscribe"))
    form = "" if form_action is None else (
        f'<form method="post" action="{html.escape(form_action)}">'
        f'<input type="hidden" name="{ONE_CLICK[0]}" value="{ONE_CLICK[1]}">'
        '<input type="hidden" name="source" value="page">'
        f'<button type="submit">{title}</button></form>')
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}" dir="{text_direction(lang)}"><head>'
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f'<meta name="robots" content="noindex"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body><main><h1>{title}</h1>"
            f"<p>{text}</p>{form}</main></body></html>\n").encode()


def ask_page(query: Query, locales: Path | None, *, signed: bool) -> bytes:
    """The question and its button; the address named only when the link is ``signed``
    (its token is the one send made): anyone can put any text in an unsigned query."""
    lang = query.shown_lang(locales)
    if signed:  # a valid token is made from a well-formed address (token() checks it)
        # Isolated: a right-to-left sentence would reorder '2024-ann@…' to 'ann@…-2024'.
        shown = f'<bdi dir="ltr">{html.escape(normalise_address(query.address))}</bdi>'
        text = html.escape(label(lang, locales, ASK, address="\0")).replace("\0", shown)
    else:
        text = html.escape(label(lang, locales, ASK_NO_ADDRESS))
    return page(lang, locales, text, "?" + urlencode(asdict(query)))
