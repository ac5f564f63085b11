"""The what-if page (Solara): ``WhatIf`` is the component, shown by ``etsim app`` in the
browser (``Page``) and displayable in a Jupyter cell.

Left: the base scenario (scenarios/ or a file of one's own), the language, run settings
applied to both runs (seed, any other ``--set`` keys, e.g. a smaller population) and the
policy levers, each with its unit, its scenario key and the loader's message when its
value is refused. Right: progress with a cancel button, then the headline figures of the
base and the what-if run with their difference, the charts, "save as scenario" and
"download run".
"""

from __future__ import annotations

import html
import os
import shlex
import time
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.app import controls as ctl
from sim.app.command import ENV_FONT, ENV_OUT, ENV_SCENARIO, ENV_SCENARIOS
from sim.app.labels import choice_name, text
from sim.app.results import Results
from sim.app.runner import BackgroundRun, Plan, plan_runs, remember, zip_run
from sim.app.scenario_file import save_scenario
from sim.errors import InputError
from sim.scenario import load_scenario

_MUTED = ('color: #555; font-size: 12px; font-family: "etsim-cjk", monospace; '
          "line-height: 1.35;")
_CSS = """
.etsim-lever { margin: 4px 0 12px 0; }
.etsim-controls { max-width: 520px; }
.etsim-command { word-break: break-all; }
"""
_ERROR = "color: #b00020; font-size: 13px;"


def scenario_choices(scenario: str | Path | None, folder: str | Path | None) -> list[str]:
    """The scenario picker's files: the given scenario, then *.toml in ``folder`` (default
    ./scenarios) and in the given scenario's folder."""
    found: list[str] = [str(scenario)] if scenario else []
    folders = [Path(folder) if folder else Path("scenarios")]
    if scenario:
        folders.append(Path(scenario).parent)
    for place in folders:
        if place.is_dir():
            found += [str(p) for p in sorted(place.glob("*.toml"))]
    return list(dict.fromkeys(found))


@solara.component
def LeverControl(lever: ctl.Lever, value: Any, on_value: Any, lang: str, errors: list[str]):
    """One lever: its input (label with unit), key, base value, accepted values, errors."""
    changed = value is not None and not ctl.same_value(value, lever.base)
    shown = lever.base if value is None else value
    with solara.Column(gap="0px", classes=["etsim-lever", lever.css_class]):
        solara.Text(("● " if changed else "") + lever.label(lang),
                    style="font-size: 13px; font-weight: 500;" + (
                        " color: #0072B2;" if changed else ""), classes=["lever-label"])
        if lever.kind == "choice":
            items = [{"text": choice_name(c, lang), "value": c} for c in lever.choices]
            solara.v.Select(items=items, v_model=shown, dense=True, on_v_model=on_value,
                            hide_details=True, class_="mt-0 pt-0")
        elif lever.kind == "int":
            solara.InputInt("", value=shown, on_value=on_value, dense=True,
                            continuous_update=False, classes=["mt-0", "pt-0"])
        else:
            solara.InputFloat("", value=shown, on_value=on_value, dense=True,
                              optional=lever.base is None, continuous_update=False,
                              classes=["mt-0", "pt-0"])
        base = text("not_set", lang) if lever.base is None else (
            choice_name(lever.base, lang) if lever.kind == "choice" else f"{lever.base:g}")
        solara.Text(f"{lever.key} · {text('base_value', lang)} {base} · {lever.accepted()}",
                    style=_MUTED)
        for message in errors:
            solara.Text(message, style=_ERROR, classes=["lever-error"])


