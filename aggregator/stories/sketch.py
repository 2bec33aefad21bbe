"""MinHash signatures and the LSH band index over them, in numpy.

A signature is ``num_perm`` uint32 values of datasketch's "affine32" scheme (crc32 of each
term, the MurmurHash3 finalizer, then ``a * h + b`` modulo 2**32 per permutation, with the
permutations drawn from a fixed seed), stored as little-endian bytes. The tests check that
it equals ``datasketch.MinHash(..., scheme="affine32")`` value for value. It is computed
here rather than by datasketch because importing datasketch imports scipy (~58 MB resident
in a daemon with a 300 MB budget) and its LSH tables hold ~5.6 KB per article in Python
objects; the band index below holds 16 bytes per band.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

SEED = 20250501  # changing it invalidates every stored signature
_DTYPE = np.dtype("<u4")
_MAX = np.uint32(0xFFFFFFFF)  # an empty set's value
# MurmurHash3's 32-bit finalizer (fmix32): shifts and multipliers.
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))

Signature = npt.NDArray[np.uint32]


class Sketcher:
    """Computes, encodes and decodes signatures with one shared set of permutations."""

    def __init__(self, num_perm: int) -> None:
        self.num_perm = num_perm
        # The draws of datasketch's affine32 scheme for this seed: an odd a, any b.
        gen = np.random.RandomState(SEED)
        self._a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + 1
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)

    def minhash(self, items: Iterable[str]) -> Signature:
        hashes = np.fromiter((zlib.crc32(item.encode("utf-8")) for item in items), dtype=np.uint32)
        if not len(hashes):
            return np.full(self.num_perm, _MAX, dtype=np.uint32)
        mixed = _fmix32(hashes).reshape(-1, 1)
        return (mixed * self._a + self._b).min(axis=0)

    def to_bytes(self, sketch: Signature) -> bytes:
        return np.asarray(sketch, dtype=_DTYPE).tobytes()

    def from_bytes(self, data: bytes) -> Signature:
        if len(data) != self.num_perm * _DTYPE.itemsize:
            raise ValueError(f"signature has {len(data)} bytes, expected {self.num_perm * 4}")
        return np.frombuffer(data, dtype=_DTYPE).astype(np.uint32)


def _fmix32(values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    s1, m1, s2, m2 = _FMIX
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s1)


class Buckets:
    """LSH banding: rows whose signatures agree on every value of one band are candidates.

    Each band of a signature becomes one 64-bit key (its values folded, with a per-band
    salt). New keys go to a small unsorted buffer (compared in one step); a full buffer is
    sealed into a sorted segment, and segments of similar size are merged, so a query
    searches a handful of sorted arrays for all its bands at once. Removing a row only bumps
    its generation: stale keys are skipped by queries and dropped by merges, so a reused row
    never answers for its previous signature. Memory: 16 bytes per band of a live article (key,
    row, generation), and the keys of removed rows until a merge drops them.
    """

    BUFFER = 1024  # rows compared one by one before they are sorted into a segment

    def __init__(self, num_perm: int, bands: int) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm {num_perm} is not a multiple of bands {bands}")
        self.bands, self._width = bands, num_perm // bands
        self._salt = np.random.RandomState(SEED).randint(0, 1 << 63, bands, dtype=np.uint64)
        self._generation = np.zeros(256, dtype=np.uint32)
        self._buffer = np.zeros((self.BUFFER, bands), dtype=np.uint64)
        self._buffer_rows = np.zeros(self.BUFFER, dtype=np.int32)
        self._filled = 0
        self._segments: list[_Segment] = []

    def insert(self, row: int, sketch: Signature) -> None:
        self._ensure_row(row)
        if self._filled == self.BUFFER:
            self._seal()
        self._buffer[self._filled] = self.keys(sketch)
        self._buffer_rows[self._filled] = row
        self._filled += 1

    def query(self, sketch: Signature) -> list[int]:
        keys = self.keys(sketch)
        found = [segment.find(keys, self._generation) for segment in self._segments]
        hits = (self._buffer[: self._filled] == keys).any(axis=1)
        found.append(self._buffer_rows[: self._filled][hits])
        rows = np.concatenate(found)
        return np.unique(rows).tolist() if len(rows) else []

    def remove(self, row: int) -> None:
        self._ensure_row(row)
        self._generation[row] += 1
        if self._filled:  # a row still in the buffer is dropped there at once
            kept = self._buffer_rows[: self._filled] != row
            if not kept.all():
                count = int(kept.sum())
                self._buffer[:count] = self._buffer[: self._filled][kept]
                self._buffer_rows[:count] = self._buffer_rows[: self._filled][kept]
                self._filled = count

    def keys(self, sketch: Signature) -> npt.NDArray[np.uint64]:
        """One key per band: the band's values folded into 64 bits, salted by band."""
        bands = np.asarray(sketch, dtype=np.uint64).reshape(self.bands, self._width)
        folded = bands[:, 0].copy()
        for column in range(1, self._width):
            folded = (folded << np.uint64(32)) ^ (folded >> np.uint64(32)) ^ bands[:, column]
        return folded ^ self._salt

    def _seal(self) -> None:
        rows = self._buffer_rows[: self._filled]
        sealed = _Segment.build(self._buffer[: self._filled], rows, self._generation[rows])
        self._segments.append(sealed)
        self._filled = 0
        while len(self._segments) > 1 and len(self._segments[-2]) <= 2 * len(self._segments[-1]):
            newer = self._segments.pop()
            self._segments[-1] = _Segment.merge([self._segments[-1], newer], self._generation)
        stale = sum(segment.stale(self._generation) for segment in self._segments)
        if 2 * stale > sum(map(len, self._segments)):  # after a busy spell: mostly dead keys
            self._segments = [_Segment.merge(self._segments, self._generation)]

    def _ensure_row(self, row: int) -> None:
        if row >= len(self._generation):
            grown = np.zeros(max(row + 1, 2 * len(self._generation)), dtype=np.uint32)
            grown[: len(self._generation)] = self._generation
            self._generation = grown


