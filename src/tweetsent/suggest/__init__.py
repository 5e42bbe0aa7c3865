"""``tweetsent suggest``: which unlabelled tweets to label next (active learning).

Ranks a pool of tweets by the run's uncertainty (margin, entropy, least confidence) with
diversity over sentence embeddings, or at random as the check.
"""

from tweetsent.suggest.core import STRATEGIES, select, suggest, uncertainty, write_suggestions

__all__ = ["STRATEGIES", "select", "suggest", "uncertainty", "write_suggestions"]
