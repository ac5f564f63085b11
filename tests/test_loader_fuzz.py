"""The scenario loader fuzzed through the command line: any file, any --set, never a traceback.

Random TOML documents (plausible keys from the schema mixed with random ones, values of
every TOML type including nan and inf) and random ``--set`` overrides go through
``etsim validate``. Every outcome is exit 0, or exit 2 with each message line shaped
``file: field: reason``; a traceback or exit 1 is a bug.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from sim.cli.main import app
from sim.scenario.schema import Scenario

runner = CliRunner()

def schema_paths(model=Scenario, prefix: str = "", depth: int = 0) -> list[str]:
    """Every dotted key of the schema (dict keys as a known and an unknown name), so the
    fuzz follows the schema as it grows."""
    paths = []
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        inner, stack = None, [field.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                inner = annotation
                break
            stack.extend(getattr(annotation, "__args__", ()) or ())
        if inner is None or depth > 4:
            paths.append(path)
        elif "dict" in str(field.annotation):
            keys = ("co2", "so2", "pm25") if name == "instruments" else ("Wuhan", "x")
            for key in keys:
                paths += schema_paths(inner, f"{path}.{key}.", depth + 1)
        else:
            paths += schema_paths(inner, f"{path}.", depth + 1)
    return paths


KEY_PATHS = [*schema_paths(), "extends", "regions.clusters.east", "regions.basins.A",
             "instruments.co2.city_caps_t.Wuhan", "instruments.so2.city_caps_t.Gotham",
             "instruments.so2.cluster_caps_t.wuhan", "instruments.so2.trading.blocked"]
CHOICES = ["city", "basin", "cluster", "province", "hubei", "registry", "realistic",
           "price_taker", "auction", "benchmark", "grandfathering", "registry",
           "baseline_emissions", "Wuhan", "武汉", "", "../x.toml", "."]

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(CHOICES),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2300, 1, 1)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["from", "to", "share", "x", "Wuhan"]), inner,
                    max_size=3)), max_leaves=6)
key_paths = st.one_of(st.sampled_from(KEY_PATHS), st.from_regex(
    r"[a-z_]{1,8}(\.[a-z_0-9]{1,8}){0,3}", fullmatch=True))


def toml_value(value) -> str:
    """TOML text of a value (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(entries: list[tuple[str, object]]) -> str:
    """Nest dotted keys into tables, later keys replacing earlier ones, then write TOML."""
    doc: dict = {}
    for path, value in entries:
        node = doc
        *parents, last = path.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


MESSAGE = re.compile(r"^[^:\n]+: \S.*$")


def assert_clean(result) -> None:
    """Exit 0, or exit 2 with ``file: field: reason`` lines and no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().split("\n")
        assert lines, "exit 2 without a message"
        for line in lines:
            assert MESSAGE.match(line), line


BASE = """name = "fuzz"
[time]
years = 2
periods_per_year = 2
[instruments.so2]
[instruments.co2]
cap = { share = 0.95 }
"""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(key_paths, values), min_size=1, max_size=6))
def test_random_scenario_files_fail_cleanly(tmp_path_factory, entries):
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(toml_document(entries), encoding="utf-8")
    assert_clean(runner.invoke(app, ["validate", str(path)]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(st.one_of(
    st.tuples(key_paths, values).map(lambda kv: f"{kv[0]}={toml_value(kv[1])}"),
    st.tuples(key_paths, st.text(max_size=10)).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.text(max_size=20)), min_size=1, max_size=4))
def test_random_overrides_fail_cleanly(tmp_path_factory, overrides):
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(BASE, encoding="utf-8")
    args = ["validate", str(path)]
    for text in overrides:
        args += ["--set", text]
    assert_clean(runner.invoke(app, args))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode),
                         st.sampled_from([b"[time", b"a = ", b"x = 1\nx = 2", b"extends = 3",
                                          b'extends = "s.toml"', b'extends = "."',
                                          b"[instruments]\nso2 = 5", b"\xef\xbb\xbfname = 1",
                                          b"time = 3\n[time.x]", b"a." * 40 + b"b = 1"])))
def test_random_bytes_fail_cleanly(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_bytes(content)
    assert_clean(runner.invoke(app, ["validate", str(path)]))


def test_non_finite_numbers_are_refused_with_the_file_and_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(BASE + "penalty = { per_tonne_cny = inf }\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}: instruments.co2.penalty.per_tonne_cny: inf is not a finite number" \
        in result.stderr
    path.with_name("t.toml").write_text(BASE, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path.with_name("t.toml")), "--set",
                                 "instruments.so2.cap_t=nan"])
    assert result.exit_code == 2
    assert "--set: instruments.so2.cap_t: nan is not a finite number" in result.stderr


def test_real_entry_point_exits_2_without_traceback(tmp_path):
    """A few failures through the installed command, in a fresh interpreter."""
    path = tmp_path / "s.toml"
    path.write_text(BASE, encoding="utf-8")
    cases = [(["validate", str(path), "--set", "time.years=0"], "time.years"),
             (["validate", str(path), "--set", "instruments.so2.trading.scope=town"],
              "instruments.so2.trading.scope"),
             (["validate", str(tmp_path / "none.toml")], "scenario file not found"),
             (["run", str(path), "--set", "=3"], "expected dotted.key=value")]
    for args, expected in cases:
        proc = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr and "Traceback" not in proc.stderr