class _Segment:
    """Sealed keys, sorted, with the row and the row's generation at insertion."""

    def __init__(
        self,
        keys: npt.NDArray[np.uint64],
        rows: npt.NDArray[np.int32],
        generations: npt.NDArray[np.uint32],
    ) -> None:
        self.keys, self.rows, self.generations = keys, rows, generations

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(
        cls,
        keys: npt.NDArray[np.uint64],
        rows: npt.NDArray[np.int32],
        generations: npt.NDArray[np.uint32],
    ) -> _Segment:
        bands = keys.shape[1]
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")
        return cls(flat[order], np.repeat(rows, bands)[order], np.repeat(generations, bands)[order])

    @classmethod
    def merge(cls, segments: list[_Segment], generation: npt.NDArray[np.uint32]) -> _Segment:
        """The segments in one, without the keys of rows removed since."""
        keys = np.concatenate([s.keys for s in segments])
        rows = np.concatenate([s.rows for s in segments])
        generations = np.concatenate([s.generations for s in segments])
        current = generations == generation[rows]
        keys, rows, generations = keys[current], rows[current], generations[current]
        order = np.argsort(keys, kind="stable")  # sorted runs: merged, not sorted anew
        return cls(keys[order], rows[order], generations[order])

    def stale(self, generation: npt.NDArray[np.uint32]) -> int:
        """How many keys are of rows removed since."""
        return int(np.count_nonzero(self.generations != generation[self.rows]))

    def find(
        self, keys: npt.NDArray[np.uint64], generation: npt.NDArray[np.uint32]
    ) -> npt.NDArray[np.int32]:
        """The current rows stored under any of ``keys``."""
        start = np.searchsorted(self.keys, keys, side="left")
        end = np.searchsorted(self.keys, keys, side="right")
        hit = np.flatnonzero(end > start)
        if not len(hit):
            return _NO_ROWS
        picked = np.concatenate([np.arange(start[i], end[i]) for i in hit.tolist()])
        rows = self.rows[picked]
        return rows[self.generations[picked] == generation[rows]]


_NO_ROWS = np.zeros(0, dtype=np.int32)


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

    def put(self, key: int, sketch: Signature, group: int) -> int:
        """Store a signature; returns its row."""
        if not self._free:
            self._grow()
        row = self._free.pop()
        self._matrix[row] = sketch
        self._group[row] = group
        self._key[row] = key
        self._row_of[key] = row
        return row

    def get(self, key: int) -> Signature | None:
        row = self._row_of.get(key)
        return None if row is None else self._matrix[row].copy()

    def drop(self, key: int) -> int | None:
        """Forget a key; returns the row it had."""
        row = self._row_of.pop(key, None)
        if row is not None:
            self._free.append(row)
        return row

    def closest(
        self,
        rows: list[int],
        sketch: Signature,
        group: int,
        floors: tuple[float, float],
        limit: int,
    ) -> list[int]:
        """Keys of the ``limit`` rows with the highest estimated Jaccard similarity to ``sketch``.

        A row is kept only if its estimate reaches ``floors[0]`` (same group as ``group``) or
        ``floors[1]`` (another group). Ties go to the smaller key, so the result is stable.
        """
        index = np.asarray(rows, dtype=np.int64)
        estimates = np.count_nonzero(self._matrix[index] == sketch, axis=1)
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
