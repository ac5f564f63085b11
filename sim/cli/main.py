"""The ``etsim`` command line (contract in DESIGN.md).

Exit codes: 0 success, 2 bad input (scenario, registry, arguments), 1 anything else. Bad
input prints ``file: field: reason (accepted: ...)`` and never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sim.cli.common import ForceOpt, Group, err, input_errors, plain_help, refuse_overwrite
from sim.cli.progress import PlainProgress, say
from sim.errors import InputError

app = typer.Typer(
    name="etsim",
    help="Emissions-rights trading simulator for Hubei's city clusters.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario TOML file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario key: dotted.key=value (repeatable).")]


@app.command()
def validate(scenario: ScenarioArg, sets: SetOpt = None) -> None:
    """Check a scenario file; exit 0 when valid, 2 with the problems named otherwise."""
    from sim.scenario import load_scenario

    with input_errors():
        loaded = load_scenario(scenario, sets or [])
        if loaded.scenario.population.source == "registry":
            from sim.world.population.sources import build_population

            build_population(loaded)
    typer.echo(f"{scenario}: valid ({', '.join(loaded.scenario.instrument_ids)}; "
              f"{loaded.scenario.time.years} years x {loaded.scenario.time.periods_per_year} "
              f"sessions)")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout).")]
    = None,
    force: ForceOpt = False,
) -> None:
    """Write the scenario file's JSON Schema, for completion and checks in editors."""
    from sim.scenario.schema import Scenario

    text = json.dumps(Scenario.model_json_schema(by_alias=True), indent=2, ensure_ascii=False)
    if output is None:
        sys.stdout.write(text + "\n")
        return
    with input_errors():
        refuse_overwrite([output], force)
    output.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def run(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Run folder (default: runs/<scenario name>).")] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: the scenario's).")] = None,
    sets: SetOpt = None,
    charts: Annotated[bool, typer.Option(help="Draw the default charts.")] = True,
) -> None:
    """Run a scenario and write its run folder: tables, summary, manifest and charts."""
    from sim.run.folder import check_run_target
    from sim.run.results import run_scenario, save_run
    from sim.scenario import load_scenario

    with input_errors():
        if seed is not None and seed < 0:
            raise InputError("argument", "--seed", f"{seed} is negative", "a whole number >= 0")
        loaded = load_scenario(scenario, sets or [])
        target = out_dir or Path("runs") / loaded.scenario.name
        check_run_target(target)
        horizon = loaded.scenario.time
        name, per_year = loaded.scenario.name, horizon.periods_per_year
        sessions = horizon.years * per_year
        # Outside a terminal (make, pipes, CI logs) a plain line per simulated year.
        plain = None if err.is_terminal else PlainProgress(
            sessions, lambda done: f"{name}: year {horizon.start_year + done // per_year - 1} "
            f"done ({done // per_year}/{horizon.years} years, {done}/{sessions} sessions)",
            every=per_year, min_interval_s=0.0)
        if plain is not None:
            say(f"{name}: building the world and its enterprises, then {horizon.years} years "
                f"x {per_year} sessions")

        def on_session(done: int, total: int) -> None:
            progress.update(task, completed=done)
            if plain is not None:
                plain.update(done)
                if done == total:
                    say(f"{name}: solving the least-cost and uniform-standard benchmarks")

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} sessions"),
                      TimeRemainingColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as progress:
            task = progress.add_task(name, total=sessions)
            result = run_scenario(loaded, seed=seed, on_session=on_session)
        draw = None
        if charts:  # matplotlib only when drawing
            from functools import partial

            from sim.charts import render_default_charts
            from sim.charts.style import PREVIEW_DPI

            draw = partial(render_default_charts, dpi=PREVIEW_DPI, workers=2)  # print: etsim charts
        if plain is not None:
            say(f"{name}: writing {target}" + (" and drawing its charts" if charts else ""))
        save_run(result, target, draw)
    from sim.cli.closing import print_run

    print_run(result.summary, name, target)


@app.command()
def equilibrium(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder (default: runs/<scenario name>-equilibrium).")] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: the scenario's).")] = None,
    sets: SetOpt = None,
) -> None:
    """Least-cost benchmark alone: shadow prices per zone and year, costs, abatement."""
    from sim.run.folder import EQUILIBRIUM_FOLDER, check_run_target
    from sim.run.results import save_equilibrium, solve_equilibrium
    from sim.scenario import load_scenario

    with input_errors():
        loaded = load_scenario(scenario, sets or [])
        target = out_dir or Path("runs") / f"{loaded.scenario.name}-equilibrium"
        check_run_target(target, EQUILIBRIUM_FOLDER)
        summary, zones, firms = solve_equilibrium(loaded, seed)
        save_equilibrium(summary, zones, firms, target)
    typer.echo(f"{loaded.scenario.name}: least cost {summary['least_cost_cny'] / 1e6:,.1f} M CNY, "
               f"uniform standard {summary['uniform_standard_cost_cny'] / 1e6:,.1f} M CNY")
    typer.echo(f"results in {target}")


@app.command("charts")
def charts_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by etsim run.")],
    lang: Annotated[str, typer.Option(help="Language of labels: en or zh.")] = "en",
    fmt: Annotated[str, typer.Option("--format", help="png, svg or pdf.")] = "png",
) -> None:
    """Draw a run folder's full chart set into RUN_DIR/charts."""
    with input_errors():
        if lang not in ("en", "zh"):
            raise InputError("argument", "--lang", f"{lang!r} is not a language", "en, zh")
        if fmt not in ("png", "svg", "pdf"):
            raise InputError("argument", "--format", f"{fmt!r} is not a format", "png, svg, pdf")
        if not (run_dir / "summary.json").is_file():
            raise InputError(str(run_dir), "", "not a run folder (no summary.json)",
                             "a folder written by etsim run")
        from sim.charts.chart_set import render_all_charts

        paths = render_all_charts(run_dir, run_dir / "charts", lang=lang, fmt=fmt)
    for path in paths:
        typer.echo(str(path))


def _register_sweep_commands() -> None:
    """sweep, query and sensitivity live with the sweep package."""
    from sim.cli.sweep import register

    register(app)


_register_sweep_commands()


def _register_chart_commands() -> None:
    """compare and report live with the charts package."""
    from sim.cli.charts import register

    register(app)


_register_chart_commands()


def _register_app_command() -> None:
    """app (the what-if page) lives with the app package; Solara loads only when it runs."""
    from sim.app.command import register

    register(app)


_register_app_command()


plain_help(app)  # no "--help <bool>"; arguments as SCENARIO, RUN_DIR...


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
