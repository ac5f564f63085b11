"""The what-if page's words in English and Chinese: its own strings, the levers' labels
and units, and the names of the choices they offer. Chart titles, axes and the headline
table's row labels come from ``sim.charts.style`` (the project's chart label table), so the
page and the charts say the same thing.
"""

from __future__ import annotations

from typing import Any

LANGS = ("en", "zh")

UNITS: dict[str, tuple[str, str]] = {
    "share_of_baseline": ("share of baseline emissions, 0.9 = 90%", "占基准排放比例，0.9 = 90%"),
    "per_year": ("fraction per year, 0.02 = 2%/yr", "每年比例，0.02 = 每年2%"),
    "share_of_cap": ("share of the cap, 0.08 = 8%", "占总量上限比例，0.08 = 8%"),
    "share_of_allocation": ("share of allocation, 0.1 = 10%", "占分配量比例，0.1 = 10%"),
    "cny_per_t": ("CNY/t", "元/吨"),
    "t_per_yr": ("t/yr", "吨/年"),
    "t_per_t": ("t surrendered per t covered", "吨/吨"),
    "per_enterprise_year": ("projects per enterprise per year", "每家企业每年新项目数"),
    "choice": ("", ""),
    "whole_number": ("whole number", "整数"),
}
"""Unit of each lever, as shown beside it."""

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("What if? Emissions trading in Hubei", "如果……？湖北排放权交易情景模拟"),
    "language": ("Language", "语言"),
    "scenario": ("Base scenario", "基准情景"),
    "own_file": ("…or your own scenario file (path)", "……或自己的情景文件（路径）"),
    "use_file": ("Use this file", "使用此文件"),
    "run_settings": ("Run settings (both runs)", "运行设置（两次运行相同）"),
    "run_settings_note": ("Applied to the base and the what-if run alike, so the difference "
                          "is the levers' alone.",
                          "同时用于基准运行和假设运行，两者之差只来自下方政策杠杆。"),
    "extra_keys": ("Other keys, one dotted.key=value a line (as etsim run --set)",
                   "其他设置，每行一个 dotted.key=value（同 etsim run --set）"),
    "levers": ("Policy levers", "政策杠杆"),
    "general": ("All instruments", "全部品种"),
    "key": ("key", "键"),
    "base_value": ("base", "基准"),
    "not_set": ("not set", "未设置"),
    "run": ("Run", "运行"),
    "cancel": ("Cancel", "取消"),
    "reset": ("Reset levers", "重置杠杆"),
    "invalid": ("Fix the marked settings to run.", "请先修正标出的设置。"),
    "same_as": ("Same as the command line:", "等同于命令行："),
    "starting": ("Starting…", "正在启动……"),
    "simulating": ("Simulating {name}: session {done}/{total}",
                   "正在模拟 {name}：第 {done}/{total} 场"),
    "saving": ("Writing the run folder and charts of {name}", "正在写入 {name} 的运行结果和图表"),
    "extras": ("Drawing the other language's charts and the flow maps…",
               "正在绘制另一种语言的图表和流向图……"),
    "cancelled": ("Cancelled.", "已取消。"),
    "done_in": ("Runs ready in {seconds} s.", "运行完成，用时 {seconds} 秒。"),
    "failed": ("The run failed:", "运行失败："),
    "no_results": ("Change a lever and press Run; the base scenario runs too, once.",
                   "修改政策杠杆后点击“运行”；基准情景也会运行（仅一次）。"),
    "headlines": ("Headline figures", "主要指标"),
    "base": ("Base", "基准"),
    "what_if": ("What-if", "假设情景"),
    "difference": ("Difference", "差值"),
    "unchanged": ("No lever changed: the what-if run is the base run.",
                  "未修改任何杠杆：假设情景即基准情景。"),
    "charts": ("Charts", "图表"),
    "drawing": ("Drawing…", "正在绘制……"),
    "flow_map": ("Flow map", "流向图"),
    "save_as": ("Save as scenario", "另存为情景"),
    "save_path": ("File to write (extends the base)", "写入文件（继承基准情景）"),
    "save_name": ("Scenario name", "情景名称"),
    "replace": ("Replace the file if it exists", "文件已存在时替换"),
    "saved": ("Wrote {path}", "已写入 {path}"),
    "download": ("Download run (zip)", "下载运行结果（zip）"),
    "run_folder": ("Run folder: {path}", "运行结果文件夹：{path}"),
    "no_instruments": ("No instrument declared in this scenario.", "该情景未声明任何品种。"),
}
"""The page's own strings as (English, Chinese); chart and headline labels come from
``sim.charts.style``."""

LABELS: dict[str, tuple[str, str]] = {
    "cap.share": ("Cap, first year", "总量上限（首年）"),
    "cap.annual_decline": ("Cap decline", "总量上限年降幅"),
    "cap_t": ("Cap", "总量上限"),
    "trading.scope": ("Trading scope", "交易范围"),
    "trading.interzone_ratio": ("Inter-city trading ratio", "跨市交易比例"),
    "reserve.share": ("Reserve share", "储备比例"),
    "reserve.floor_cny_per_t": ("Reserve floor price", "储备托底价"),
    "reserve.ceiling_cny_per_t": ("Reserve ceiling price", "储备封顶价"),
    "penalty.per_tonne_cny": ("Penalty", "罚款"),
    "offsets.limit_share": ("Offsets limit (CCER, sinks)", "抵销使用上限（CCER、碳汇）"),
    "new_projects.entry_rate_per_year": ("New projects", "新建项目"),
    "new_projects.ratio": ("New-project substitution ratio", "新建项目削减替代比例"),
    "adjustment.mode": ("Indicator adjustment (调剂)", "指标调剂方式"),
    "behavior.profile": ("Behaviour profile", "企业行为模式"),
    "seed": ("Random seed", "随机种子"),
}

CHOICE_NAMES: dict[str, tuple[str, str]] = {
    "city": ("city", "市内"), "basin": ("river basin", "流域内"),
    "cluster": ("city cluster", "城市群内"), "province": ("province", "全省"),
    "none": ("none", "不调剂"), "pool": ("cluster pool", "城市群统筹"),
    "priced": ("priced transfer", "有偿调剂"),
    "realistic": ("realistic (frictions)", "现实（含交易摩擦）"),
    "price_taker": ("price taker (frictionless)", "价格接受者（无摩擦）"),
}
"""Display names of the choices a lever offers (the value written is the key)."""


def text(key: str, lang: str = "en", **fields: Any) -> str:
    """A page string in English or Chinese (``STRINGS``)."""
    value = STRINGS[key][LANGS.index(lang)]
    return value.format(**fields) if fields else value


def choice_name(value: str, lang: str = "en") -> str:
    """Display name of a choice (``"cluster"`` → ``"city cluster"`` / ``"城市群内"``)."""
    names = CHOICE_NAMES.get(value)
    return value if names is None else names[LANGS.index(lang)]
