"""Weighted random draws: the few helpers every part of the synthetic catalogue uses."""

import bisect
import itertools


def zipf(n, s=1.0):
    """Cumulative Zipf weights over n ranks, the first the heaviest; s=0 is uniform."""
    return list(itertools.accumulate(1 / rank**s for rank in range(1, n + 1)))


def weighted(pairs):
    """(items, cumulative weights) from (item, weight) pairs."""
    items, weights = zip(*pairs, strict=True)
    return list(items), list(itertools.accumulate(weights))


def draw(rng, choices):
    """One of (items, cumulative weights), as Random.choices() picks it but a few times faster."""
    items, cum_weights = choices
    return items[bisect.bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(items) - 1)]


def how_many(rng, weights):
    """A number from 0, 1, 2... drawn with the given weights."""
    return rng.choices(range(len(weights)), weights=weights)[0]


def distinct(rng, items, cum_weights, k):
    """k different items, each drawn with the given weights."""
    chosen = []
    while len(chosen) < min(k, len(items)):
        item = draw(rng, (items, cum_weights))
        if item not in chosen:
            chosen.append(item)
    return chosen


def capitalise(text):
    return text[:1].upper() + text[1:]
