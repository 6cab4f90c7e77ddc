"""The DejaVu fonts of every printed PDF, prepared once per process; each document gets a cheap private copy.

fpdf2's ``add_font`` parses a TTF (cmap, metrics of every glyph) on every document, and its ``output`` cuts the
font down in place to the glyphs used. Parsing is the costly half of a receipt (~15 ms), and a parsed font cannot
simply be shared: the subset bookkeeping and the fontTools tables are mutated while a document is written.

So, once per process (``prepare``, ~0.8 s, at start-up or on first use):

- the full DejaVu font of each style is parsed once into an fpdf2 ``TTFFont`` (metrics, cmap, descriptor): the
  *template*, never handed to a document;
- a *working set* is cut from it with fontTools (Latin incl. Vietnamese, digits, punctuation, ₫ and the other
  currency signs: 515 glyphs, 63 KB), kept as bytes; and a wider set (also Greek, Cyrillic, arrows, shapes:
  ~1,800 glyphs, what every document embedded before).

Each document (``new_pdf``) then gets, per style, a shallow copy of the template with its own fresh state: glyph
widths, the used-glyph map (``SubsetMap``), missing glyphs, and a fontTools font opened from bytes. At ``output``
the document embeds the working set if every glyph it used is in it (the usual case: fpdf2 then subsets 515
glyphs, not ~5,900), else the wider set (a Greek or Russian name), else the full font, so a rarer glyph (∑, ♥ …)
still prints. The
metrics are the full font's, identical for the glyphs of both, so the text looks exactly as with ``add_font``.
Saving a cut skips fontTools' unpacking and repacking of every glyph (``_WorkingSetFont``): the same
bytes, ~40% less of the font's cost. A receipt then costs ~13-15 ms instead of ~35 ms (bench/receipts.py); what
remains is fontTools' subsetter at ``output`` (~35%) and fpdf2's text layout (~30%).

Thread-safe: templates and bytes are written once under a lock and only read afterwards; everything a document
writes belongs to its own copy. Building a PDF is still CPU work: call the ``render_*`` functions from the event
loop (they run in a worker thread).
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FONT_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'fonts'
FONT_FILES = {'': 'DejaVuSans.ttf', 'B': 'DejaVuSans-Bold.ttf'}  # fpdf2 style -> file
FONT = 'DejaVu'
# The working set: what documents print almost always (first, last code point).
WORKING_SET = (
    (0x0020, 0x007E),  # Basic Latin: letters, digits, punctuation
    (0x00A0, 0x017F),  # Latin-1 (°, ×, ±, é ...), Latin Extended-A (Đ đ ă ĩ ũ ...)
    (0x01A0, 0x01B0),  # Ơ ơ Ư ư
    (0x0300, 0x0309),  # combining grave, acute, tilde, hook above ...
    (0x0323, 0x0323),  # combining dot below
    (0x1EA0, 0x1EF9),  # Vietnamese: ạ ả ấ ầ ẩ ẫ ậ ... ỹ
    (0x2010, 0x2027),  # dashes, quotes, bullet, ellipsis
    (0x2030, 0x203A),  # per mille, primes, angle quotes
    (0x20AB, 0x20AC),  # ₫ €
    (0x2116, 0x2116),  # №
    (0x2212, 0x2212),  # minus sign
)
# The wider set, for a document beyond the working set: what every document embedded before (Greek, Cyrillic ...).
WIDE_SET = (
    (0x0020, 0x007E), (0x00A0, 0x024F), (0x0300, 0x036F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x1E00, 0x1EFF),
    (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2212, 0x2212), (0x25A0, 0x25FF),
)


@dataclass(frozen=True)
class _GlyphStats:
    """What fontTools reads from a glyph to recompute the font-wide header values (head bbox, hhea extents, maxp
    limits) when it saves a subset: the same in every subset, so measured once."""
    contours: int                        # numberOfContours: 0 empty, > 0 simple, < 0 composite
    bounds: tuple[int, int, int, int]    # xMin, yMin, xMax, yMax
    points: int = 0                      # simple: points, contours; composite: flattened
    flat_contours: int = 0
    depth: int = 0                       # composite: component depth
    components: int = 0


@dataclass(frozen=True)
class _Cut:
    """A font cut from the full one by fontTools (so its glyphs are packed as fontTools packs them)."""
    data: bytes
    glyphs: frozenset[str]
    stats: dict[str, _GlyphStats]


@dataclass(frozen=True)
class _Prepared:
    template: TTFFont         # parsed full font: read only, never given to a document
    full: bytes               # the full font file
    cuts: tuple[_Cut, ...]    # the working set, then the wider set




_prepared: dict[str, _Prepared] | None = None
_lock = threading.Lock()


def _cut(data: bytes, ranges: tuple[tuple[int, int], ...]) -> _Cut:
    font = ttLib.TTFont(BytesIO(data), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'MATH', 'kern', 'FFTM']
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.glyph_names = True
    options.name_IDs = ['*']  # keep the licence and font names
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for first, last in ranges for code in range(first, last + 1)])
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return _Cut(out.getvalue(), frozenset(font.getGlyphOrder()), _glyph_stats(out.getvalue()))


def _glyph_stats(data: bytes) -> dict[str, _GlyphStats]:
    font = ttLib.TTFont(BytesIO(data))
    glyf = font['glyf']
    stats = {}
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if not glyph.numberOfContours:
            stats[name] = _GlyphStats(0, (0, 0, 0, 0))
            continue
        bounds = (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax)
        if glyph.numberOfContours > 0:
            stats[name] = _GlyphStats(glyph.numberOfContours, bounds, *glyph.getMaxpValues())
        else:
            points, contours, depth = glyph.getCompositeMaxpValues(glyf)
            stats[name] = _GlyphStats(glyph.numberOfContours, bounds, points, contours, depth, len(glyph.components))
    return stats


class _WorkingSetFont(ttLib.TTFont):
    """A document's copy of a cut (the working or the wider set). fpdf2 subsets it and saves it; fontTools would then unpack and repack
    every glyph to recompute the bounding boxes (~40% of the font's cost). Its glyphs are already packed exactly as
    fontTools packs them (the cut was saved by fontTools), so this sets the font-wide values from the
    per-glyph figures measured once (the arithmetic of fontTools' maxp/hhea ``recalc``) and saves the glyphs as
    they are: the same bytes (tests/services/test_pdf_fonts.py compares them)."""

    stats: dict[str, _GlyphStats] = {}

    def save(self, file, reorderTables=True):
        if not self.recalcBBoxes or 'glyf' not in self:
            return super().save(file, reorderTables)
        self._set_header_values()
        self.recalcBBoxes = False
        try:
            return super().save(file, reorderTables)
        finally:
            self.recalcBBoxes = True

    def _set_header_values(self) -> None:
        head, hhea, maxp, metrics = self['head'], self['hhea'], self['maxp'], self['hmtx'].metrics
        outlined = [(name, self.stats[name]) for name in self.getGlyphOrder() if self.stats[name].contours]
        simple = [stat for _name, stat in outlined if stat.contours > 0]
        composite = [stat for _name, stat in outlined if stat.contours < 0]
        if outlined:
            head.xMin = min(stat.bounds[0] for _name, stat in outlined)
            head.yMin = min(stat.bounds[1] for _name, stat in outlined)
            head.xMax = max(stat.bounds[2] for _name, stat in outlined)
            head.yMax = max(stat.bounds[3] for _name, stat in outlined)
        else:
            head.xMin = head.yMin = head.xMax = head.yMax = 0
        maxp.maxPoints = max((stat.points for stat in simple), default=0)
        maxp.maxContours = max((stat.flat_contours for stat in simple), default=0)
        maxp.maxCompositePoints = max((stat.points for stat in composite), default=0)
        maxp.maxCompositeContours = max((stat.flat_contours for stat in composite), default=0)
        maxp.maxComponentElements = max((stat.components for stat in composite), default=0)
        maxp.maxComponentDepth = max((stat.depth for stat in composite), default=0)
        if all(metrics[name][1] == stat.bounds[0] for name, stat in outlined):
            head.flags = head.flags | 0x2
        else:
            head.flags = head.flags & ~0x2
        hhea.advanceWidthMax = max(advance for advance, _lsb in metrics.values())
        if outlined:
            widths = [(metrics[name], stat.bounds[2] - stat.bounds[0]) for name, stat in outlined]
            hhea.minLeftSideBearing = min(lsb for (_advance, lsb), _width in widths)
            hhea.minRightSideBearing = min(advance - lsb - width for (advance, lsb), width in widths)
            hhea.xMaxExtent = max(lsb + width for (_advance, lsb), width in widths)
        else:
            hhea.minLeftSideBearing = hhea.minRightSideBearing = hhea.xMaxExtent = 0


def _prepare_style(style: str, name: str) -> _Prepared:
    path = FONT_DIR / name
    full = path.read_bytes()
    template = TTFFont(FPDF(), path, f'{FONT.lower()}{style}', style)
    template.ttfont.close()  # the template keeps the parsed metrics, not the fontTools font
    return _Prepared(template, full, (_cut(full, WORKING_SET), _cut(full, WIDE_SET)))


def prepare() -> dict[str, _Prepared]:
    """Parse the fonts and cut the working set, once per process (later calls return at once)."""
    global _prepared  # noqa: PLW0603
    if _prepared is None:
        with _lock:
            if _prepared is None:
                _prepared = {style: _prepare_style(style, name) for style, name in FONT_FILES.items()}
    return _prepared


def _open(data: bytes) -> ttLib.TTFont:
    """A document's own fontTools font (lazy: tables are read when fpdf2 subsets it at ``output``). Bounding boxes
    are recomputed on save as ``add_font`` does: skipping that saves ~2 ms a font but changes the font's header
    (head/hhea/maxp), and poppler then draws some glyphs a pixel differently at 300 dpi."""
    return ttLib.TTFont(BytesIO(data), recalcTimestamp=False, lazy=True)


def _open_cut(cut: _Cut) -> _WorkingSetFont:
    font = _WorkingSetFont(BytesIO(cut.data), recalcTimestamp=False, lazy=True)
    font.stats = cut.stats
    return font


def _document_copy(prepared: _Prepared, index: int) -> TTFFont:
    """A copy of the template for one document: shares only what no document writes (cmap, glyph ids,
    descriptor); gets its own widths, used-glyph map, missing glyphs and fontTools font."""
    font = copy.copy(prepared.template)
    font.i = index
    font.cw = copy.copy(prepared.template.cw)  # a defaultdict: reading an unknown char inserts into it
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.ttfont = _open_cut(prepared.cuts[0])
    font.subset = SubsetMap(font)
    return font


class PreparedFontsPDF(FPDF):
    """An ``FPDF`` with the DejaVu fonts (family ``FONT``, styles '' and 'B') already added, from the per-process
    preparation instead of ``add_font``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._prepared_fonts: dict[str, TTFFont] = {}
        for style, prepared in prepare().items():
            font = _document_copy(prepared, len(self.fonts) + 1)
            self.fonts[font.fontkey] = font
            self._prepared_fonts[style] = font

    def output(self, *args, **kwargs):
        """Embed the smallest prepared font that holds every glyph used: the working set, else the wider set, else
        the full font (then ``FPDF.output``)."""
        for style, font in self._prepared_fonts.items():
            prepared = prepare()[style]
            used = set(font.subset.get_all_glyph_names())
            if not used <= prepared.cuts[0].glyphs:
                cut = next((cut for cut in prepared.cuts[1:] if used <= cut.glyphs), None)
                font.ttfont = _open_cut(cut) if cut else _open(prepared.full)
        return super().output(*args, **kwargs)


def new_pdf(**kwargs) -> PreparedFontsPDF:
    """A new document (``FPDF(unit='mm', **kwargs)``) with the prepared fonts."""
    return PreparedFontsPDF(unit='mm', **kwargs)
