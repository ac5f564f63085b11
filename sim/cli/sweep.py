"""The ``etsim sweep``, ``etsim query`` and ``etsim sensitivity`` commands.

Registered on the main Typer app by ``sim.cli.main`` (``register(app)``). Same conventions as
the other commands: exit 2 with ``file: field: reason (accepted: ...)`` for bad input,
never a traceback; 1 for anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import check_lang, err, input_errors, refuse_overwrite
from sim.errors import InputError

EXIT_INTERRUPTED = 130


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep TOML file.", show_default=False)],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Sweep folder (default: sweeps/<sweep file name>).")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: CPU count; 1 runs in-process).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS if set).")]
    = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the sweep in --out: run only what has no result.")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="With --resume, also run failed runs again.")] = False,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", help="Runs per task sent to a worker (default: automatic).")] = None,
) -> None:
    """Run a scenario over a grid or sample of parameters, many seeds each, into a folder."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from sim.sweep.execute import RunOutcome, run_sweep
    from sim.sweep.spec import load_sweep

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("runs, {task.fields[failed]} failed"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=err, disable=not err.is_terminal)
    state = {"task": None, "failed": 0, "done": 0, "plain": None}

    with input_errors():
        if retry_failed and not resume:
            raise InputError("argument", "--retry-failed", "only applies with --resume",
                             "--resume --retry-failed")
        loaded = load_sweep(sweep_file)
        target = out_dir or Path("sweeps") / sweep_file.stem

        def on_start(todo: int, done: int, backend: str) -> None:
            typer.echo(f"{loaded.name}: {todo + done} runs ({done} already done, {todo} to "
                       f"run) on {backend}", err=True)
            progress.start()
            state["task"] = progress.add_task(loaded.name, total=todo, failed=0)
            if not err.is_terminal:  # make, pipes, CI logs: a plain line per finished run
                from sim.cli.progress import PlainProgress

                state["plain"] = PlainProgress(todo, lambda n: (
                    f"{loaded.name}: run {n}/{todo} done ({state['failed']} failed)"))

        def on_result(outcome: RunOutcome) -> None:
            if outcome.status != "ok":
                state["failed"] += 1
            state["done"] += 1
            progress.update(state["task"], advance=1, failed=state["failed"])
            if state["plain"] is not None:
                state["plain"].update(state["done"])

        try:
            report = run_sweep(loaded, target, workers=workers, scheduler=scheduler,
                               resume=resume, retry_failed=retry_failed, batch_size=batch_size,
                               on_start=on_start, on_result=on_result)
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(f"interrupted; finished runs are kept in {target}. Continue with: "
                       f"etsim sweep {sweep_file} --out {target} --resume", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            progress.stop()
    typer.echo(f"{loaded.name}: {report.total} runs, {report.ok} ok, {report.failed} failed"
               + (f", {report.pending} pending" if report.pending else "")
               + f" ({report.ran} run now in {report.wall_time_s:,.1f} s on {report.backend}); "
               f"results in {report.out_dir} (runs.parquet, summary.parquet, timeseries/)")
    if report.failed:
        typer.echo(f"failed runs: etsim query {report.out_dir} \"SELECT run_id, error FROM runs "
                   "WHERE status = 'failed'\"", err=True)
    if report.total and report.failed == report.total:
        raise typer.Exit(1)


def query(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep folder written by etsim sweep.")],
    sql: Annotated[str, typer.Argument(
        help="One SELECT over the views runs, summary, results, prices, emissions, flows.")],
    csv: Annotated[Path | None, typer.Option(
        help="Also write the whole result to this CSV (refused if it exists).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the --csv file if it exists.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows printed at most (0: all).")] = 60,
) -> None:
    """Query a sweep folder with one read-only SELECT (dotted names need "double quotes")."""
    import pandas as pd

    from sim.sweep.query import check_csv_target, run_query

    def show(rows: pd.DataFrame, first: bool) -> None:
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            typer.echo(rows.to_string(index=False, header=first))

    with input_errors():
        if max_rows < 0:
            raise InputError("argument", "--max-rows", f"{max_rows} is below 0",
                             "a whole number >= 0; 0 prints all rows")
        if csv is not None:
            check_csv_target(csv, sweep_dir)
            refuse_overwrite([csv], force, "--csv")
        result = run_query(sweep_dir, sql, show, max_rows or None, csv)
    if result.cut:
        total = f"{result.rows:,} rows" if result.rows is not None else "more rows"
        typer.echo(f"rows cut: the first {result.shown:,} shown, the result has {total} "
                   "(--max-rows N, or 0 for all; --csv FILE writes every row)", err=True)
    if csv is not None:
        typer.echo(f"wrote {csv} ({result.rows:,} row{'' if result.rows == 1 else 's'})",
                   err=True)


def sensitivity(
    sweep_dir: Annotated[Path, typer.Argument(help="A sobol or morris sweep folder.")],
    outcome: Annotated[str, typer.Option(
        help="Summary figure, e.g. so2.final_price_cny_per_t.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Where to write CSV and PNG (default: SWEEP_DIR/sensitivity).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the chart: en or zh.")] = "en",
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier CSV and PNG.")]
    = False,
) -> None:
    """Sobol or Morris sensitivity indices of one outcome, as a table, CSV and bar chart."""
    import pandas as pd

    from sim.sweep.sensitivity import write_sensitivity

    with input_errors():
        check_lang(lang)
        table, csv_path, png_path = write_sensitivity(sweep_dir, outcome, out_dir, lang, force)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        typer.echo(table.to_string(index=False))
    typer.echo(f"wrote {csv_path} and {png_path}")


def register(app: typer.Typer) -> None:
    """Add the sweep commands to the ``etsim`` app."""
    app.command("sweep")(sweep)
    app.command("query")(query)
    app.command("sensitivity")(sensitivity)
