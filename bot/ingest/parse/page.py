"""A web page -> its main text and metadata, via trafilatura.

:func:`parse_page` also decides whether a page is an article at all: redirect
stubs, HTTP error pages and site pages with no article body ("About",
"Contact", "Privacy Policy" and a few lines of footer) raise
:class:`NotAnArticle` (a :class:`ParseError`) whose message is the reason.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from trafilatura.utils import load_html

from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import NotAnArticle, ParseError
from bot.ingest.parse.links import resolve_image, resolve_link
from bot.ingest.parse.sniff import is_whole_document
from bot.models import Entry

MAX_TITLE_CHARS = 1000
# htmldate: prefer the original publication date over the last modification.
_DATE_PARAMS = {
    "extensive_search": True,
    "original_date": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S",
}

logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


def parse_page(html: bytes | str, *, url: str | None = None) -> Entry:
    """Main text (paragraphs separated by a blank line), title, date, author,
    site name (as ``source``) and lead image (``og:image``...) of a web page.

    Raises :class:`NotAnArticle` for a redirect stub, an error page or a site
    page without an article body, and :class:`ParseError` when there is no
    main text at all.
    """
    if not isinstance(html, bytes | bytearray | str):
        raise ParseError(f"not a page: expected bytes or str, got {type(html).__name__}")
    if not html or not (html.strip() if isinstance(html, str) else bytes(html).strip()):
        raise ParseError("not a page: the document is empty")
    document = _extract(html, url)
    text = getattr(document, "text", None) if document is not None else None
    paragraphs = [line.strip() for line in (text or "").split("\n") if line.strip()]
    title = (_str(document, "title") or _raw_title(html) or "")[:MAX_TITLE_CHARS]
    problem = page_problem(html, title, paragraphs)
    if problem:
        raise NotAnArticle(problem)
    if not paragraphs:
        raise ParseError("no main text found in the page")
    page_url = resolve_link(url) or resolve_link(getattr(document, "url", None))
    return Entry(
        title=title,
        url=page_url,
        author=_str(document, "author"),
        categories=[c for c in getattr(document, "categories", None) or [] if isinstance(c, str)],
        published_at=parse_date(_str(document, "date")),
        summary=_str(document, "description"),
        content="\n\n".join(paragraphs),
        content_is_html=False,
        content_is_page_text=True,
        source=_str(document, "sitename") or _host(page_url),
        # og:image, twitter:image or link rel=image_src, as trafilatura reads them
        image_url=resolve_image(_str(document, "image"), page_url),
    )


def with_page_text(entry: Entry) -> Entry:
    """``entry`` with a whole-page HTML content replaced by the page's main text.

    For an entry whose HTML content (a JSON Lines ``html`` field, a feed's
    ``content:encoded``) is a whole web page: the page goes through
    :func:`parse_page`, like a page file, and the entry keeps its own title,
    URL, source, date, author and categories, taking the page's only where
    it has none. A fragment is returned unchanged, and so is a page in which
    no main text is found (the fragment path then does what it can).
    Raises :class:`NotAnArticle` when the page is a redirect stub, an error
    page or a site page without an article body.
    """
    if not (entry.content_is_html and entry.content and is_whole_document(entry.content)):
        return entry
    try:
        page = parse_page(entry.content, url=entry.url)
    except NotAnArticle:
        raise
    except ParseError:
        return entry
    from bot.clean.text import html_to_text  # clean sits above parse; import late

    return dataclasses.replace(
        entry,
        title=entry.title or page.title,
        url=entry.url or page.url,
        author=entry.author or page.author,
        categories=entry.categories or page.categories,
        published_at=entry.published_at or page.published_at,
        summary=html_to_text(entry.summary) if entry.summary else page.summary,
        content=page.content,
        content_is_html=False,
        content_is_page_text=True,
        source=entry.source or page.source,
        image_url=entry.image_url or page.image_url,
    )


# -- is the page an article? --------------------------------------------------------

_SEPARATORS = re.compile(r"\s+[|\-–—:·•»]\s+|\s*::\s*")
_REDIRECT_TITLE = re.compile(
    r"30[1-8]\s+found|(?:30[1-8]\s*)?(?:(?:object|document|page|resource)\s+(?:has\s+)?moved"
    r"(?:\s+(?:permanently|temporarily))?|moved\s+(?:permanently|temporarily)"
    r"|temporary\s+redirect|permanent\s+redirect|redirect(?:ing|ion)?(?:\s+notice)?(?:\s*(?:\.\.\.|…))?)"
    r"|this\s+(?:document|page)\s+has\s+moved\b.*",
    re.IGNORECASE,
)
_REDIRECT_TEXT = re.compile(
    r"(?:the\s+)?(?:object|document|page|resource|file)\s+(?:you\s+requested\s+)?"
    r"(?:has\s+(?:been\s+)?|was\s+|is\s+)?(?:moved|relocated)\b"
    r"|this\s+(?:document|page)\s+(?:has\s+)?moved\b|you\s+are\s+being\s+redirected\b"
    r"|redirecting\b|(?:please\s+)?click\s+here\s+if\s+you\s+are\s+not\s+(?:automatically\s+)?redirected",
    re.IGNORECASE,
)
_ERROR_TITLE = re.compile(
    r"(?:(?:http\s+)?(?:error\s*)?[45]\d\d(?:\s*(?:error|[-:–|]))?\s*)?"
    r"(?:(?:page|file|document|resource)\s+)?(?:not\s+found|forbidden|access\s+denied"
    r"|unauthori[sz]ed|bad\s+request|(?:internal\s+)?server\s+error|gone|error"
    r"|service\s+(?:temporarily\s+)?unavailable|bad\s+gateway|gateway\s+time-?out"
    r"|too\s+many\s+requests|(?:page|content)\s+(?:unavailable|removed)"
    r"|oops\b.*(?:not\s+found|went\s+wrong|error).*|sorry\b.*(?:not\s+found|n[o']t\s+exist|"
    r"can\s*n?[o']t\s+be\s+found|could\s*n[o']t\s+(?:be\s+)?f(?:ou)?nd).*"
    r"|(?:this\s+|the\s+)?page\s+(?:does\s*n[o']t|does\s+not|cannot|can['’]t|could\s+not)\s+"
    r"(?:exist|be\s+found).*)"
    r"|(?:http\s+)?(?:error\s*)?[45]\d\d",
    re.IGNORECASE,
)
_ERROR_TEXT = re.compile(
    r"(?:(?:http\s+)?(?:error\s*)?[45]\d\d\b|page\s+not\s+found|not\s+found\b|access\s+denied"
    r"|forbidden\b|internal\s+server\s+error|service\s+(?:temporarily\s+)?unavailable"
    r"|you\s+(?:do\s*n[o']t|do\s+not)\s+have\s+permission\s+to\s+access"
    r"|the\s+(?:page|content|article)\s+you\s+(?:are|were|'re)\s+looking\s+for\b"
    r"|the\s+(?:page|url)\s+you\s+requested\b|we\s+(?:could\s*n[o']t|can\s*n?[o']t)\s+find\b"
    r"|(?:this|that)\s+page\s+(?:does\s*n[o']t|does\s+not|no\s+longer)\s+exists?\b"
    r"|sorry,?\s+(?:but\s+)?(?:the|this|that)\s+page\b)",
    re.IGNORECASE,
)
_SITE_PAGE_TITLE = re.compile(
    r"about(?:\s+(?:us|me|the\s+\w+|this\s+site))?|who\s+we\s+are|contact(?:\s+us)?|get\s+in\s+touch"
    r"|privacy(?:\s+(?:policy|notice|statement|settings|center|centre))?|cookies?(?:\s+(?:policy|notice|settings))?"
    r"|terms(?:\s+(?:of\s+(?:service|use)|and\s+conditions|&\s+conditions))?|terms\s+&\s+conditions"
    r"|legal(?:\s+(?:notice|information))?|imprint|impressum|disclaimer|accessibility(?:\s+statement)?"
    r"|site\s*map|careers|jobs|work\s+with\s+us|advertise(?:\s+with\s+us)?|advertising"
    r"|subscribe|subscriptions?|newsletters?|log\s*in|sign\s*in|sign\s*up|register|my\s+account"
    r"|search(?:\s+results)?|help|faqs?|support|home(?:\s*page)?|index|archives?|tags?|categories"
    r"|masthead|staff|our\s+team|corrections(?:\s+policy)?|ethics(?:\s+policy)?",
    re.IGNORECASE,
)
_META_REFRESH = re.compile(r"<meta[^>]+http-equiv\s*=\s*[\"']?refresh[\"']?[^>]*>", re.IGNORECASE)
_REFRESH_URL = re.compile(r"content\s*=\s*[\"']?\s*\d*\s*[;,]?\s*url\s*=\s*([^\"'>\s]+)", re.I)
_TITLE_TAG = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"\w+")
_UNSPACED = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HEAD_CHARS = 65_536  # how much of the page to search for <title> and meta refresh
REDIRECT_MAX_WORDS = 80  # a redirect stub says little besides "moved"
ERROR_MAX_WORDS = 250  # an error page: its message and perhaps a search box and links
SITE_PAGE_MAX_WORDS = 300  # "About" and a few lines of footer text


def page_problem(html: bytes | str, title: str, paragraphs: list[str]) -> str | None:
    """Why a page is not an article (the reason, for the user), or None.

    ``title`` is the page's title and ``paragraphs`` its extracted main text.
    A page is rejected when it is a redirect (a meta refresh with almost no
    text, or a "Moved Permanently"/"Object Moved" title or text), an error
    page (a "404"/"Page not found"/"Access denied" title, or main text that
    opens with such a message, and a short text), a site page (titled
    "About", "Contact", "Privacy Policy", ... with a short text), or when all
    of its main text is page furniture (copyright lines, navigation bars,
    share and subscribe prompts: :func:`bot.clean.is_boilerplate`). Long
    pages are never rejected for their title alone, and a short page with a
    real title and a sentence or two is an article.
    """
    head = _head_text(html)
    words = _word_count(paragraphs)
    names = _title_parts(title)
    opening = " ".join(paragraphs[:2])[:300]
    refresh = _META_REFRESH.search(head)
    if refresh and words < REDIRECT_MAX_WORDS:
        target = _REFRESH_URL.search(refresh.group(0))
        where = f" to {target.group(1)[:200]}" if target else ""
        return f"not an article: a redirect page (meta refresh{where})"
    redirect = next((n for n in names if _REDIRECT_TITLE.fullmatch(n)), None)
    if words < REDIRECT_MAX_WORDS and (redirect or _REDIRECT_TEXT.match(opening)):
        return f"not an article: a redirect stub ({_quote(redirect or opening)})"
    error = next((n for n in names if _ERROR_TITLE.fullmatch(n)), None)
    if words < ERROR_MAX_WORDS and (
        error or (words < REDIRECT_MAX_WORDS and _ERROR_TEXT.match(opening))
    ):
        return f"not an article: an error page ({_quote(error or opening)})"
    site_page = next((n for n in names if _SITE_PAGE_TITLE.fullmatch(n)), None)
    if site_page and words < SITE_PAGE_MAX_WORDS:
        return f"not an article: a site page ({_quote(site_page)}) with no article body"
    if paragraphs and _all_boilerplate(paragraphs):
        return f"not an article: only page furniture, no article body ({_quote(opening)})"
    return None


def _all_boilerplate(paragraphs: list[str]) -> bool:
    from bot.clean.text import clean_text  # clean sits above parse; import late

    return not clean_text("\n\n".join(paragraphs))


def _head_text(html: bytes | str) -> str:
    head = html[:_HEAD_CHARS]
    return bytes(head).decode("utf-8", "replace") if not isinstance(head, str) else head


def _raw_title(html: bytes | str) -> str | None:
    """The <title> of a page trafilatura could not read."""
    match = _TITLE_TAG.search(_head_text(html))
    if not match:
        return None
    return " ".join(htmllib.unescape(re.sub(r"<[^>]*>", " ", match.group(1))).split()) or None


def _title_parts(title: str) -> list[str]:
    """The title and its parts around site-name separators ("About | Example Times")."""
    title = " ".join(title.split()).strip(" .!")
    if not title:
        return []
    parts = [part.strip(" .!") for part in _SEPARATORS.split(title)]
    return [title, *(part for part in parts if part and part != title)]


def _word_count(paragraphs: list[str]) -> int:
    """Words in the text; characters of unspaced scripts count as half a word each."""
    text = " ".join(paragraphs)
    unspaced = len(_UNSPACED.findall(text))
    return len(_WORD.findall(_UNSPACED.sub(" ", text))) + unspaced // 2


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"'{text[:80]}…'" if len(text) > 80 else f"'{text}'"


def _extract(html: bytes | str, url: str | None) -> Any:
    """trafilatura.bare_extraction with metadata, on the page without its hidden
    elements; the document's ``text`` is rebuilt from its paragraphs
    (:func:`_paragraphs`). Failures become ParseError."""
    try:
        tree = load_html(bytes(html) if isinstance(html, bytearray) else html)
        if tree is None:
            return None
        _prune_hidden(tree)
        document: Any = trafilatura.bare_extraction(  # a Document (as_dict defaults to False)
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            date_extraction_params=_DATE_PARAMS,
        )
        body = getattr(document, "body", None)
        if document is not None and body is not None:
            paragraphs = _split_run_together(_paragraphs(body), tree)
            document.text = "\n".join(_restore_repeats(paragraphs, tree))
        return document
    except Exception as exc:  # trafilatura/lxml/htmldate can fail on odd pages
        raise ParseError(f"could not read the page: {type(exc).__name__}: {exc}"[:300]) from exc


# -- main text ------------------------------------------------------------------------

_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)
_NEVER_PRUNED = frozenset({"html", "body"})


def _prune_hidden(tree: Any) -> None:
    """Drop what a reader never sees: elements with the ``hidden`` attribute,
    ``aria-hidden="true"``, or an inline ``display: none``/``visibility: hidden``
    (copies of the text for other screen sizes, templates, dialogs)."""
    doomed = [
        element
        for element in tree.iter()
        if isinstance(element.tag, str)
        and element.tag.lower() not in _NEVER_PRUNED
        and (
            element.get("hidden") is not None
            or (element.get("aria-hidden") or "").strip().lower() == "true"
            or _HIDDEN_STYLE.search(element.get("style") or "")
        )
    ]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


_XML_BLOCKS = frozenset({"p", "head", "item", "row", "quote", "code", "list", "table", "div"})
_LINE_BREAK = "\x00"


def _paragraphs(body: Any) -> list[str]:
    """One paragraph per block of trafilatura's XML body (``p``, ``head``,
    ``item``, ``quote``...), whitespace inside a block collapsed (source
    line breaks in a paragraph are not paragraph breaks), ``<lb/>`` kept as
    a break, a table row as its cells joined with " | "."""
    out: list[str] = []

    def text_of(element: Any) -> str:
        parts = [element.text or ""]
        for child in element:
            parts.append(_LINE_BREAK if child.tag == "lb" else text_of(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def add(text: str | None) -> None:
        for line in (text or "").split(_LINE_BREAK):
            line = " ".join(line.split())
            if line:
                out.append(line)

    def visit(element: Any) -> None:
        if element.tag == "row":
            cells = (" ".join(text_of(cell).split()) for cell in element if cell.tag == "cell")
            add(" | ".join(cell for cell in cells if cell))
        elif any(child.tag in _XML_BLOCKS for child in element):
            add(element.text)
            for child in element:
                visit(child) if child.tag in _XML_BLOCKS else add(text_of(child))
                add(child.tail)
        else:
            add(text_of(element))

    visit(body)
    return out


def _split_run_together(paragraphs: list[str], tree: Any) -> list[str]:
    """Split a paragraph that is a whole source element's blocks run together.

    On a short article trafilatura can fall back to taking the article
    element's text as one paragraph: headline, byline, "Read more:" teasers,
    the text and the share line in one run, where cleaning cannot tell them
    apart. Such a paragraph is split again along the blocks of the innermost
    source element whose text it is, so each is cleaned (or dropped) alone.
    """
    if len(paragraphs) != 1:
        return paragraphs
    flat = "".join(paragraphs[0].split())
    source = None
    for element in tree.iter(*_SOURCE_BLOCKS):  # outer first: the last match is innermost
        if "".join(element.text_content().split()) == flat:
            source = element
    if source is None:
        return paragraphs
    parts: list[str] = []

    def add(text: str | None) -> None:
        if text and text.strip():
            parts.append(" ".join(text.split()))

    def walk(element: Any) -> None:
        if not any(isinstance(c.tag, str) and c.tag in _SOURCE_BLOCKS for c in element):
            add(element.text_content())
            return
        add(element.text)
        for child in element:
            if isinstance(child.tag, str) and child.tag in _SOURCE_BLOCKS:
                walk(child)
            elif isinstance(child.tag, str):
                add(child.text_content())
            add(child.tail)

    walk(source)
    return parts if len(parts) > 1 else paragraphs


_SOURCE_BLOCKS = frozenset(
    "p div li blockquote pre td th dd h1 h2 h3 h4 h5 h6 section article".split()
)
_MIN_REPEAT_CHARS = 40


def _restore_repeats(paragraphs: list[str], tree: Any) -> list[str]:
    """Put back paragraphs the page shows several times in a row.

    trafilatura keeps one of identical neighbouring blocks (it takes them for
    its own artefacts). When the page itself has a paragraph N times among
    the children of one element (hidden copies are already gone), the text
    keeps it N times, after its last kept copy.
    """
    wanted = {p for p in paragraphs if len(p) >= _MIN_REPEAT_CHARS}
    if not wanted:
        return paragraphs
    siblings: dict[tuple[Any, str], int] = {}  # (parent element, text) -> copies
    for element in tree.iter(*_SOURCE_BLOCKS):
        text = " ".join(element.text_content().split())
        if text in wanted and not any(
            " ".join(child.text_content().split()) == text
            for child in element.iter(*_SOURCE_BLOCKS)
            if child is not element
        ):
            key = (element.getparent(), text)  # the key keeps lxml's proxy alive
            siblings[key] = siblings.get(key, 0) + 1
    shown: dict[str, int] = {}
    for (_parent, text), count in siblings.items():
        shown[text] = max(shown.get(text, 0), count)
    kept: dict[str, int] = {}
    for paragraph in paragraphs:
        kept[paragraph] = kept.get(paragraph, 0) + 1
    missing = {text: count - kept[text] for text, count in shown.items() if count > kept[text]}
    if not missing:
        return paragraphs
    last = {p: i for i, p in enumerate(paragraphs) if p in missing}
    out: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        out.append(paragraph)
        if last.get(paragraph) == index:
            out.extend([paragraph] * missing[paragraph])
    return out


def _str(document: Any, name: str) -> str | None:
    value = getattr(document, name, None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None
