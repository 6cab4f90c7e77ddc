"""QR codes drawn with segno (pure Python): as an SVG for screens, as a PNG for printed PDFs."""
from __future__ import annotations

import base64
import io

import segno


def _code(text: str) -> segno.QRCode:
    # Error correction M survives a crease or a smudge on a slip; a URL of ~80 characters stays a small version.
    return segno.make(text, error='m', micro=False)


def svg(text: str, *, dark: str = '#000', light: str = '#fff') -> str:
    """The QR code as an SVG document scaled to its container (no fixed size), quiet zone included."""
    out = io.BytesIO()
    _code(text).save(out, kind='svg', xmldecl=False, svgns=True, omitsize=True, dark=dark, light=light, border=4)
    return out.getvalue().decode('ascii')


def svg_data_uri(text: str) -> str:
    """For an ``<img src>`` (no HTML of the payload is ever inserted into the page)."""
    return 'data:image/svg+xml;base64,' + base64.b64encode(svg(text).encode('ascii')).decode('ascii')


def png(text: str, *, scale: int = 8) -> bytes:
    """A PNG for fpdf2 (``pdf.image(io.BytesIO(png(...)))``); 8 px per module prints sharp at 300 dpi."""
    out = io.BytesIO()
    _code(text).save(out, kind='png', scale=scale, border=4)
    return out.getvalue()
