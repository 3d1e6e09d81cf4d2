"""Boilerplate rules, as data.

A paragraph is boilerplate when it *entirely* matches one of the patterns
below (they are anchored and case-insensitive) and is no longer than
``MAX_BOILERPLATE_CHARS``, or when it looks like a navigation bar (see the
``NAV_*`` settings). Patterns only ever match whole paragraphs, so a sentence
that merely contains "share" or "subscribe" is never touched. Each pattern
has a comment saying what it catches; tests/test_clean.py holds examples.
"""

from __future__ import annotations

import re

# Longer paragraphs are never boilerplate: real teasers and prompts are short.
MAX_BOILERPLATE_CHARS = 300

# Separator before the teaser text: colon, dash, guillemet, pipe, arrow.
_SEP = r"\s*(?:[:\-–—»>|→]|\.\.\.|…)"

BOILERPLATE_PATTERNS: list[tuple[str, str]] = [
    # "Read more: <headline>", "READ ALSO - ...", "Read next »", "Also read: ..."
    (
        r"(?:also\s+)?(?:read|see|watch|listen)\s+(?:more|also|next|too)(?:" + _SEP + r".*)?",
        "read-more teaser",
    ),
    (r"(?:also|more)\s+read" + _SEP + r".*", "'Also read:' teaser"),
    # "Related: ...", "Related Articles", "Related stories:", "Related coverage"
    (
        r"related(?:\s+(?:articles?|stories|story|posts?|news|coverage|content|reading|links?|topics?))?"
        r"(?:" + _SEP + r".*)?",
        "related-links teaser",
    ),
    # "See also: ...", "Recommended: ...", "More on this story", "Don't miss: ..."
    (
        r"(?:see\s+also|recommended(?:\s+for\s+you)?|more\s+on\s+this(?:\s+story)?|"
        r"don'?t\s+miss|must\s+read|trending(?:\s+now)?|most\s+(?:read|popular)|you\s+may\s+also\s+like|"
        r"you\s+might\s+also\s+like|more\s+stories|more\s+from\s+[\w&'-]+(?:\s+[\w&'-]+){0,3})(?:"
        + _SEP
        + r".*)?",
        "see-also / recommended teaser",
    ),
    # "Click here to read the full story", "Continue reading ...", "Full story here"
    (
        r"(?:click|tap)\s+here\b.*|continue\s+reading\b.*|(?:read\s+the\s+)?full\s+(?:story|article)\s+here\.?",
        "click-here / continue-reading prompt",
    ),
    # "Leave A Reply", "Leave a comment", "Cancel reply", "Post a comment", "Add comment"
    (
        r"(?:leave|post|add|write|submit)\s+(?:a\s+)?(?:reply|comment|response)\b.*|cancel\s+reply",
        "comment-form header",
    ),
    # "Your email address will not be published." / "Required fields are marked *"
    (
        r"your\s+email\s+(?:address\s+)?will\s+not\s+be\s+(?:published|shared)\b.*|"
        r"required\s+fields\s+are\s+marked\b.*",
        "comment-form notice",
    ),
    # "Comments are closed.", "12 Comments", "No comments yet", "Show comments", "Join the conversation"
    (
        r"comments?\s+(?:are\s+)?closed\.?|\d+\s+comments?|no\s+comments(?:\s+yet)?\.?|"
        r"(?:show|view|load|hide)\s+(?:all\s+)?comments?(?:\s*\(\d+\))?|comments?\s*\(\d+\)|"
        r"join\s+the\s+(?:conversation|discussion)\b.*|have\s+your\s+say\b.*|"
        r"(?:what\s+do\s+you\s+think\??\s*)?(?:let\s+us\s+know|tell\s+us)\b.*\bin\s+the\s+comments\b.*",
        "comment prompt",
    ),
    # "Share this:", "Share this article", "Share on Facebook", "Click to share on X (Opens in new window)"
    (
        r"(?:click\s+to\s+)?share(?:\s+(?:this(?:\s+(?:article|story|post|page|video))?|it|now|"
        r"(?:on|via)\s+\w+.{0,40}))?\s*(?::.*|[.!])?",
        "share prompt",
    ),
    # "Tweet", "Pin it", "Email", "Print", "WhatsApp" as lone button labels
    (
        r"tweet(?:\s+this)?|pin\s+it|e-?mail(?:\s+this)?|print(?:\s+this(?:\s+article)?)?|whatsapp|"
        r"copy\s+link|link\s+copied!?",
        "lone share-button label",
    ),
    # "Subscribe to our newsletter", "Sign up for the Morning Brief newsletter", "Subscribe now"
    (
        r"(?:subscribe|sign\s+up)\b.{0,80}\b(?:newsletters?|updates|alerts|mailing\s+list|"
        r"inbox|channel|podcast)\b.*|(?:subscribe|sign\s+up)\s+(?:for\s+free|now|today|here)[.!]?",
        "subscribe / sign-up prompt",
    ),
    (
        r"subscribe(?:\s+now)?[.!]?|sign\s+up[.!]?|(?:get|receive)\s+(?:the\s+)?(?:latest|our|daily|"
        r"breaking)\b.{0,60}\b(?:inbox|email|newsletter)\b.*",
        "subscribe button / inbox pitch",
    ),
    # "Follow us on Twitter", "Like us on Facebook", "Join our Telegram channel", "Download our app"
    (
        r"(?:follow|like|find|join|connect\s+with)\s+us\s+(?:on|at)\b.*|"
        r"(?:join|follow)\s+our\s+\w+\s+(?:channel|group|page)\b.*|download\s+(?:our|the)\s+\w*\s*app\b.*",
        "follow-us prompt",
    ),
    # "We use cookies ...", "This website uses cookies ...", "Accept cookies", "Cookie policy"
    (
        r"(?:we|this\s+(?:web)?site)\s+uses?\s+cookies\b.*|.{0,120}\buse\s+of\s+cookies\b.*|"
        r"(?:accept|manage|reject)\s+(?:all\s+)?cookies\.?|cookie\s+(?:policy|settings|preferences)\.?",
        "cookie notice",
    ),
    # "Advertisement", "ADVERTISEMENT", "Sponsored", "Story continues below advertisement"
    (
        r"advertisements?|advertising|sponsored(?:\s+content)?|ad|"
        r"(?:story|article|content)\s+continues\s+(?:below|after)\b.*|skip\s+(?:advertisement|ad)|"
        r"scroll\s+to\s+continue\s+with\s+content|continue\s+reading\s+below",
        "advertisement marker",
    ),
    # "© 2023 Example Media. All rights reserved.", "Copyright 2024 The AP. ...", "All rights reserved."
    (
        r"©.{0,250}|(?:\(c\)|copyright)\s*(?:©|\(c\))?\s*\d{4}\b.{0,250}|"
        r".{0,200}\ball\s+rights\s+reserved\b.{0,200}",
        "copyright line",
    ),
    # "Tags: a, b, c", "Filed under: ...", "Posted in World | Tagged ...", "Topics: ..."
    (
        r"(?:tags?|tagged(?:\s+with)?|filed\s+under|posted\s+in|topics|categories|keywords)\s*:.*|"
        r"posted\s+in\s+.{1,100}\|\s*tagged\b.*",
        "tag / category list",
    ),
    # "Original Story at – 2023-09-17 08:32:58" when left in a body
    (
        r"original(?:ly)?\s+(?:story|article|published|posted)(?:\s+(?:at|on|in))?"
        + _SEP
        + r"?\s*\d.{0,60}",
        "original-story date stamp",
    ),
    # "Loading...", "Please enable JavaScript", "Sign in to continue", "Log in to comment"
    (
        r"loading\s*(?:\.\.\.|…)?|please\s+enable\s+javascript\b.*|javascript\s+is\s+(?:disabled|required)\b.*|"
        r"(?:sign|log)\s+in(?:\s+to\s+(?:continue|comment|reply|read)\b.*)?",
        "page chrome",
    ),
    # "Image: Getty Images", "Photo credit: Reuters" as lone credit lines
    (
        r"(?:image|photo|picture)(?:\s+(?:credit|source))?\s*:\s*[\w .,/&'-]{1,60}",
        "lone image credit",
    ),
]

