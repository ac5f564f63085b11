"""The ``etsim app`` command: serve the what-if page (``sim.app.page``) with Solara.

Registered on the main Typer app by the command line module (``register(app)``). Solara is
imported only when the command runs. The page is served as ``solara run sim.app.page
--production`` would serve it (scripts and styles from the installed ``solara-assets``, so
it works offline), on loopback unless ``--host`` says otherwise; Ctrl-C stops the server
and any run the page started.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError

ENV_SCENARIO, ENV_SCENARIOS, ENV_OUT = "ETSIM_APP_SCENARIO", "ETSIM_APP_SCENARIOS", "ETSIM_APP_OUT"
"""How ``etsim app`` passes its arguments to the page Solara serves."""
ENV_FONT = "ETSIM_APP_FONT"
"""The CJK font file the page asks for (served from the chart font's folder)."""


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken or a host this machine cannot bind (InputError)."""
    if not 0 < port < 65536:
        raise InputError("argument", "--port", f"{port} is not a port", "1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError("argument", "--host", f"{host!r} is not an address ({exc})",
                         "127.0.0.1, localhost or an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError("argument", "--port", f"cannot listen on {host}:{port} "
                             f"({exc.strerror})", "a free port, e.g. --port 8766") from None


def app_command(
    scenario: Annotated[Path | None, typer.Argument(
        help="Base scenario shown first (default: scenarios/baseline.toml).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    out: Annotated[Path, typer.Option("--out", help="Folder for the page's run folders.")]
    = Path("runs/app"),
) -> None:
    """Serve the interactive what-if page: change levers, run, compare with the base."""
    try:
        if scenario is not None:
            from sim.scenario import load_scenario

            load_scenario(scenario)  # a bad file is refused here, with its message
        _check_port(host, port)
    except InputError as exc:  # exit 2 with the message, never a traceback
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    serve(scenario, host, port, out)


def serve(scenario: Path | None, host: str, port: int, out: Path) -> None:
    """Run the Solara server in this process until Ctrl-C."""
    from importlib.resources import files

    from sim.charts.style import CJK_FONT_FILE

    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")  # nothing leaves
    fonts = files("mplfonts") / "fonts"
    if (fonts / CJK_FONT_FILE).is_file():  # Chinese labels without system fonts
        extra = os.environ.get("SOLARA_ASSETS_EXTRA_LOCATIONS")
        os.environ["SOLARA_ASSETS_EXTRA_LOCATIONS"] = ",".join(filter(None, [extra, str(fonts)]))
        os.environ[ENV_FONT] = CJK_FONT_FILE
    os.environ[ENV_OUT] = str(out)
    if scenario is not None:
        os.environ[ENV_SCENARIO] = str(scenario)
        os.environ[ENV_SCENARIOS] = str(scenario.parent)
    from click.exceptions import Abort  # solara's command line is click's
    from solara.__main__ import run as solara_run

    from sim.app.runner import stop_all, warm_up

    warnings.filterwarnings("ignore", message="Cookies with samesite=none")  # plain http
    warm_up()
    typer.echo(f"etsim what-if page at http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can "
                   "run scenarios and read the files they name", err=True)
    try:
        solara_run.main(["sim.app.page", "--host", host, "--port", str(port), "--production",
                         "--no-open", "--no-check-version", "--log-level", "warning",
                         "--log-level-uvicorn", "warning"], standalone_mode=False)
    except (KeyboardInterrupt, Abort):  # uvicorn stops, then passes Ctrl-C on
        pass
    finally:
        stop_all()
    typer.echo("stopped", err=True)


def register(app: typer.Typer) -> None:
    """Add ``etsim app`` to the command line."""
    app.command("app")(app_command)
