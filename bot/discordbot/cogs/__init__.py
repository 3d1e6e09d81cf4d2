"""Slash-command groups, one cog per topic."""
