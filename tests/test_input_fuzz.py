"""Scenario files and registries fuzzed through ``etsim run`` and ``etsim equilibrium`` in a
workspace of a user's files: never a traceback, exit 0 or 2, nothing written outside the
chosen output folder, and a user's folder never replaced.

Each example builds a fresh workspace: the scenario and its registry (each valid, or with
one mistake: a wrong type or name, a bad cell, a short or long row, an unknown column, a
GBK encoding), a folder
of notes, a web project with a ``manifest.json``, an earlier run folder (with and without
a note inside) and a plain file. The command writes to one of them, to a new folder or to
the default ``runs/<name>`` (names include paths such as ``../escape``). The workspace's
tree is compared before and after: on exit 2 nothing changed; on exit 0 only the chosen
folder (and new folders above it, such as ``runs/``) did, and it was not one of the
user's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli.main import app
from sim.scenario.schema import SCENARIO_NAME

runner = CliRunner()
MESSAGE = re.compile(r"^[^:\n]+: \S.*$")
USER_FOLDERS = ("notes", "webapp", "earlier_with_note")
"""Targets holding a user's files: writing there must be refused."""

SCENARIO = """name = {name}
[time]
years = {years}
periods_per_year = {periods}
[regions]
clusters = {{ east = ["A", "B"] }}
[population]
registry = "reg.csv"
{extra_columns}
[instruments.{instrument}]
cap_t = {cap}
[instruments.{instrument}.trading]
scope = "cluster"
[behavior]
profile = "{profile}"
"""
PER_INSTRUMENT = ("baseline_t", "mac_intercept_cny", "mac_slope_cny", "max_abatement_t")
CELLS = {  # column kind: (valid values, wrong values)
    "id": (["E1", "E2", "E3"], ["", "E0"]),
    "city": (["A", "B"], ["Gotham", "武汉", ""]),  # 武汉 is not in the custom geography
    "industry": (["steel", "paper", "钢铁"], [""]),
    "note": (["", "checked", "已核", '"x,y"'], []),
    "baseline_t": (["100", "50", ""], ["0", "-5", "lots", "1e400"]),
    "mac_intercept_cny": (["10", "100", "0"], ["", "x"]),
    "mac_slope_cny": (["1", "2"], ["0", "", "-1"]),
    "max_abatement_t": (["10", "40", "0"], ["200", ""]),
}


def cells_of(column: str) -> tuple[list[str], list[str]]:
    """Valid and wrong values of a column (``so2_baseline_t`` as ``baseline_t``; a column
    the simulator does not know takes any text)."""
    kind = column.split("_", 1)[1] if column.startswith(("so2_", "co2_")) else column
    return CELLS.get(kind, (["1", "text"], []))


VALID = {"name": ["fuzz", "基准-1", "run"], "years": ["1", "2"], "periods": ["1", "2"],
         "instrument": ["so2"], "cap": ["150", "120", "0", "1000"],
         "profile": ["price_taker", "realistic"]}
WRONG = {"name": ["../escape", "/tmp/etsim-fuzz-abs", ".", "", "a/b", "x.y", "..", "-x"],
         "years": ["true", "1.5", '"2"', "0", "2.0"], "periods": ["true", "false", "1.0"],
         "instrument": ["pm25", "co2", "so_2"], "cap": ["true", "-1", '"x"', "[1, 2, 3]"],
         "profile": ["realist"]}
REGISTRY_MISTAKES = ("cell", "column", "short row", "long row", "unlisted note", "gbk")
TARGETS = (None, "new", "new/deeper", "earlier")
"""--out values a command may write to (None: runs/<name>); ``earlier`` for run only."""
WRONG_TARGETS = (*USER_FOLDERS, "file.txt", ".")
MISTAKES = (*(f"scenario {key}" for key in WRONG),
            *(f"registry {mistake}" for mistake in REGISTRY_MISTAKES), "target")


def registry_text(draw, mistake: str | None) -> tuple[bytes, bool]:
    """A registry file's bytes, with ``mistake`` (one of REGISTRY_MISTAKES) or none, and
    whether the scenario must list its ``note`` column."""
    note = draw(st.booleans()) or mistake == "unlisted note"
    instruments = draw(st.sampled_from([("so2",), ("so2", "co2")]))
    header = ["id", "city", "industry", *(["note"] if note else []),
              *(f"{i}_{col}" for i in instruments for col in PER_INSTRUMENT)]
    if mistake == "column":  # misspelt, unknown, or missing
        header[-1] = draw(st.sampled_from(["so2_max_abatment_t", "co2_max", "extra"]))
    rows = [[f"E{number}", *(draw(st.sampled_from(cells_of(c)[0])) for c in header[1:])]
            for number in range(draw(st.integers(1, 3)))]
    row = draw(st.integers(0, len(rows) - 1))
    if mistake == "cell":
        column = draw(st.sampled_from([c for c in header if cells_of(c)[1]]))
        rows[row][header.index(column)] = draw(st.sampled_from(cells_of(column)[1]))
    elif mistake == "short row":
        rows[row] = rows[row][: draw(st.integers(1, len(header) - 1))]
    elif mistake == "long row":
        rows[row].append("stray")
    lines = [",".join(header), *(",".join(cells) for cells in rows)]
    if draw(st.booleans()):  # allowed: skipped, but counted in row numbers
        lines.insert(draw(st.integers(1, len(lines))), "")
    text = "\n".join(lines) + "\n"
    encoding = "gbk" if mistake == "gbk" else draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    return text.encode(encoding, errors="replace"), note and mistake != "unlisted note"


