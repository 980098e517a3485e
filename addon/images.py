"""Draw the add-on's icon.png (128x128) and logo.png (250x100) with only the standard library.

The Supervisor shows both from the add-on's folder (the repository root). Run
`python addon/images.py` after changing a drawing; the PNGs are committed.
"""

import math
import struct
import sys
import zlib
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPERSAMPLE = 4  # 4x4 samples a pixel: smooth edges without an anti-aliasing rasterizer
BLUE_TOP, BLUE_BOTTOM = (37, 99, 235), (30, 58, 138)
SHEET, FOLD, INK = (248, 250, 252), (191, 219, 254), (30, 41, 59)


class Canvas:
    """An RGBA image painted at SUPERSAMPLE times its size, with opaque paint only."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
        self.samples: list = [None] * (self.size[0] * self.size[1])

    def paint(self, inside, colour, box) -> None:
        """Set every sample whose centre is `inside(x, y)` (pixel units) within `box`."""
        x0, y0, x1, y1 = (max(0, int(v * SUPERSAMPLE)) for v in box)
        x1, y1 = min(self.size[0], x1 + 1), min(self.size[1], y1 + 1)
        for sy in range(y0, y1):
            y = (sy + 0.5) / SUPERSAMPLE
            row = sy * self.size[0]
            for sx in range(x0, x1):
                x = (sx + 0.5) / SUPERSAMPLE
                if inside(x, y):
                    self.samples[row + sx] = colour(x, y) if callable(colour) else colour

    def pixels(self) -> bytes:
        """Scanlines of 8-bit RGBA: colour averaged over painted samples, alpha = coverage."""
        out = bytearray()
        n = SUPERSAMPLE * SUPERSAMPLE
        for py in range(self.height):
            out.append(0)  # PNG filter type 0 (None) for this scanline
            for px in range(self.width):
                painted = [self.samples[(py * SUPERSAMPLE + dy) * self.size[0]
                                        + px * SUPERSAMPLE + dx]
                           for dy in range(SUPERSAMPLE) for dx in range(SUPERSAMPLE)]
                painted = [c for c in painted if c is not None]
                if not painted:
                    out += b"\0\0\0\0"
                    continue
                out += bytes(round(sum(c[i] for c in painted) / len(painted)) for i in range(3))
                out.append(round(255 * len(painted) / n))
        return bytes(out)


def png(canvas: Canvas) -> bytes:
    """The canvas as a PNG file (RGBA, 8 bits per channel)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", canvas.width, canvas.height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(canvas.pixels(), 9)) + chunk(b"IEND", b""))


def rounded_rect(x0, y0, x1, y1, r):
    """Inside test for a rectangle with corners rounded to radius r."""
    def inside(x, y):
        cx, cy = min(max(x, x0 + r), x1 - r), min(max(y, y0 + r), y1 - r)
        return x0 <= x <= x1 and y0 <= y <= y1 and (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    return inside


def polygon(points):
    """Inside test for a simple polygon (even-odd rule)."""
    def inside(x, y):
        hit = False
        for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True):
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                hit = not hit
        return hit
    return inside


def near_segment(a, b, half_width):
    """Inside test for a segment drawn with a round pen of the given half width."""
    (ax, ay), (bx, by) = a, b
    length2 = (bx - ax) ** 2 + (by - ay) ** 2 or 1e-9

    def inside(x, y):
        t = min(1.0, max(0.0, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / length2))
        return (x - ax - t * (bx - ax)) ** 2 + (y - ay - t * (by - ay)) ** 2 <= half_width ** 2
    return inside


def gradient(top, bottom, y0, y1):
    """A vertical colour gradient between two rows."""
    def colour(x, y):
        t = min(1.0, max(0.0, (y - y0) / (y1 - y0)))
        return tuple(a + (b - a) * t for a, b in zip(top, bottom, strict=True))
    return colour


