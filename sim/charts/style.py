"""Print-ready chart style and figure plumbing shared by all charts (strings: labels.py).

Charts are meant to be dropped into briefing papers, often in Chinese, so the style
works straight after ``pip install`` with no system fonts: DejaVu Sans (bundled with
matplotlib) sets Latin text, numbers and subscripts, and SimHei (bundled with the
``mplfonts`` dependency) is registered as the per-glyph fallback for Chinese. SimHei
is a TrueType font, so it embeds cleanly as Type 42 in PDF (the Noto CJK OpenType
font in ``mplfonts`` has CFF outlines, which matplotlib would embed as a TrueType
stream). SVG text is written as paths, so Chinese renders on any machine.

Everything here uses matplotlib's object API; nothing touches pyplot or calls
``matplotlib.use``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib import font_manager
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import Formatter

from sim.charts.labels import check_lang, source_line
from sim.run.folder import CHART_FORMATS

DPI = 300
"""Resolution of saved raster charts: print quality (``etsim charts``, reports)."""
PREVIEW_DPI = 150
"""Resolution of the preview charts ``etsim run`` draws (an estimate of what reads well
on screen: a quarter of the pixels of print, so saving costs about half)."""
WIDTH_IN = 6.3
"""Figure width in inches: the text width of an A4 page with 2.5 cm margins."""
FORMATS = CHART_FORMATS
"""Accepted output formats."""

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
"""The Okabe–Ito colour-blind-safe palette."""
PALETTE: tuple[str, ...] = tuple(
    OKABE_ITO[k]
    for k in ("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black", "yellow")
)
"""Colour cycle: Okabe–Ito ordered so thin lines on white stay visible (yellow last)."""
CLUSTER_COLORS: dict[str, str] = {
    "province": OKABE_ITO["black"],
    "wuhan_circle": OKABE_ITO["blue"],
    "xiang_shi_sui_shen": OKABE_ITO["orange"],
    "yi_jing_jing_en": OKABE_ITO["green"],
}
"""Fixed colours for the province and Hubei's three clusters."""
INSTRUMENT_COLORS: dict[str, str] = {
    "co2": OKABE_ITO["blue"],
    "so2": OKABE_ITO["vermillion"],
    "nox": OKABE_ITO["orange"],
    "cod": OKABE_ITO["green"],
    "nh3n": OKABE_ITO["purple"],
}
"""Fixed colours for instruments when several share one axis."""
INSTRUMENT_MARKERS: dict[str, str] = {"co2": "o", "so2": "s", "nox": "^", "cod": "D", "nh3n": "v"}
"""Marker shapes for instruments, so lines stay apart in greyscale and where they overlap."""
SOURCE_IN = 0.28
"""Height in inches of the strip holding the source line."""
NOTE_IN = 0.19
"""Extra height in inches for each line of notes above the source line."""
MUTED = "#555555"
"""Colour of secondary text (source line, notes)."""
BAND_GREY = "#E8E8E8"
"""Fill of the reserve's price corridor (light enough to sit behind any line)."""

CJK_FONT_FILE = "SimHei.ttf"
CJK_FONT_FAMILY = "SimHei"
FONT_FAMILY: list[str] = ["DejaVu Sans", CJK_FONT_FAMILY]


class _NoCJKBoldNotice(logging.Filter):
    """Drop font_manager's notice that SimHei has no bold (its regular face is used)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("findfont: Failed to find font weight")
                    and CJK_FONT_FAMILY in message)


def cluster_colors(clusters: list[str]) -> dict[str, str]:
    """A colour for each cluster id: fixed ones for Hubei, the rest from the palette."""
    spare = [c for c in PALETTE if c not in CLUSTER_COLORS.values()]
    out = {}
    for k in clusters:
        out[k] = CLUSTER_COLORS.get(k) or spare[len(out) % len(spare)]
    return out


def is_cjk(char: str) -> bool:
    """Whether a character is a full-width CJK character or punctuation mark."""
    return ord(char) >= 0x2E80


@cache
def _measurer() -> Any:
    from matplotlib.backends.backend_agg import RendererAgg

    register_fonts()
    return RendererAgg(10, 10, 72)  # at 72 dpi one pixel is one point


@lru_cache(maxsize=8192)
def text_width_in(text: str) -> float:
    """Width in inches of ``text`` set in the charts' fonts at 9 pt (regular weight),
    measured with matplotlib's own text layout (DejaVu Sans, SimHei for Chinese)."""
    if not text:
        return 0.0
    prop = font_manager.FontProperties(family=FONT_FAMILY, size=9)
    width_pt, _, _ = _measurer().get_text_width_height_descent(text, prop, ismath=False)
    return float(width_pt) / 72


