"""Deterministic embeddings: texts that share words (or word pieces) get close vectors.

Each lower-cased word and each character trigram of it is hashed (BLAKE2b, so the same text
gives the same vector in every process) into one of `dimensions` buckets with a sign; the
vector is L2-normalised. Cosine similarity then measures overlap of vocabulary, which is
enough to test hybrid retrieval end to end without a model.
"""

from __future__ import annotations

import hashlib
import math
import re

_WORD = re.compile(r"\w+", re.UNICODE)


def _features(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    features = [f"w:{word}" for word in words]
    for word in words:
        padded = f"^{word}$"
        features += [f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2)]
    return features


def embed(text: str, dimensions: int) -> list[float]:
    """The text's vector (all zeros for text without words)."""
    vector = [0.0] * dimensions
    for feature in _features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "big") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        weight = 1.0 if feature.startswith("w:") else 0.5
        vector[bucket] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def count_tokens(text: str) -> int:
    """A rough token count (words), for the `usage` block."""
    return len(_WORD.findall(text))
