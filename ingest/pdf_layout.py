"""Reading order of the text lines of one PDF page, from their boxes.

The order a PDF's content stream draws text in is not always the order it is read in (a
producer may draw the header last, or the right column first), so lines are ordered by
geometry with a recursive XY-cut:

1. If a clear vertical gutter (at least `MIN_GUTTER` points wide, with at least
   `MIN_COLUMN_SHARE` of the region's width on each side) crosses the whole region, read
   the part left of it, then the part right of it -- unless the content stream drew the two
   sides row by row, switching sides again and again: that is a table (a definitions table,
   a price list, signature blocks), and a table is read row by row.
2. Otherwise cut the region into horizontal bands at the gaps between rows; consecutive
   bands that together still have a gutter are kept together (they are the rows of one
   multi-column stretch, e.g. the body below a full-width title), and each group is read in
   turn, top to bottom.
3. A region with neither cut is read row by row, left to right.

Lines that are not horizontal (rotated margin stamps, vertical captions) would chain every
row of the page into one band, so they are read after the page's horizontal text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ingest.records import Rect

MIN_GUTTER = 8.0  # points of clear space between two columns
MIN_COLUMN_SHARE = 0.2  # each side of a gutter holds at least this share of the region's width

T = TypeVar("T")
Entry = tuple[Rect, int, T]  # a line's box, its position in the order the page draws it, the line


def reading_order(items: Sequence[T], rect_of: Callable[[T], Rect],
                  horizontal: Callable[[T], bool] = lambda _: True) -> list[T]:
    """`items` (text lines of one page, in the order the page draws them) sorted into reading order."""
    boxed = [(rect_of(item), index, item) for index, item in enumerate(items) if horizontal(item)]
    ordered = [item for _, _, item in _order(boxed)]
    return ordered + [item for item in items if not horizontal(item)]


def _order(boxed: list[Entry]) -> list[Entry]:
    if len(boxed) < 2:
        return boxed
    split = _gutter(_occupied(boxed))
    if split is not None:
        left = [entry for entry in boxed if entry[0][2] <= split]
        right = [entry for entry in boxed if entry[0][2] > split]
        if not _drawn_row_by_row(left, right):
            return _order(left) + _order(right)
    bands = _bands(boxed)
    if len(bands) == 1:
        return _rows(boxed)
    groups = _group_bands(bands)
    if len(groups) == 1:  # one table, or no cut at all: never recurse on the same region
        return _rows(boxed)
    return [entry for group in groups for entry in _order(group)]


def _drawn_row_by_row(left: list[Entry], right: list[Entry]) -> bool:
    """Whether the page drew the two sides of a gutter alternately (a table), not one after the other."""
    sides = sorted([(entry[1], 0) for entry in left] + [(entry[1], 1) for entry in right])
    switches = sum(a[1] != b[1] for a, b in zip(sides, sides[1:], strict=False))
    return switches >= 3 and switches > min(len(left), len(right)) / 2


def _occupied(boxed: list[Entry]) -> list[tuple[float, float]]:
    """The x-ranges covered by the boxes, merged and sorted."""
    if len(boxed) == 1:
        rect = boxed[0][0]
        return [(rect[0], rect[2])]
    spans = sorted((entry[0][0], entry[0][2]) for entry in boxed)
    merged = [spans[0]]
    for x0, x1 in spans[1:]:
        last0, last1 = merged[-1]
        if x0 <= last1:
            merged[-1] = (last0, max(last1, x1))
        else:
            merged.append((x0, x1))
    return merged


def _union(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for x0, x1 in sorted(a + b):
        if merged and x0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], x1))
        else:
            merged.append((x0, x1))
    return merged


def _gutter(occupied: list[tuple[float, float]]) -> float | None:
    """The x of the leftmost gap that separates two columns, or None when the region is one column."""
    left_edge, right_edge = occupied[0][0], occupied[-1][1]
    width = right_edge - left_edge
    if width <= 0:
        return None
    for (_, gap_start), (gap_end, _) in zip(occupied, occupied[1:], strict=False):
        if (gap_end - gap_start >= MIN_GUTTER
                and gap_start - left_edge >= MIN_COLUMN_SHARE * width
                and right_edge - gap_end >= MIN_COLUMN_SHARE * width):
            return (gap_start + gap_end) / 2
    return None


def _bands(boxed: list[Entry]) -> list[list[Entry]]:
    """Cut into horizontal bands: a line starts a new band unless it overlaps the band by half its height."""
    ordered = sorted(boxed, key=lambda entry: (entry[0][1], entry[0][0]))
    bands = [[ordered[0]]]
    bottom = ordered[0][0][3]
    for entry in ordered[1:]:
        y0, y1 = entry[0][1], entry[0][3]
        if bottom - y0 < 0.5 * (y1 - y0):
            bands.append([entry])
        else:
            bands[-1].append(entry)
        bottom = max(bottom, y1) if len(bands[-1]) > 1 else y1
    return bands


def _group_bands(bands: list[list[Entry]]) -> list[list[Entry]]:
    """Join consecutive bands that share a column gutter, so columns are read one after the other."""
    groups = [list(bands[0])]
    occupied = _occupied(bands[0])
    for band in bands[1:]:
        band_occupied = _occupied(band)
        if (len(occupied) == 1 and len(band_occupied) == 1 and band_occupied[0][0] <= occupied[0][1]
                and occupied[0][0] <= band_occupied[0][1]):
            joined = None  # two overlapping single-column bands (most of a page): no gutter between them
        else:
            joined = _union(occupied, band_occupied)
        if joined is not None and _gutter(joined) is not None:
            groups[-1].extend(band)
            occupied = joined
        else:
            groups.append(list(band))
            occupied = band_occupied
    return groups


def _rows(boxed: list[Entry]) -> list[Entry]:
    """Row by row (a line whose middle lies within the row's first line joins the row), left to right."""
    ordered = sorted(boxed, key=lambda entry: (entry[0][1] + entry[0][3], entry[0][0]))
    result: list[Entry] = []
    row: list[Entry] = []
    row_bottom = float("-inf")
    for entry in ordered:
        middle = (entry[0][1] + entry[0][3]) / 2
        if row and middle > row_bottom:
            result.extend(sorted(row, key=lambda e: e[0][0]))
            row = []
        if not row:
            row_bottom = entry[0][3]
        row.append(entry)
    result.extend(sorted(row, key=lambda e: e[0][0]))
    return result
