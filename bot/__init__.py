"""Newsdesk: a self-hosted Discord bot that turns the news into a daily briefing."""

__version__ = "0.1.0"
