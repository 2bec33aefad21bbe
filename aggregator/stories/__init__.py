"""Stories: the same event reported by several outlets, grouped so the digest names them all."""

from aggregator.stories.cluster import (
    ArticleForClustering,
    Story,
    StoryIndex,
    cluster,
    pairwise_scores,
)

__all__ = ["ArticleForClustering", "Story", "StoryIndex", "cluster", "pairwise_scores"]
