"""The partition of an image or a volume into a grid of blocks: one rule for every method.

Block descriptors (LBP-TOP and its variants, HOG-TOP, STCLQP, HOOF, Bi-WOOF, FDM, the
feature-difference and 3-D FFT spotters) cut a face into ``rows x cols`` (x ``time``)
blocks and describe each block on its own. They all cut an axis the same way:

**Rule.** Along an axis of ``n`` indices (pixels, centres or frames) cut into ``k``
blocks, block ``i`` holds the indices ``floor(i n / k) .. floor((i + 1) n / k) - 1``.

So every index is in exactly one block, the blocks cover the axis without gaps, and
their sizes are ``floor(n / k)`` or ``ceil(n / k)``; when ``k`` does not divide ``n`` the
larger blocks are spread along the axis and the last block is always one of them. For
example 10 pixels in 3 blocks give the edges ``0, 3, 6, 10`` (sizes 3, 3, 4), and 62 in
6 give ``0, 10, 20, 31, 41, 51, 62``.

The papers do not say how an uneven size is rounded, and the MATLAB LBP-TOP code of
Hong, Xu & Zhao (2016) leaves it to the user ("the division ... is just an example");
its own example uses ``ceil(n / k)``-sized blocks with a shorter last one. This rule is
the one that treats the blocks most evenly.

Two variants, both derived from the rule:

* **overlap** (:func:`block_ranges`, LBP-TOP's ``overlap``): ``k`` ranges that cover
  ``0 .. n`` and of which neighbours share the fraction ``overlap`` of a block's size;
  ``overlap=0`` gives the rule's blocks.
* **equal sizes** (:func:`block_edges` with ``equal=True``, the 3-D FFT spotter, whose
  blocks must all have one shape): the central ``k * (n // k)`` indices cut by the rule,
  that is ``k`` blocks of ``n // k`` indices; the ``n % k`` indices left over are dropped,
  half (rounded down) before the first block and the rest after the last.

Block numbers of a grid (:func:`block_labels`) run in C order over the axes as given:
for ``(rows, cols)`` block ``(r, c)`` is number ``r * cols + c``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._validate import check_int, check_number, describe

__all__ = ["block_edges", "block_of_index", "block_ranges", "block_labels", "check_grid"]


def _check_axis(n, k, name: str) -> tuple[int, int]:
    n = check_int("n", n, low=0)
    k = check_int(name, k, low=1)
    if k > n:
        raise ValueError(f"{name}={k} blocks are finer than the {n} indices (pixels, centres or frames) along "
                         f"that axis; use at most {n} blocks there")
    return n, k


def block_edges(n: int, k: int, *, equal: bool = False, name: str = "blocks") -> np.ndarray:
    """The ``k + 1`` edges of ``k`` blocks along an axis of ``n`` indices.

    Block ``i`` is ``edges[i] .. edges[i + 1] - 1`` (see the module docstring for the
    rule). With ``equal=True`` all blocks have ``n // k`` indices and the leftover ones
    are dropped at both ends (``edges[0] = (n % k) // 2``).

    Raises ValueError (naming ``name``) when ``k`` exceeds ``n``.

    Examples
    --------
    >>> block_edges(10, 3).tolist(), block_edges(10, 3, equal=True).tolist()
    ([0, 3, 6, 10], [0, 3, 6, 9])
    >>> block_edges(11, 3, equal=True).tolist()
    [1, 4, 7, 10]
    """
    n, k = _check_axis(n, k, name)
    if equal:
        size = n // k
        return (n - k * size) // 2 + np.arange(k + 1, dtype=np.int64) * size
    return (np.arange(k + 1, dtype=np.int64) * n) // k


def block_of_index(n: int, k: int, *, name: str = "blocks") -> np.ndarray:
    """Block number (0 .. k-1, int64) of each of the ``n`` indices of an axis cut into ``k`` blocks.

    Examples
    --------
    >>> block_of_index(10, 3).tolist()
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    """
    edges = block_edges(n, k, name=name)
    return np.repeat(np.arange(k, dtype=np.int64), np.diff(edges))


def block_ranges(n: int, k: int, overlap: float = 0.0, *, name: str = "blocks") -> list[tuple[int, int]]:
    """``k`` half-open ranges ``(start, stop)`` covering ``0 .. n``, neighbours sharing ``overlap``.

    With ``overlap = 0`` these are the rule's blocks (:func:`block_edges`). Otherwise a
    block has ``size = n / (k - (k - 1) overlap)`` indices and block ``i`` starts at
    ``floor(i size (1 - overlap))``; the last block ends at ``n`` and every block holds
    at least one index.

    Examples
    --------
    >>> block_ranges(10, 3)
    [(0, 3), (3, 6), (6, 10)]
    >>> block_ranges(10, 2, 0.5)
    [(0, 6), (3, 10)]
    """
    overlap = check_number("overlap", overlap, low=0.0, high=1.0, high_open=True)
    if overlap == 0.0:
        edges = block_edges(n, k, name=name)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    n, k = _check_axis(n, k, name)
    size = n / (k - (k - 1) * overlap)
    stride = size * (1.0 - overlap)
    out = []
    for i in range(k):
        a = int(np.floor(i * stride + 1e-6))
        b = n if i == k - 1 else int(np.floor(i * stride + size + 1e-6))
        out.append((a, max(b, a + 1)))
    return out


_AXES = {2: "a pair (rows, cols)", 3: "a triple (rows, cols, time)"}


def check_grid(blocks, ndim: int, name: str = "blocks", *, scalar: bool = True) -> tuple[int, ...]:
    """``blocks`` as a tuple of ``ndim`` positive ints.

    With ``scalar`` a single int is accepted and used on every axis.
    """
    if scalar and isinstance(blocks, (int, np.integer)) and not isinstance(blocks, bool):
        blocks = (int(blocks),) * ndim
    try:
        values = tuple(blocks)
    except TypeError:
        values = ()
    if len(values) != ndim:
        what = _AXES.get(ndim, f"{ndim} values, one per axis,")
        raise ValueError(f"{name} must be {what} of positive integers, got {describe(blocks)}")
    return tuple(check_int(f"{name}[{i}]", v, low=1) for i, v in enumerate(values))


@lru_cache(maxsize=64)
def _labels(shape: tuple[int, ...], blocks: tuple[int, ...]) -> np.ndarray:
    lab = np.zeros(shape, dtype=np.intp)
    for axis, (n, k) in enumerate(zip(shape, blocks)):
        index = block_of_index(n, k, name=f"blocks[{axis}]")
        view = [1] * len(shape)
        view[axis] = n
        lab = lab * k + index.reshape(view)
    lab.setflags(write=False)
    return lab


def block_labels(shape, blocks) -> np.ndarray:
    """Block number of every element of a grid of ``shape``, cut ``blocks`` times per axis.

    Parameters
    ----------
    shape : tuple of int
        The grid, e.g. ``(H, W)`` of an image.
    blocks : int or tuple of int
        Blocks per axis, in the order of ``shape`` (an int: the same on every axis).

    Returns
    -------
    numpy.ndarray of intp, shape ``shape`` (read-only)
        Numbers ``0 .. prod(blocks) - 1`` in C order over the axes: for ``(rows, cols)``
        block ``(r, c)`` is ``r * cols + c``.

    Examples
    --------
    >>> block_labels((3, 5), (1, 2))
    array([[0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1]])
    """
    shape = tuple(check_int(f"shape[{i}]", n, low=0) for i, n in enumerate(shape))
    return _labels(shape, check_grid(blocks, len(shape)))
