"""Story clustering: grouping articles from different outlets about the same event."""

from .cluster import RebuildReport, StoryClusterer

__all__ = ["RebuildReport", "StoryClusterer"]