@st.composite
def cases(draw) -> tuple[bytes, str, str, str | None]:
    """(registry bytes, scenario text, command, --out or None): valid in about half the
    examples, otherwise with exactly one mistake, in the scenario, the registry or the
    target (a user's folder or file, or an earlier run folder for equilibrium)."""
    mistake = None if draw(st.booleans()) else draw(st.sampled_from(MISTAKES))
    in_registry = mistake.removeprefix("registry ") if mistake and mistake.startswith(
        "registry ") else None
    registry, listed = registry_text(draw, in_registry)
    wrong_key = mistake.removeprefix("scenario ") if mistake else None
    values = {key: draw(st.sampled_from(WRONG[key] if key == wrong_key else VALID[key]))
              for key in VALID}
    values["name"] = json.dumps(values["name"], ensure_ascii=False)
    scenario = SCENARIO.format(extra_columns='extra_columns = ["note"]' if listed else "",
                               **values)
    command = draw(st.sampled_from(["run", "equilibrium"]))
    if mistake == "target":
        wrong = [*WRONG_TARGETS, *(["earlier"] if command == "equilibrium" else [])]
        out = draw(st.sampled_from(wrong))
    else:
        out = draw(st.sampled_from([t for t in TARGETS if t != "earlier" or command == "run"]))
    return registry, scenario, command, out


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder``: ``dir`` or the SHA-256 of the file's bytes."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() and not p.is_symlink()
            else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """A real run folder written by etsim run, copied into workspaces as an earlier run."""
    folder = tmp_path_factory.mktemp("earlier")
    (folder / "reg.csv").write_text(
        "id,city,industry,so2_baseline_t,so2_mac_intercept_cny,so2_mac_slope_cny,"
        "so2_max_abatement_t\nE1,A,steel,100,10,1,40\nE2,B,paper,50,100,2,10\n",
        encoding="utf-8")
    (folder / "s.toml").write_text(SCENARIO.format(
        name='"earlier"', years=1, periods=1, extra_columns="", instrument="so2", cap=120,
        profile="price_taker"), encoding="utf-8")
    out = folder / "run"
    result = runner.invoke(app, ["run", str(folder / "s.toml"), "--out", str(out),
                                 "--no-charts"])
    assert result.exit_code == 0, result.output
    return out


def workspace(root: Path, registry: bytes, scenario: str, earlier: Path) -> None:
    """The scenario and registry among a user's files and an earlier run."""
    (root / "reg.csv").write_bytes(registry)
    (root / "s.toml").write_text(scenario, encoding="utf-8")
    (root / "notes").mkdir()
    (root / "notes" / "draft.md").write_text("mine", encoding="utf-8")
    (root / "webapp" / "src").mkdir(parents=True)
    (root / "webapp" / "manifest.json").write_text("{}", encoding="utf-8")
    (root / "webapp" / "src" / "app.js").write_text("x", encoding="utf-8")
    shutil.copytree(earlier, root / "earlier")
    shutil.copytree(earlier, root / "earlier_with_note")
    (root / "earlier_with_note" / "notes.txt").write_text("why", encoding="utf-8")
    (root / "file.txt").write_text("mine", encoding="utf-8")


def target_of(root: Path, out: str | None, command: str, scenario: str) -> Path | None:
    """The folder the command may write: --out, or runs/<name> for a valid name."""
    if out is not None:
        return (root / out).resolve()
    name = json.loads(scenario.split("\n", 1)[0].split(" = ", 1)[1])
    if not SCENARIO_NAME.fullmatch(name):
        return None
    return root / "runs" / (name if command == "run" else f"{name}-equilibrium")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_any_input_exits_cleanly_and_writes_only_the_chosen_folder(
        tmp_path_factory, earlier_run, case):
    registry, scenario, command, out = case
    root = tmp_path_factory.mktemp("ws")
    workspace(root, registry, scenario, earlier_run)
    before = snapshot(root)
    args = [command, "s.toml", *(["--out", out] if out else []),
            *(["--no-charts"] if command == "run" else [])]
    with contextlib.chdir(root):
        result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    after = snapshot(root)
    if result.exit_code == 2:
        for line in result.stderr.strip().split("\n"):
            assert MESSAGE.match(line), line
        assert after == before, "a refused command changed files"
        return
    target = target_of(root, out, command, scenario)
    assert target is not None and out not in WRONG_TARGETS, result.output
    assert not (out == "earlier" and command == "equilibrium"), result.output
    inside = str(target.relative_to(root))
    changed = {path for path in before.keys() | after.keys()
               if before.get(path) != after.get(path)}
    parents = {str(parent) for parent in Path(inside).parents}  # made for it: runs/, new/
    outside = {path for path in changed if path != inside and not path.startswith(
        inside + "/") and not (path in parents and path not in before)}
    assert not outside, f"written outside {inside}: {sorted(outside)}"
    signature = "manifest.json" if command == "run" else "equilibrium.json"
    assert (target / signature).is_file()
