"""Cleaning: publisher text/HTML -> plain paragraphs; Entry -> Article."""

from bot.clean.article import to_article
from bot.clean.text import clean_line, clean_text, html_to_text, is_boilerplate, remove_boilerplate

__all__ = [
    "clean_line",
    "clean_text",
    "html_to_text",
    "is_boilerplate",
    "remove_boilerplate",
    "to_article",
]