# Glued metadata trailer, e.g. "103257593Articlegeneral newsmediaWorld News":
# a long numeric id glued to a content kind, lowercase tags, then the category.
GLUED_TRAILER = re.compile(
    r"^\d{5,}(?P<kind>[A-Z][a-z]+)(?P<tags>[a-z ]*?)(?P<category>[A-Z][\w&' -]{1,60})$"
)

# Navigation bars: a short line split by these separators into many short,
# capitalised items and no sentence ending, e.g. "News | Sport | Weather".
NAV_SEPARATORS = re.compile(r"\s*(?:,|\||•|·|»|/|–|—|::|\s-\s)\s*")
NAV_MAX_CHARS = 200
NAV_MIN_ITEMS = 3
NAV_MAX_WORDS_PER_ITEM = 4
SENTENCE_END = re.compile(r"[.!?:;\"”’)]$")

# Names that make up share bars like "Facebook Twitter LinkedIn Email".
SOCIAL_WORDS = frozenset(
    "facebook twitter x linkedin email e-mail whatsapp telegram reddit pinterest print "
    "messenger flipboard tumblr threads bluesky mastodon instagram youtube tiktok share "
    "copy link sms pocket".split()
)

BOILERPLATE = re.compile(
    "|".join(f"(?:{pattern})" for pattern, _why in BOILERPLATE_PATTERNS),
    re.IGNORECASE,
)