@solara.component
def WhatIf(scenario: str | None = None, scenarios_dir: str | None = None,
           out_root: str = "runs/app", lang: str = "en", settings: str = ""):
    """The what-if page.

    Args:
        scenario: The base scenario file shown first (default: scenarios/baseline.toml
            where it exists).
        scenarios_dir: Folder the picker lists (default ./scenarios).
        out_root: Where the runs are written, one folder per resolved scenario.
        lang: ``en`` or ``zh`` at start.
        settings: Initial "other keys" for both runs, one ``dotted.key=value`` a line
            (e.g. ``population.scale=0.1`` for quick looks).
    """
    choices = solara.use_memo(lambda: scenario_choices(scenario, scenarios_dir),
                              dependencies=[scenario, scenarios_dir])
    default = scenario or next((c for c in choices if Path(c).name == "baseline.toml"),
                               choices[0] if choices else "")
    lang_, set_lang = solara.use_state(lang)
    base_path, set_base_path = solara.use_state(default)
    own_path, set_own_path = solara.use_state("")
    values, set_values = solara.use_state({})
    extra_text, set_extra_text = solara.use_state(settings)
    shown, set_shown = solara.use_state(None)  # (base_dir, what_if_dir, unchanged)
    status, set_status = solara.use_state(None)  # (message, progress or None)
    failure, set_failure = solara.use_state(None)
    version, set_version = solara.use_state(0)
    save_path, set_save_path = solara.use_state("")
    save_name, set_save_name = solara.use_state("")
    replace, set_replace = solara.use_state(False)
    save_message, set_save_message = solara.use_state(None)
    current = solara.use_ref(None)

    def load_base() -> tuple[list[ctl.Lever], str | None, Any]:
        try:
            loaded = load_scenario(base_path)
        except InputError as exc:
            return [], exc.message, None
        return ctl.levers_for(loaded.scenario), None, loaded

    levers, base_error, base_loaded = solara.use_memo(load_base, dependencies=[base_path])
    keys = [lever.key for lever in levers]
    try:
        extras = ctl.extra_overrides(extra_text)
        extra_error = None
    except InputError as exc:
        extras, extra_error = [], exc.message
    base_sets = extras + ctl.overrides(levers, values, policy=False)
    what_if_sets = base_sets + ctl.overrides(levers, values, run_settings=False)
    checked = solara.use_memo(lambda: ctl.check(base_path, what_if_sets, keys),
                              dependencies=[base_path, tuple(what_if_sets)])
    valid = base_error is None and extra_error is None and checked.loaded is not None

    def set_lever(key: str, value: Any) -> None:
        set_values(lambda old: {**old, key: value})

    def choose_base(path: str) -> None:
        set_base_path(path)
        set_values({})
        set_shown(None)
        set_failure(None)
        set_save_message(None)

    def execute(plan: Plan, language: str) -> None:
        """The background task: start the process, follow its reports, show results."""
        started = time.perf_counter()
        run = BackgroundRun(plan.jobs, language)
        current.current = run
        if plan.jobs:
            run.start()
        saved, ready = False, ("cancelled", {})
        while True:
            if not task.is_current():  # Run pressed again: follow the new runs instead
                return
            status_now = run.poll(0.25) if plan.jobs else run.status
            if not saved and len(status_now.run_dirs) == len(plan.jobs):
                saved = True
                remember(plan.base, plan.base_dir)
                remember(plan.what_if, plan.what_if_dir)
                set_shown((str(plan.base_dir), str(plan.what_if_dir),
                           plan.base_dir == plan.what_if_dir))
                ready = ("done_in", {"seconds": f"{time.perf_counter() - started:.1f}"})
            if status_now.phase == "error":
                set_failure(status_now.error)
                set_status(None)
                return
            if status_now.phase == "cancelled":
                set_status(([ready], None))
                return
            if saved:
                set_version(len(status_now.extras))
                finished = status_now.phase == "finished" or not plan.jobs
                set_status(([ready] if finished else [ready, ("extras", {})], None))
                if finished:
                    return
                continue
            name = plan.jobs[status_now.job].name
            message = ("saving", {"name": name}) if status_now.phase == "saving" else (
                "simulating", {"name": name, "done": status_now.done,
                               "total": status_now.total or "…"})
            set_status(([message], run.progress))

    task = solara.lab.use_task(execute, dependencies=None)

    def start_run() -> None:
        set_failure(None)
        set_save_message(None)
        try:
            plan = plan_runs(base_path, base_sets, what_if_sets, out_root)
        except InputError as exc:
            set_failure(exc.message)
            return
        set_status(([("starting", {})], 0.0))
        task(plan, lang_)

    def cancel_run() -> None:
        if current.current is not None:
            current.current.cancel()

    def save() -> None:
        name = save_name or (f"{base_loaded.scenario.name}_what_if" if base_loaded
                             else "what_if")
        target = save_path or str(Path(base_path).parent / f"{name}.toml")
        try:
            written = save_scenario(base_path, what_if_sets, target, name, force=replace)
            set_save_message(("ok", text("saved", lang_, path=written)))
        except InputError as exc:
            set_save_message(("error", exc.message))

    running = task.pending and status is not None and status[1] is not None
    solara.Style(_CSS + _font_css())
    with solara.Column(style="padding: 8px 24px; overflow-x: hidden;"), \
            solara.Columns([1, 2], classes=["etsim-what-if"]):
        with solara.Column(classes=["etsim-controls"]):
            solara.HTML(tag="h2", unsafe_innerHTML=html.escape(text("title", lang_)))
            with solara.ToggleButtonsSingle(value=lang_, on_value=set_lang,
                                            classes=["etsim-lang"]):
                solara.Button("English", value="en")
                solara.Button("中文", value="zh")  # also loads the Chinese font at once
            solara.Select(text("scenario", lang_), values=choices, value=base_path
                          if base_path in choices else None, on_value=choose_base)
            with solara.Row():
                solara.InputText(text("own_file", lang_), value=own_path,
                                 on_value=set_own_path, continuous_update=True)
                solara.Button(text("use_file", lang_), on_click=lambda: choose_base(own_path),
                              disabled=not own_path, outlined=True)
            if base_error:
                solara.Text(base_error, style=_ERROR, classes=["base-error"])
            _heading(text("run_settings", lang_))
            solara.Text(text("run_settings_note", lang_), style="font-size: 12px;")
            for lever in (lv for lv in levers if lv.run_setting):
                LeverControl(lever, values.get(lever.key),
                             lambda v, k=lever.key: set_lever(k, v), lang_,
                             checked.by_key.get(lever.key, []))
            solara.InputTextArea(text("extra_keys", lang_), value=extra_text,
                                 on_value=set_extra_text, rows=2, continuous_update=False)
            if extra_error:
                solara.Text(extra_error, style=_ERROR, classes=["extra-error"])
            _heading(text("levers", lang_))
            groups: dict[str | None, list[ctl.Lever]] = {}
            for lever in levers:
                if not lever.run_setting:
                    groups.setdefault(lever.instrument, []).append(lever)
            for index, (instrument, members) in enumerate(groups.items()):
                title = text("general", lang_) if instrument is None else _instrument(
                    instrument, lang_)
                with solara.Details(summary=title, expand=index == 0):
                    for lever in members:
                        LeverControl(lever, values.get(lever.key),
                                     lambda v, k=lever.key: set_lever(k, v), lang_,
                                     checked.by_key.get(lever.key, []))
        with solara.Column(classes=["etsim-results"]):
            with solara.Row():
                solara.Button(text("run", lang_), on_click=start_run, color="primary",
                              disabled=not valid or running, classes=["etsim-run"])
                solara.Button(text("cancel", lang_), on_click=cancel_run,
                              disabled=not running, classes=["etsim-cancel"])
                solara.Button(text("reset", lang_), on_click=lambda: set_values({}),
                              text=True, disabled=not values)
            for message in checked.general:
                solara.Text(message, style=_ERROR, classes=["general-error"])
            if not valid and base_error is None:
                solara.Text(text("invalid", lang_), style=_ERROR)
            if valid:
                command = shlex.join(["etsim", "run", base_path,
                                      *(a for s in what_if_sets for a in ("--set", s))])
                solara.Text(f"{text('same_as', lang_)} {command}", style=_MUTED,
                            classes=["etsim-command"])
            if status is not None:
                solara.Text(" ".join(text(key, lang_, **fields) for key, fields in status[0]),
                            classes=["etsim-status"])
                if status[1] is not None:
                    solara.ProgressLinear(max(status[1], 0.01) * 100, classes=["etsim-progress"])
            if failure:
                solara.Error(f"{text('failed', lang_)} {failure}", classes=["etsim-failure"])
            if shown is None:
                solara.Info(text("no_results", lang_))
                return
            Results(shown[0], shown[1], lang_, version, shown[2])
            with solara.Card(text("save_as", lang_)):
                name = save_name or (f"{base_loaded.scenario.name}_what_if"
                                     if base_loaded else "what_if")
                solara.InputText(text("save_name", lang_), value=name,
                                 on_value=set_save_name)
                solara.InputText(text("save_path", lang_), value=save_path or str(
                    Path(base_path).parent / f"{name}.toml"), on_value=set_save_path,
                    classes=["etsim-save-path"])
                solara.Checkbox(label=text("replace", lang_), value=replace,
                                on_value=set_replace)
                solara.Button(text("save_as", lang_), on_click=save, disabled=not valid,
                              classes=["etsim-save"])
                if save_message:
                    style = _ERROR if save_message[0] == "error" else "color: #1b5e20;"
                    solara.Text(save_message[1], style=style, classes=["etsim-saved"])
            solara.FileDownload(lambda: zip_run(shown[1]), filename=f"{Path(shown[1]).name}.zip",
                                label=text("download", lang_))
            solara.Text(text("run_folder", lang_, path=shown[1]), style=_MUTED,
                        classes=["etsim-run-folder"])


