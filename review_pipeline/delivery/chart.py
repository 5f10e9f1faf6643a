"""The email's chart: a grouped bar chart drawn straight into a PNG.

Why not matplotlib or Pillow: neither is installed here, and both would need
a CJK font (which no server or CI machine can be assumed to have) to draw
Chinese labels. So the picture carries no text at all: bars, a baseline and
grid lines. Category names, series names and values are HTML next to it
(:func:`review_pipeline.delivery.message.render_html`), which every mail
client renders with its own fonts and which still reads when images are
blocked. What is left to draw is rectangles, which zlib and struct encode in
a few lines.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

#: Series colours (RGB), also used for the legend swatches in the HTML.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0x9A, 0xA5, 0xB1),  # grey: the target
    (0x1F, 0x6F, 0xB2),  # blue: the forecast / actual
    (0xE0, 0x8A, 0x1E),
    (0x2E, 0x9E, 0x5B),
    (0xB0, 0x3A, 0x2E),
)
_WHITE = (0xFF, 0xFF, 0xFF)
_GRID = (0xE3, 0xE7, 0xEB)
_AXIS = (0x55, 0x5F, 0x6B)


def colour_hex(index: int) -> str:
    """``#rrggbb`` of series ``index`` (cycles through :data:`PALETTE`)."""
    r, g, b = PALETTE[index % len(PALETTE)]
    return f"#{r:02x}{g:02x}{b:02x}"


def encode_png(width: int, height: int, pixels: bytearray) -> bytes:
    """An RGB, 8-bit PNG of ``pixels`` (``width * height * 3`` bytes, rows top down)."""
    if len(pixels) != width * height * 3:
        raise ValueError("pixel buffer does not match the image size")
    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride : (y + 1) * stride]) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def chart_series(
    chart: Mapping[str, Any] | None,
) -> tuple[list[str], list[tuple[str, list[float]]]]:
    """(categories, [(series name, values)]) of a summary's chart, cleaned.

    Values that are missing or not numbers count as 0; every series is cut or
    padded to the number of categories.
    """
    if not chart:
        return [], []
    categories = [str(c) for c in chart.get("categories") or []]
    series: list[tuple[str, list[float]]] = []
    for item in chart.get("series") or []:
        values = [_number(v) for v in (item.get("values") or [])][: len(categories)]
        values += [0.0] * (len(categories) - len(values))
        series.append((str(item.get("name") or ""), values))
    return categories, series


def render_bar_chart(
    chart: Mapping[str, Any] | None, *, width: int = 560, height: int = 220
) -> bytes | None:
    """A PNG of the chart's grouped bars, or None when there is nothing to draw."""
    categories, series = chart_series(chart)
    if not categories or not series:
        return None
    top = max((max(values) for _, values in series), default=0.0)
    bottom = min(0.0, min((min(values) for _, values in series), default=0.0))
    if top <= bottom:
        top = bottom + 1.0
    pixels = bytearray(_WHITE * (width * height))

    def fill(x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(height, max(y0, y1))
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * width + x0) * 3
            pixels[start : start + len(row)] = row

    margin_x, margin_top, margin_bottom = 8, 8, 8
    plot_h = height - margin_top - margin_bottom
    scale = plot_h / (top - bottom)

    def y_of(value: float) -> int:
        return margin_top + round((top - value) * scale)

    for step in range(1, 5):  # four grid lines
        y = y_of(bottom + (top - bottom) * step / 4)
        fill(margin_x, y, width - margin_x, y + 1, _GRID)
    group_w = (width - 2 * margin_x) / len(categories)
    bar_w = max(1, int(group_w * 0.8 / len(series)))
    for c in range(len(categories)):
        x = margin_x + int(c * group_w + group_w * 0.1)
        for s, (_, values) in enumerate(series):
            fill(x + s * bar_w, y_of(values[c]), x + (s + 1) * bar_w - 1, y_of(0.0), PALETTE[s % 5])
    zero = y_of(0.0)
    fill(margin_x, zero, width - margin_x, zero + 1, _AXIS)
    return encode_png(width, height, pixels)


def decode_png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header; raises ValueError when it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


__all__: Sequence[str] = (
    "PALETTE",
    "chart_series",
    "colour_hex",
    "decode_png_size",
    "encode_png",
    "render_bar_chart",
)
