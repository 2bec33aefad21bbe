"""MinHash signatures and the LSH tables over them (datasketch).

A signature is stored as bytes: ``num_perm`` little-endian uint32 values of the
datasketch "affine32" scheme. The permutations come from a fixed seed, so a signature
written by one process is comparable with one computed by another, and an index can be
rebuilt from stored signatures without hashing any text again.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

SCHEME = "affine32"
SEED = 20250501  # changing it invalidates every stored signature
_DTYPE = np.dtype("<u4")


def _crc32(data: bytes) -> int:
    # Stable across processes (unlike hash()), and several times faster than SHA-1.
    return zlib.crc32(data)


class Sketcher:
    """Computes and decodes signatures with one shared set of permutations."""

    def __init__(self, num_perm: int) -> None:
        self.num_perm = num_perm
        self._template = MinHash(num_perm=num_perm, seed=SEED, hashfunc=_crc32, scheme=SCHEME)

    def minhash(self, items: Iterable[str]) -> MinHash:
        sketch = self._empty()
        sketch.update_batch([item.encode("utf-8") for item in items])
        return sketch

    def to_bytes(self, sketch: MinHash) -> bytes:
        return np.asarray(sketch.hashvalues, dtype=_DTYPE).tobytes()

    def from_bytes(self, data: bytes) -> MinHash:
        if len(data) != self.num_perm * _DTYPE.itemsize:
            raise ValueError(f"signature has {len(data)} bytes, expected {self.num_perm * 4}")
        values = np.frombuffer(data, dtype=_DTYPE).astype(np.uint32)
        return MinHash(
            seed=SEED,
            hashfunc=_crc32,
            hashvalues=values,
            permutations=self._template.permutations,
            scheme=SCHEME,
        )

    def _empty(self) -> MinHash:
        return MinHash(
            num_perm=self.num_perm,
            seed=SEED,
            hashfunc=_crc32,
            permutations=self._template.permutations,
            scheme=SCHEME,
        )


class Buckets:
    """MinHashLSH keyed by table row, with removal for articles leaving the time window."""

    def __init__(self, num_perm: int, bands: int) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm {num_perm} is not a multiple of bands {bands}")
        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, num_perm // bands))

    def insert(self, key: int, sketch: MinHash) -> None:
        self._lsh.insert(key, sketch, check_duplication=False)

    def query(self, sketch: MinHash) -> list[int]:
        return self._lsh.query(sketch)

    def remove(self, key: int) -> None:
        if key in self._lsh:
            self._lsh.remove(key)


class SignatureTable:
    """Live signatures in one matrix, to estimate many Jaccard similarities in one step.

    Each article gets a row; the LSH tables are keyed by row, so a query's answer indexes
    the matrix directly. A row is reused once its article has expired.
    """

    def __init__(self, num_perm: int) -> None:
        self._matrix = np.zeros((256, num_perm), dtype=np.uint32)
        self._group = np.zeros(256, dtype=np.int64)  # e.g. the language, as a small int
        self._key = np.zeros(256, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._free: list[int] = list(range(255, -1, -1))

    def put(self, key: int, sketch: MinHash, group: int) -> int:
        """Store a signature; returns its row."""
        if not self._free:
            self._grow()
        row = self._free.pop()
        self._matrix[row] = sketch.hashvalues
        self._group[row] = group
        self._key[row] = key
        self._row_of[key] = row
        return row

    def drop(self, key: int) -> int | None:
        """Forget a key; returns the row it had."""
        row = self._row_of.pop(key, None)
        if row is not None:
            self._free.append(row)
        return row

    def closest(
        self, rows: list[int], sketch: MinHash, group: int, floors: tuple[float, float], limit: int
    ) -> list[int]:
        """Keys of the ``limit`` rows with the highest estimated Jaccard similarity to ``sketch``.

        A row is kept only if its estimate reaches ``floors[0]`` (same group as ``group``) or
        ``floors[1]`` (another group). Ties go to the smaller key, so the result is stable.
        """
        index = np.asarray(rows, dtype=np.int64)
        estimates = np.count_nonzero(self._matrix[index] == sketch.hashvalues, axis=1)
        estimates = estimates / self._matrix.shape[1]
        floor = np.where(self._group[index] == group, floors[0], floors[1])
        kept = np.flatnonzero(estimates >= floor)
        keys = self._key[index[kept]]
        order = np.lexsort((keys, -estimates[kept]))[:limit]
        return keys[order].tolist()

    def _grow(self) -> None:
        size = len(self._matrix)
        self._matrix = np.concatenate([self._matrix, np.zeros_like(self._matrix)])
        self._group = np.concatenate([self._group, np.zeros_like(self._group)])
        self._key = np.concatenate([self._key, np.zeros_like(self._key)])
        self._free.extend(range(2 * size - 1, size - 1, -1))
