"""The ``etsim compare`` and ``etsim report`` commands.

Registered on the main Typer app by ``sim.cli.main`` (``register(app)``). Same conventions as
the other commands: exit 2 with ``file: field: reason (accepted: ...)`` for bad input,
never a traceback; 1 for anything else. Neither writes over an existing file without
``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import ForceOpt, check_lang, check_run_dirs, input_errors, refuse_overwrite
from sim.errors import InputError

RunDirsArg = Annotated[list[Path], typer.Argument(
    help="Run folders written by etsim run.", show_default=False)]
LangOpt = Annotated[str, typer.Option(help="Language of labels and text: en or zh.")]


def compare(
    run_dirs: RunDirsArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the comparison.")],
    lang: LangOpt = "en",
    fmt: Annotated[str, typer.Option("--format", help="png, svg or pdf.")] = "png",
    force: ForceOpt = False,
    replicates: Annotated[int, typer.Option(
        help="Seeds per scenario for the seed-noise check of the effects across instruments: "
             "missing seeds are run into OUT/replicates (0: the runs given only).")] = 0,
) -> None:
    """Compare runs: small-multiple charts, headline figures, differing settings and the
    effects across instruments."""

    with input_errors():
        check_lang(lang)
        if fmt not in ("png", "svg", "pdf"):
            raise InputError("argument", "--format", f"{fmt!r} is not a format", "png, svg, pdf")
        check_run_dirs(run_dirs)
        if len(run_dirs) < 2:
            raise InputError("argument", "RUN_DIR", "one run given", "two or more run folders")
        if replicates == 1 or replicates < 0:
            raise InputError("argument", "--replicates", f"{replicates} seeds cannot show "
                             "seed noise", "0 (off) or a whole number >= 2")
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError("argument", "--out", f"{out_dir} is a file, not a folder",
                             "a folder (new, or one to add the comparison to)")
        from sim.charts.compare import COMPARE_CHARTS, write_comparison

        # price_bands is drawn only for replicates: counted anyway, as refusing is safe.
        suffix = "_zh" if lang == "zh" else ""
        refuse_overwrite([out_dir / f"{stem}{suffix}.{fmt}"
                          for stem in (*COMPARE_CHARTS, "price_bands")]
                         + [out_dir / name for name in ("headlines.csv", "settings_diff.csv",
                                                        "effects.csv")], force)

        paths = write_comparison(run_dirs, out_dir, lang=lang, fmt=fmt)
        runs = list(run_dirs)
        if replicates:
            from sim.cli.replicates import ensure_replicates

            runs = ensure_replicates(run_dirs, replicates, out_dir)
        from sim.charts.effects import write_effects

        lines, effects_csv = write_effects(runs, out_dir, lang)
    print_headlines(out_dir / "headlines.csv")
    if lines:
        typer.echo("Effects across instruments")
        for line in lines:
            typer.echo(("  " if line[:1] != " " and not line.endswith(":") else "") + line)
    for path in [*paths, *([effects_csv] if effects_csv else [])]:
        typer.echo(str(path))


def print_headlines(csv: Path) -> None:
    """The headline table on the terminal: the numbers of headlines.csv, as the report's
    headline page lists them (English labels; the CSV's columns are the runs)."""
    import pandas as pd

    from sim.charts.report import headline_rows
    from sim.cli.closing import comparison_table, console

    table = pd.read_csv(csv, index_col=0)
    labels, cells = headline_rows(table, "en", scale_quantities=False)
    console().print(comparison_table(labels, cells, [str(r) for r in table.index]))


def report(
    run_dirs: RunDirsArg,
    out: Annotated[Path, typer.Option("--out", help="PDF file to write.")] = Path("briefing.pdf"),
    lang: LangOpt = "en",
    force: ForceOpt = False,
) -> None:
    """Write a briefing PDF of one or more runs: text, headline table, settings, charts."""

    with input_errors():
        check_lang(lang)
        check_run_dirs(run_dirs)
        if out.suffix.lower() != ".pdf":
            raise InputError("argument", "--out", f"{str(out)!r} is not a .pdf file",
                             "a file name ending in .pdf")
        refuse_overwrite([out], force)
        from sim.charts.report import write_report

        pages = write_report(run_dirs, out, lang=lang)
    typer.echo(f"wrote {out} ({len(pages)} pages: {', '.join(pages)})")


def register(app: typer.Typer) -> None:
    """Add the compare and report commands to the ``etsim`` app."""
    app.command("compare")(compare)
    app.command("report")(report)