_CLOSING = frozenset("，。；：）、！？”’》」%％)]}/")
"""Characters a line must not start with (closing punctuation, percent signs, the slash
of a unit such as 元/吨)."""
_OPENING = frozenset("（“‘《「([{/")
"""Characters a line must not end with (opening punctuation, the slash of a unit)."""
_PROSE_TOKENS = re.compile(r"（[^（）]{1,8}）|[\u2E80-\uFFFF]|[^\s\u2E80-\uFFFF]+|\s+")
"""Break units of prose: a short full-width parenthesis (``（种子1）``), each other CJK
character, each run of other non-space characters (so a number such as ``5,124`` or
``0.62`` is never split), each run of spaces."""
_NAME_TOKENS = re.compile(
    r"（[^（）]{1,8}）|[\u2E80-\uFFFF]|[^\s_\-./\u2E80-\uFFFF]+[_\-./]*|[_\-./]+|\s+")
"""Break units of identifiers and labels: a break may follow ``_ - . /``
(``co2_`` + ``tight_`` + ``cap``) and fall between Chinese characters."""


def wrap(text: str, width_in: float, size_pt: float = 9, names: bool = False) -> list[str]:
    """Greedy line breaks for ``text`` so each line is at most ``width_in`` wide at
    ``size_pt`` (by :func:`text_width_in`).

    Prose breaks at spaces and between Chinese characters, never inside a run of
    non-space Latin characters (numbers like ``5,124`` or ``0.62`` stay whole), never
    before closing punctuation or after opening punctuation. ``names`` also breaks
    identifiers after ``_``, ``-``, ``.`` or ``/`` (``co2_tight_cap``). A single unit wider
    than the line is put on a line of its own, unbroken.

    Returns:
        The lines, without leading or trailing spaces; ``"".join`` of them (Chinese) or
        ``" ".join`` (text whose breaks fell on single spaces) gives ``text`` back.
    """
    scale = size_pt / 9
    tokens: list[str] = []
    for token in (_NAME_TOKENS if names else _PROSE_TOKENS).findall(text):
        if tokens and not token.isspace() and not tokens[-1].isspace() and (
                tokens[-1][-1] in _OPENING or token[0] in _CLOSING):
            tokens[-1] += token  # punctuation stays with the text it opens or closes
        else:
            tokens.append(token)
    lines: list[str] = []
    line = ""
    for token in tokens:
        candidate = line + token
        fits = text_width_in(candidate.rstrip()) * scale <= width_in
        may_break = (line.strip() and not token.isspace() and token[0] not in _CLOSING
                     and line.rstrip()[-1] not in _OPENING)
        if fits or not may_break:
            line = candidate
        else:
            lines.append(line.strip())
            line = token
    if line.strip():
        lines.append(line.strip())
    return lines


class ThousandsFormatter(Formatter):
    """Tick labels with thousands separators and just enough decimals."""

    decimals = 0

    def format_ticks(self, values: Any) -> list[str]:
        """Use the fewest decimals that show every tick exactly, then format each."""
        ticks = np.asarray(values, dtype=float)
        scale = max(float(np.abs(ticks).max(initial=0.0)), 1e-12)
        self.decimals = next((d for d in range(7)
                              if np.allclose(np.round(ticks, d), ticks, rtol=0, atol=1e-9 * scale)),
                             6)
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x: float, pos: int | None = None) -> str:
        if x == 0:
            return "0"
        return f"{x:,.{self.decimals}f}".replace("-", "\N{MINUS SIGN}")


@cache
def register_fonts() -> str:
    """Register the bundled CJK font with matplotlib (once) and return its family name.

    The font is the per-glyph fallback for Chinese in every chart, so bold English text
    (titles) looks it up too; the resulting "no bold SimHei" log notice is filtered out.
    """
    resource = files("mplfonts") / "fonts" / CJK_FONT_FILE
    with as_file(resource) as path:
        font_manager.fontManager.addfont(str(path))
    logging.getLogger("matplotlib.font_manager").addFilter(_NoCJKBoldNotice())
    return CJK_FONT_FAMILY


def rc_params(lang: str = "en") -> dict[str, Any]:
    """The rcParams of the chart style (fonts ≥ 9 pt at the saved size).

    Titles are bold in English and regular in Chinese: SimHei has no bold face.
    """
    register_fonts()
    weight = "bold" if check_lang(lang) == "en" else "normal"
    return {
        "font.family": FONT_FAMILY,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.titleweight": weight,
        "axes.labelsize": 9,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "legend.title_fontsize": 9,
        "figure.titlesize": 11,
        "figure.titleweight": weight,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": 0.8,
        "axes.edgecolor": "#333333",
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": "#DDDDDD",
        "grid.linewidth": 0.6,
        "axes.unicode_minus": True,
        "lines.linewidth": 1.5,
        "legend.frameon": False,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.dpi": DPI,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "path",
        "svg.hashsalt": "etsim",
        "image.cmap": "Blues",
    }