def _font_css() -> str:
    """The bundled CJK font for Chinese labels where ``etsim app`` serves it (a browser
    without Chinese fonts shows boxes otherwise); in Jupyter, the browser's own fonts."""
    font = os.environ.get(ENV_FONT)
    if not font:
        return ""
    return ('@font-face { font-family: "etsim-cjk"; src: url("static/assets/' + font + '"); '
            "font-display: block; "
            "unicode-range: U+2E80-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF; }\n"

            '.v-application, .v-application .text-h1, .v-application .text-body-1 { '
            'font-family: Roboto, "etsim-cjk", sans-serif !important; }\n')


def _heading(title: str, tag: str = "h4") -> None:
    solara.HTML(tag=tag, unsafe_innerHTML=html.escape(title), style="margin: 12px 0 4px 0;")


def _instrument(instrument: str, lang: str) -> str:
    from sim.charts.labels import instrument_name

    return instrument_name(instrument, lang)


@solara.component
def Page():
    """The page ``etsim app`` serves; its arguments come through the environment."""
    solara.Title("etsim what-if")
    WhatIf(scenario=os.environ.get(ENV_SCENARIO) or None,
           scenarios_dir=os.environ.get(ENV_SCENARIOS) or None,
           out_root=os.environ.get(ENV_OUT, "runs/app"))
