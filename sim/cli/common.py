"""What every ``etsim`` command shares: bad input turned into its one-line message and
exit code 2, refusing to overwrite files, and the common options.

Exit codes (DESIGN.md): 0 success, 2 bad input (scenario, registry, arguments), 1
anything else. Bad input prints ``file: field: reason (accepted: ...)``, never a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup

from sim.errors import InputError

err = Console(stderr=True)  # progress bars only; messages go through typer.echo

ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace output files that already exist (default: refuse).")]


@contextmanager
def input_errors() -> Iterator[None]:
    """Turn bad input into its one-line message and exit code 2."""
    try:
        yield
    except InputError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None


def refuse_overwrite(paths: list[Path], force: bool, option: str = "--out") -> None:
    """Refuse to write over existing files unless ``--force`` was given; never over a
    folder.

    Raises:
        InputError: Naming the files that exist.
    """
    folders = [p for p in paths if p.is_dir()]
    if folders:
        raise InputError("argument", option, f"{folders[0]} is a folder, not a file",
                         "a file name")
    existing = [str(p) for p in paths if p.exists() or p.is_symlink()]
    if existing and not force:
        raise InputError("argument", option, f"{', '.join(existing)} already "
                         f"exist{'s' if len(existing) == 1 else ''}; refusing to overwrite",
                         "another file name or folder, or --force to replace "
                         + ("it" if len(existing) == 1 else "them"))


def check_run_dirs(run_dirs: list[Path]) -> None:
    """Refuse missing folders and folders that are not run folders (InputError)."""
    for run_dir in run_dirs:
        if not run_dir.exists():
            raise InputError(str(run_dir), "", "no such folder", "a folder written by etsim run")
        if not (run_dir / "summary.json").is_file():
            raise InputError(str(run_dir), "", "not a run folder (no summary.json)",
                             "a folder written by etsim run")


def check_lang(lang: str) -> None:
    """Refuse a language other than en or zh (InputError)."""
    if lang not in ("en", "zh"):
        raise InputError("argument", "--lang", f"{lang!r} is not a language", "en, zh")


def _plain_params(params: list) -> list:
    """Help without type labels on flags (typer shows ``--help <bool>`` and ``--force
    <bool>``) and arguments named as the usage line names them (``SCENARIO``, not
    ``{scenario}``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar is None:
            param.metavar = param.name.upper()
    return params


class Command(TyperCommand):
    """An ``etsim`` subcommand: :func:`_plain_params` in its help."""

    def get_params(self, ctx: typer.Context) -> list:  # noqa: D102 - click's
        return _plain_params(super().get_params(ctx))


class Group(TyperGroup):
    """The ``etsim`` command group: :func:`_plain_params` in its help."""

    def get_params(self, ctx: typer.Context) -> list:  # noqa: D102 - click's
        return _plain_params(super().get_params(ctx))


def plain_help(app: typer.Typer) -> None:
    """Give every command registered on ``app`` so far the :class:`Command` class."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = Command