@contextlib.contextmanager
def chart_style(lang: str = "en") -> Iterator[None]:
    """Context in which figures are built and saved with the chart style."""
    with mpl.rc_context(rc_params(lang)):
        yield


def new_figure(height_in: float, notes: int = 0) -> tuple[Figure, SubFigure]:
    """A figure of the standard width, split into the chart area and a strip for the
    source line (and ``notes`` lines of notes above it).

    Call inside :func:`chart_style`; both parts use constrained layout.

    Returns:
        ``(figure, chart_area)``: draw panels, legends and the title on ``chart_area``.
    """
    foot_in = SOURCE_IN + NOTE_IN * notes
    height_in = round((height_in + NOTE_IN * notes) * 20) / 20  # whole 15-px steps at 300 dpi
    fig = Figure(figsize=(WIDTH_IN, height_in))
    fig.set_layout_engine("constrained", h_pad=0.04, w_pad=0.04, hspace=0.0)
    main, _ = fig.subfigures(2, 1, height_ratios=[height_in - foot_in, foot_in])
    return fig, main


def finish_figure(fig: Figure, title: str, summary: dict[str, Any], lang: str,
                  note: str | None = None, source: str | None = None) -> Figure:
    """Add the title, an optional note and the source line, then lay out in the style.

    Drawing once here creates tick labels under the chart style, so the figure looks the
    same when it is saved later outside :func:`chart_style`. ``source`` replaces the
    one-run source line built from ``summary`` (charts of several runs name them all).
    """
    main, foot = fig.subfigs
    main.suptitle(title, x=0.01, ha="left")
    source = source or source_line(summary, lang)
    width_in = fig.get_size_inches()[0] - 0.2
    paragraphs = ([] if note is None else note.split("\n")) + [source]
    lines = [line for paragraph in paragraphs for line in wrap(paragraph, width_in)]
    _fit_foot(fig, len(lines))
    foot.text(0.01, 0.5, "\n".join(lines), ha="left", va="center", fontsize=9, color=MUTED,
              linespacing=1.5)
    fig.draw_without_rendering()
    return fig


def _fit_foot(fig: Figure, lines: int) -> None:
    """Make the foot strip of a :func:`new_figure` tall enough for ``lines`` lines of
    notes and source, growing the figure (the chart area keeps its height)."""
    grid = fig.subfigs[0]._subplotspec.get_gridspec()  # no public accessor on SubFigure
    main_in, foot_in = grid.get_height_ratios()
    need_in = SOURCE_IN + NOTE_IN * (lines - 1)
    if need_in <= foot_in + 1e-9:
        return
    height_in = math.ceil((main_in + need_in) * 20 - 1e-6) / 20  # whole 15-px steps at 300 dpi
    grid.set_height_ratios([main_in, height_in - main_in])
    fig.set_size_inches(fig.get_size_inches()[0], height_in)


def header_label(text: str, lang: str) -> tuple[str, str]:
    """A group header as ``(text, fontweight)``: bold in English, 【…】 in Chinese.

    SimHei, the Chinese font, has no bold face (it is itself the usual heading face).
    """
    return (text, "bold") if lang == "en" else (f"【{text}】", "normal")


def message_figure(message: str, title: str, summary: dict[str, Any], lang: str) -> Figure:
    """A small figure that states ``message`` instead of a chart (e.g. no trades)."""
    with chart_style(lang):
        fig, main = new_figure(1.6)
        ax = main.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=MUTED,
                transform=ax.transAxes)
        return finish_figure(fig, title, summary, lang)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_figure(fig: Figure, path: str | os.PathLike[str], fmt: str | None = None,
                dpi: int = DPI) -> Path:
    """Save ``fig`` atomically: write a temporary file beside ``path``, then replace.

    Args:
        fig: The figure.
        path: Destination file.
        fmt: ``png``, ``svg`` or ``pdf``; default from the file suffix.
        dpi: Raster resolution; below :data:`DPI` (a preview) the figure keeps the layout
            :func:`finish_figure` computed instead of running constrained layout again
            (half the saving time, the same look).

    Returns:
        The destination path.

    Raises:
        ValueError: If the format is not supported.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}; accepted: {', '.join(FORMATS)}")
    if dpi < DPI:
        fig.set_layout_engine("none")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".{fmt}.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, chart_style():
            fig.savefig(fh, format=fmt, dpi=dpi)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
