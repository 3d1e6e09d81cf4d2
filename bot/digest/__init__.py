"""The daily digest: pick a channel's stories, rank them, summarise them."""

from .build import build_digest, digest_window, make_sections
from .history import already_sent, record_sent
from .models import Digest, DigestItem
from .summary import choose_headline, summarize

__all__ = [
    "Digest",
    "DigestItem",
    "already_sent",
    "build_digest",
    "choose_headline",
    "digest_window",
    "make_sections",
    "record_sent",
    "summarize",
]