def draw_icon(canvas: Canvas, left: float, top: float, size: float) -> None:
    """A .strm sheet with a play mark on a blue tile, in the square at (left, top)."""
    def at(x, y):
        return (left + x * size / 128, top + y * size / 128)

    def box(points):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return (min(xs), min(ys), max(xs), max(ys))

    tile = (*at(4, 4), *at(124, 124))
    canvas.paint(rounded_rect(*tile, 26 * size / 128),
                 gradient(BLUE_TOP, BLUE_BOTTOM, tile[1], tile[3]), tile)
    sheet = [at(34, 20), at(78, 20), at(96, 38), at(96, 108), at(34, 108)]
    canvas.paint(polygon(sheet), SHEET, box(sheet))
    fold = [at(78, 20), at(78, 38), at(96, 38)]
    canvas.paint(polygon(fold), FOLD, box(fold))
    play = [at(52, 50), at(52, 90), at(82, 70)]
    canvas.paint(polygon(play), gradient(BLUE_TOP, BLUE_BOTTOM, tile[1], tile[3]), box(play))


def arc(cx, cy, rx, ry, start, end, steps=14):
    """Points on an elliptical arc, angles in degrees (counter-clockwise, y up)."""
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
             cy + ry * math.sin(math.radians(start + (end - start) * i / steps)))
            for i in range(steps + 1)]


# Lower-case strokes in glyph units: x across the letter's width, y up from the baseline
# (0) to the x-height (1); ascenders reach 1.35, descenders -0.45.
GLYPHS = {
    "s": (1.0, [arc(0.5, 0.75, 0.42, 0.25, 25, 270), arc(0.5, 0.25, 0.42, 0.25, 90, -155)]),
    "t": (0.8, [[(0.35, 1.35), (0.35, 0.2), (0.5, 0.0), (0.75, 0.02)],
                [(0.0, 1.0), (0.75, 1.0)]]),
    "r": (0.75, [[(0.12, 0.0), (0.12, 1.0)], arc(0.6, 0.5, 0.48, 0.48, 180, 80)]),
    "m": (1.45, [[(0.08, 0.0), (0.08, 1.0)],
                 [(0.08, 0.55)] + arc(0.395, 0.55, 0.315, 0.45, 180, 0) + [(0.71, 0.0)],
                 [(0.71, 0.55)] + arc(1.025, 0.55, 0.315, 0.45, 180, 0) + [(1.34, 0.0)]]),
    "y": (1.0, [[(0.05, 1.0), (0.5, 0.02)], [(0.95, 1.0), (0.3, -0.45)]]),
    "n": (1.0, [[(0.1, 0.0), (0.1, 1.0)],
                [(0.1, 0.55)] + arc(0.5, 0.55, 0.4, 0.45, 180, 0) + [(0.9, 0.0)]]),
    "c": (1.0, [arc(0.55, 0.5, 0.45, 0.5, 50, 310)]),
}


def draw_text(canvas: Canvas, text: str, left: float, baseline: float, x_height: float,
              pen: float, gap: float) -> None:
    """Write `text` with the stroke glyphs above, in INK."""
    x = left
    for char in text:
        width, strokes = GLYPHS[char]
        for stroke in strokes:
            points = [(x + u * x_height * 0.62, baseline - v * x_height) for u, v in stroke]
            for a, b in pairwise(points):
                box = (min(a[0], b[0]) - pen, min(a[1], b[1]) - pen,
                       max(a[0], b[0]) + pen, max(a[1], b[1]) + pen)
                canvas.paint(near_segment(a, b, pen / 2), INK, box)
        x += width * x_height * 0.62 + gap


def icon() -> bytes:
    """The 128x128 store icon."""
    canvas = Canvas(128, 128)
    draw_icon(canvas, 0, 0, 128)
    return png(canvas)


def logo() -> bytes:
    """The 250x100 logo: the icon and the name."""
    canvas = Canvas(250, 100)
    draw_icon(canvas, 6, 14, 72)
    draw_text(canvas, "strmsync", left=90, baseline=60, x_height=24, pen=5.2, gap=4)
    return png(canvas)


def main() -> int:
    """Write icon.png and logo.png into the add-on's folder."""
    (ROOT / "icon.png").write_bytes(icon())
    (ROOT / "logo.png").write_bytes(logo())
    return 0


if __name__ == "__main__":
    sys.exit(main())
