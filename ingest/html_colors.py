"""CSS colours, as far as telling whether text can be seen against its background."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Color:
    """An sRGB colour (0-255 channels) and its opacity (0-1)."""

    red: float
    green: float
    blue: float
    alpha: float = 1.0


# The names a page is likely to hide text with: white and near-white, black, the basics.
_NAMED = {
    "white": (255, 255, 255), "snow": (255, 250, 250), "ivory": (255, 255, 240),
    "ghostwhite": (248, 248, 255), "whitesmoke": (245, 245, 245), "azure": (240, 255, 255),
    "mintcream": (245, 255, 250), "floralwhite": (255, 250, 240), "seashell": (255, 245, 238),
    "black": (0, 0, 0), "silver": (192, 192, 192), "gray": (128, 128, 128),
    "grey": (128, 128, 128), "red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255),
    "yellow": (255, 255, 0), "navy": (0, 0, 128), "maroon": (128, 0, 0),
}
_HEX = re.compile(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")
_FUNCTION = re.compile(r"rgba?\(([^)]*)\)")


def parse_color(value: str) -> Color | None:
    """A CSS colour value (#hex, rgb()/rgba(), a common name, transparent), else None."""
    value = value.strip().lower()
    if value == "transparent":
        return Color(0, 0, 0, 0.0)
    if value in _NAMED:
        return Color(*_NAMED[value])
    if match := _HEX.fullmatch(value):
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(d * 2 for d in digits)
        channels = [int(digits[i:i + 2], 16) for i in range(0, len(digits), 2)]
        alpha = channels[3] / 255 if len(channels) == 4 else 1.0
        return Color(channels[0], channels[1], channels[2], alpha)
    if match := _FUNCTION.fullmatch(value):
        return _from_function(match.group(1))
    return None


def _from_function(arguments: str) -> Color | None:
    parts = [p for p in re.split(r"[\s,/]+", arguments.strip()) if p]
    if len(parts) not in (3, 4):
        return None
    try:
        channels = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
        alpha = 1.0
        if len(parts) == 4:
            alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
    except ValueError:
        return None
    red, green, blue = (min(255.0, max(0.0, c)) for c in channels)
    return Color(red, green, blue, min(1.0, max(0.0, alpha)))


def contrast(first: Color, second: Color) -> float:
    """The WCAG contrast ratio of two colours: 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: Color) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * linear(color.red) + 0.7152 * linear(color.green)
            + 0.0722 * linear(color.blue))
