"""Every string a chart shows, in English and Chinese, and the functions that read them.

:data:`STRINGS` is the one place for chart titles, axis labels, legend entries and notes
(new charts add their keys here); :func:`label` fills a key's ``{fields}``. Display names
of instruments, zones and industries, tonnage units and number formats live here too, so
a chart module only picks keys and never spells out text.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

import sim
from sim.scenario.geography import display_name

LANGS: tuple[str, ...] = ("en", "zh")
"""Accepted label languages."""

_INSTRUMENT_NAMES: dict[str, tuple[str, str]] = {
    "co2": ("CO₂", "二氧化碳"),
    "so2": ("SO₂", "二氧化硫"),
    "nox": ("NOₓ", "氮氧化物"),
    "cod": ("COD", "化学需氧量"),
    "nh3n": ("NH₃-N", "氨氮"),
    "vocs": ("VOCs", "挥发性有机物"),
}

STRINGS: dict[str, tuple[str, str]] = {
    "prices_title": ("Clearing prices by trading zone", "各交易区出清价格"),
    "prices_note": ("Each session's own clearing price: a gap where a zone had no orders; "
                    "without a trade, an indicative price (realistic profile: the previous "
                    "close; price takers: where bids and offers cross, or the best quote).",
                    "每场自身的出清价格：空白处为该交易区本场无申报；无成交时为指示价格"
                    "（现实行为：前一收盘价；价格接受者：买卖申报的交点或最优报价）。"),
    "prices_note_clusters": (
        "More than {n} cities: one panel per cluster, its cities' volume-weighted mean price "
        "(bold), the range from the lowest to the highest city's price in each session "
        "(band) and the cities with the highest and lowest mean price (thin, named).",
        "城市多于{n}个时按城市群分图：粗线为群内各市成交量加权均价，\n"
        "色带为每场最低至最高的城市价格，细线为全期均价最高与最低的城市（已标注）。"),
    "cluster_mean": ("Cluster: cities' mean price", "城市群：各市均价"),
    "cluster_range": ("Cluster: range of its cities", "城市群：各市价格区间"),
    "extreme_city": ("Highest- and lowest-priced city", "均价最高与最低的城市"),
    "penalty_line": ("Penalty per tonne short (no bid above it)",
                     "超排罚款标准（申报价不高于此）"),
    "at_penalty": ("Session priced at the penalty", "价格达到罚款标准的场次"),
    "penalty_off_scale": ("Penalties far above the prices, not drawn: {items} CNY/t.",
                          "罚款标准远高于价格，未绘出：\n{items}（元/吨）。"),
    "penalty_item": ("{inst} {value}", "{inst}{value}"),
    "price_axis_of": ("{inst} (CNY/t)", "{inst}（元/吨）"),
    "isolated_marker": ("Dot: a lone price (no orders before or after)",
                        "圆点：前后场均无申报的单场价格"),
    "session_marker": ("Dot: one trading session", "圆点：一个交易场次"),
    "cost_gap_note": ("Market above least cost by {gap} M CNY: between zones and years "
                      "{between}, non-trading firms {idle}, traders' frictions {traders}, "
                      "uneven timing in the year {timing}, offsets {offsets}; paid on top: "
                      "trading costs {paid}, penalties {penalties} (M CNY).",
                      "市场成本比最低成本高{gap}百万元：区域与年份间{between}，未交易企业"
                      "{idle}，交易摩擦{traders}，年内减排不均{timing}，抵消{offsets}；另付"
                      "交易成本{paid}、罚款{penalties}（百万元）。"),
    "price_axis": ("Price (CNY/t)", "价格（元/吨）"),
    "reserve_floor": ("Reserve floor", "储备托底价"),
    "reserve_ceiling": ("Reserve ceiling", "储备封顶价"),
    "session_axis": ("Trading session, by compliance year", "交易场次（按履约年度）"),
    "cities_of": ("{name}: cities", "{name}：各市"),
    "emissions_title": ("Emissions and allocation by city, {year}", "{year}年各市排放量与分配量"),
    "emissions_title_plain": ("Emissions and allocation by city", "各市排放量与分配量"),
    "emissions": ("Emissions", "排放量"),
    "allocation": ("Allocation", "分配量"),
    "quantity_axis": ("Quantity ({unit})", "数量（{unit}）"),
    "cap_use_title": ("Province total: emissions as share of cap", "全省排放量占总量上限比例"),
    "cap_use_axis": ("Emissions / cap (%)", "排放量/总量上限（%）"),
    "cap": ("Cap", "总量上限"),
    "cap_less_reserve": ("{inst}: cap less reserve", "{inst}：总量上限减储备"),
    "costs_title": ("Abatement cost: market, least and uniform-standard cost",
                    "减排成本：市场成本、最低成本与统一标准成本"),
    "costs_excluding_note": (
        "Excluding technology ({technology} M CNY, hatched, in every bar): market cost "
        "{market}, least cost {least}, uniform-standard cost {uniform} M CNY.",
        "不含技术成本（{technology}百万元，各柱斜线部分）：市场成本{market}，最低成本{least}，"
        "统一标准成本{uniform}（百万元）。"),
    "cost_axis": ("Cost (million CNY)", "成本（百万元）"),
    "market": ("Market cost", "市场成本"),
    "least_cost": ("Least cost", "最低成本"),
    "uniform": ("Uniform-standard cost", "统一标准成本"),
    "efficiency": ("Efficiency ratio {value}\n= {least} / {market}",
                   "效率比 {value}\n= {least}/{market}"),
    "technology_part": ("of which technologies (the same in all three)",
                        "其中技术改造成本（三者相同）"),
    "all_instruments": ("All instruments", "全部品种"),
    "flows_title": ("Inter-city trades, {years}", "跨市交易量（{years}年）"),
    "flows_title_plain": ("Inter-city trades", "跨市交易"),
    "exporter": ("Exporting (selling) city", "出让方城市"),
    "importer": ("Importing (buying) city", "受让方城市"),
    "flow_axis": ("Quantity traded ({unit})", "交易量（{unit}）"),
    "top_flows": ("Note: the {n} largest sellers and buyers are named; others are pooled.",
                  "注：仅列出交易量最大的{n}个出让方与受让方，其余合并为“其他城市”。"),
    "other_cities": ("Other cities", "其他城市"),
    "no_flows": ("No inter-city trades in this run", "本次运行无跨市交易"),
    "flow_map_title": ("{instrument}: net inter-city trades", "{instrument}：跨市净交易"),
    "flow_map_title_plain": ("Net inter-city trades", "跨市净交易"),
    "flow_map_note_all": (
        "Arrows: net selling city → net buying city, {years}; width proportional to tonnes.",
        "箭头：净出让城市→净受让城市，{years}年合计；宽度与交易吨数成正比。"),
    "flow_map_note": (
        "Arrows: net selling city → net buying city, {years}; width proportional to tonnes;\n"
        "the {n} largest drawn.",
        "箭头：净出让城市→净受让城市，{years}年合计；宽度与交易吨数成正比；\n仅绘制最大的{n}条。"),
    "cluster_legend": ("City cluster", "城市群"),
    "flow_map_legend": ("Net traded, {years} ({unit})", "{years}年净交易量（{unit}）"),
    "no_coordinates": ("The run's cities have no map coordinates", "本次运行的城市无地理坐标"),
    "longitude": ("Longitude (°E)", "经度（°E）"),
    "latitude": ("Latitude (°N)", "纬度（°N）"),
    "no_data": ("No data for this chart in this run", "本次运行无此图所需数据"),
    "other": ("Other", "其他"),
    "year_axis": ("Compliance year", "履约年度"),
    "cluster_title": ("Emissions and allocation by city cluster", "各城市群排放量与分配量"),
    "compliance_title": ("Compliance and penalties", "履约与罚款"),
    "met_title": ("Obligations met", "履约完成率"),
    "met_axis": ("Surrendered / owed (%)", "已清缴/应清缴（%）"),
    "penalty_title": ("Penalties", "罚款"),
    "penalty_axis": ("Penalties (million CNY)", "罚款（百万元）"),
    "no_penalties": ("No penalties in this run", "本次运行无罚款"),
    "reserve_title": ("Government reserve operations", "政府储备操作"),
    "reserve_bought": ("Bought (at the floor)", "托底买入"),
    "reserve_sold": ("Sold (at the ceiling)", "封顶卖出"),
    "reserve_stock": ("Stock at year end", "年末储备量"),
    "no_reserve": ("The reserve did not act in this run", "本次运行储备未进行操作"),
    "province": ("Province", "全省"),
    "other_industries": ("other industries", "其他行业"),
    "bands_title": ("Clearing prices across replicated runs: median and {low}–{high}% band",
                    "多次重复运行的出清价格：中位数与{low}%–{high}%区间"),
    "median": ("Median", "中位数"),
    "sweep_point": ("Sweep point: {setting}", "参数组合：{setting}"),
    "band": ("{low}–{high}% of runs", "{low}%–{high}%分位区间"),
    "zones_mean": ("Mean over zones (volume-weighted)", "各交易区成交量加权均价"),
    "bands_note": ("{n} runs of the same scenario with different random seeds.",
                   "同一情景、不同随机种子的{n}次运行。"),
    "bands_note_pooled": (
        "{n} runs, different seeds; more than {zones} zones: their volume-weighted mean.",
        "{n}次运行，随机种子不同；交易区多于{zones}个时取成交量加权均价。"),
    "source_runs": (
        "Source: etsim {version}, scenario {scenario}, {n} runs",
        "来源：etsim {version}，情景 {scenario}，{n}次运行",
    ),
    "compare_prices_title": ("Yearly mean price (volume-weighted) by scenario",
                             "各情景年均成交价格（按成交量加权）"),
    "compare_emissions_title": ("Province emissions as share of cap by scenario",
                                "各情景全省排放量占总量上限比例"),
    "compare_costs_title": ("Abatement cost by scenario: market vs benchmarks",
                            "各情景减排成本：市场结果与基准对比"),
    "market_short": ("Market", "市场"),
    "least_cost_short": ("Least cost", "最低成本"),
    "uniform_short": ("Uniform", "统一标准"),
    "run_seed": ("{name} (seed {seed})", "{name}（种子{seed}）"),
    "source_compare": ("Source: etsim {version}, {n} runs: {scenarios}",
                       "来源：etsim {version}，{n}次运行：{scenarios}"),
    "report_title": ("Emissions trading simulation: briefing", "排放权交易模拟：简报"),
    "report_subtitle": ("{n} run(s): {names} · etsim {version}",
                        "共{n}次运行：{names} · etsim {version}"),
    "text_prices": ("Prices (mean over the run, final session): {items}.",
                    "价格（全期成交量加权均价，末场价格）：{items}。"),
    "text_price": ("{inst} {mean} and {final} CNY/t", "{inst} {mean}元/吨、{final}元/吨"),
    "text_caps": ("Emissions as share of the cap in {year}: {items}.",
                  "{year}年排放量占总量上限比例：{items}。"),
    "text_cap_item": ("{inst} {pct}%", "{inst} {pct}%"),
    "text_costs": ("Market cost {cost} against a least cost of {least} (efficiency ratio "
                   "{ratio} = least cost / market cost) and a uniform-standard cost of "
                   "{uniform}.",
                   "市场成本{cost}，最低成本{least}（效率比{ratio}=最低成本/市场成本），"
                   "统一标准成本{uniform}。"),
    "text_costs_technology": (
        "Market cost {cost} against a least cost of {least} (efficiency ratio {ratio} = "
        "least cost / market cost) and a uniform-standard cost of {uniform}, each with the "
        "{technology} that the enterprises' adopted technologies cost; excluding technology "
        "{cost_x}, {least_x} and {uniform_x}.",
        "市场成本{cost}，最低成本{least}（效率比{ratio}=最低成本/市场成本），统一标准成本"
        "{uniform}，三者均含企业所采用技术的成本{technology}；不含技术成本时分别为{cost_x}、"
        "{least_x}和{uniform_x}。"),
    "text_flows": ("Inter-city trades: {items}.", "跨市交易：{items}。"),
    "text_flow_item": ("{inst} {total} ({share}% of all traded), largest net flow {origin} → "
                       "{to} ({top})",
                       "{inst}{total}（占成交量{share}%），最大净流向{origin}→{to}（{top}）"),
    "text_no_flows": ("No rights were traded between cities.", "无跨市交易。"),
    "text_penalties": ("Penalties: {value} in total.", "罚款合计{value}。"),
    "text_no_penalties": ("No penalties were due.", "无罚款。"),
    "headlines_title": ("Headline figures", "主要指标"),
    "row_market_with": ("Market cost, with technology (million CNY)",
                        "市场成本，含技术（百万元）"),
    "row_least_with": ("Least cost, with technology (million CNY)", "最低成本，含技术（百万元）"),
    "row_uniform_with": ("Uniform-standard cost, with technology (million CNY)",
                         "统一标准成本，含技术（百万元）"),
    "row_ratio": ("Efficiency ratio (least / market cost, with technology)",
                  "效率比（最低成本/市场成本，含技术）"),
    "row_market_excluding": ("Market cost, excluding technology (million CNY)",
                             "市场成本，不含技术（百万元）"),
    "row_least_excluding": ("Least cost, excluding technology (million CNY)",
                            "最低成本，不含技术（百万元）"),
    "row_uniform_excluding": ("Uniform-standard cost, excluding technology (million CNY)",
                              "统一标准成本，不含技术（百万元）"),
    "row_technology": ("Technology cost (million CNY)", "技术成本（百万元）"),
    "row_penalties": ("Penalties (million CNY)", "罚款（百万元）"),
    "row_mean_price": ("{inst} mean price (CNY/t)", "{inst}均价（元/吨）"),
    "row_final_price": ("{inst} final price (CNY/t)", "{inst}末场价格（元/吨）"),
    "row_cap": ("{inst} emissions as % of cap, last year", "{inst}末年排放量占总量上限（%）"),
    "row_traded": ("{inst} traded ({unit})", "{inst}成交量（{unit}）"),
    "row_intercity": ("{inst} inter-city trades ({unit})", "{inst}跨市交易量（{unit}）"),
    "row_compliance": ("{inst} enterprise-years compliant (%)", "{inst}履约企业年占比（%）"),
    "row_met": ("{inst} tonnes owed surrendered (%)", "{inst}应清缴量完成率（%）"),
    "settings_title": ("Scenario settings", "情景设置"),
    "value": ("Value", "取值"),
    "settings_diff_title": ("Scenario settings that differ between runs",
                            "各次运行之间不同的情景设置"),
    "settings_same": ("All runs share the same scenario settings.", "各次运行的情景设置相同。"),
    "settings_note": ("Keys as in the scenario file (see etsim schema).",
                      "设置项名称与情景文件中的键名一致（见 etsim schema）。"),
    "effect_heading": ("{group} against {reference} (settings changed: {settings}; {noise}):",
                       "{group}与{reference}相比（改变的设置：{settings}；{noise}）："),
    "effect_checked": ("seed noise checked over {n} seeds",
                       "已用{n}个随机种子检验随机波动"),
    "effect_unchecked": ("one seed each, not checked against seed noise: "
                         "etsim compare --replicates N",
                         "每个情景仅一个随机种子，未检验随机波动（etsim compare --replicates N）"),
    "effect_direct": ("{inst}, its own settings changed: {figures}.",
                      "{inst}（自身设置改变）：{figures}。"),
    "effect_indirect": ("{inst} moved through {channel}: {figures}; {detail}.",
                        "{inst}经由{channel}而变化：{figures}；{detail}。"),
    "effect_noise": ("{inst} changed within seed noise (mostly through {channel}): {figures}.",
                     "{inst}的变化在随机波动范围内（主要经由{channel}）：{figures}。"),
    "effect_still": ("{insts}: no change beyond {pct}% (or beyond seed noise).",
                     "{insts}：变化不超过{pct}%（或不超过随机波动）。"),
    "effect_least_cost_cny": ("least cost", "最低成本"),
    "effect_mean_price_cny_per_t": ("mean price", "均价"),
    "effect_emissions_t": ("emissions", "排放量"),
    "effect_market_cost_cny": ("market cost", "市场成本"),
    "effect_se": (" ({mean} ± {se} {unit} over {n} seeds)", "（{mean}±{se}{unit}，{n}个种子）"),
    "effect_unit_mcny": ("M CNY", "百万元"),
    "effect_unit_price": ("CNY/t", "元/吨"),
    "effect_unit_t": ("t", "吨"),
    "channel_technology": ("technology adoption", "技术采用"),
    "channel_output": ("output", "产量"),
    "channel_offsets": ("offsets", "抵消"),
    "channel_none": ("no channel measured", "未测得传导渠道"),
    "effect_technology_less": (
        "technologies removed {tonnes} less ({n} enterprises changed technologies, "
        "technology cost {cost} M CNY)",
        "技术减排量减少{tonnes}（{n}家企业改变技术选择，技术成本{cost}百万元）"),
    "effect_technology_more": (
        "technologies removed {tonnes} more ({n} enterprises changed technologies, "
        "technology cost {cost} M CNY)",
        "技术减排量增加{tonnes}（{n}家企业改变技术选择，技术成本{cost}百万元）"),
    "effect_abatement": ("enterprises abated {tonnes} {more} themselves",
                         "企业自行减排{more}{tonnes}"),
    "more": ("more", "增加"),
    "less": ("less", "减少"),
    "effect_output": ("output {pct} ({tonnes} t)", "产量{pct}（{tonnes}吨）"),
    "effect_offsets": ("offsets {tonnes} t", "抵消量{tonnes}吨"),
    "effect_no_offsets": ("offsets unchanged", "抵消量不变"),
    "effects_title": ("Effects across instruments", "跨品种影响"),
    "source": (
        "Source: etsim {version}, scenario {scenario}, seed {seed}",
        "来源：etsim {version}，情景 {scenario}，随机种子 {seed}",
    ),
}
"""UI strings as (English, Chinese); ``{name}`` fields are filled by :func:`label`."""

_UNITS: dict[str, tuple[tuple[float, str], ...]] = {
    "en": ((1e6, "Mt"), (1e3, "kt"), (1.0, "t")),
    "zh": ((1e8, "亿吨"), (1e4, "万吨"), (1.0, "吨")),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language.

    Raises:
        ValueError: If ``lang`` is not ``"en"`` or ``"zh"``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; accepted: {', '.join(LANGS)}")
    return lang


def label(key: str, lang: str = "en", **fields: Any) -> str:
    """A UI string in English or Chinese.

    Args:
        key: Key into :data:`STRINGS`.
        lang: ``"en"`` or ``"zh"``.
        **fields: Values for the string's ``{placeholders}``.

    Returns:
        The formatted string.
    """
    text = STRINGS[key][LANGS.index(check_lang(lang))]
    return text.format(**fields) if fields else text


def instrument_name(instrument: str, lang: str = "en") -> str:
    """Display name of an instrument id (``"so2"`` → ``"SO₂"`` / ``"二氧化硫"``)."""
    names = _INSTRUMENT_NAMES.get(instrument.lower())
    if names is None:
        return instrument.upper()
    return names[LANGS.index(check_lang(lang))]


def zone_name(zone: str, lang: str = "en") -> str:
    """Display name of a city, cluster id or ``"province"``, or of a market split by
    industry group (``"Wuhan · power"``: the zone's name and, in Chinese, the
    industries'); unknown names unchanged."""
    from sim.scenario.industries import OTHER_INDUSTRIES
    from sim.world.networks import POOL_SEPARATOR

    if POOL_SEPARATOR in zone:
        place, group = zone.split(POOL_SEPARATOR, 1)
        return zone_name(place, lang) + POOL_SEPARATOR + (
            label("other_industries", lang) if group == OTHER_INDUSTRIES
            else "+".join(_industry_names(lang).get(i, i) for i in group.split("+")))
    if zone == "province":
        return label("province", lang)
    return display_name(zone, check_lang(lang))


@cache
def _industry_names(lang: str) -> dict[str, str]:
    """Industry ids to display names: ids in English (short), names in Chinese."""
    from sim.scenario.industries import load_industry_table

    table = load_industry_table()
    names = table["industry"] if check_lang(lang) == "en" else table["name_zh"]
    return dict(zip(table["industry"], names, strict=True))


def quantity_unit(max_value: float, lang: str = "en") -> tuple[float, str]:
    """A readable tonnage unit for values up to ``max_value``.

    English switches to kt and Mt at 1,000 of them; Chinese to 万吨 and 亿吨 from 0.5 of
    them (6,000 吨 reads as 0.6 万吨), keeping tick labels short.

    Returns:
        ``(divisor, unit)``, e.g. ``(1e3, "kt")``.
    """
    least = 1.0 if check_lang(lang) == "en" else 0.5
    for divisor, unit in _UNITS[lang]:
        if abs(max_value) >= least * divisor:
            return divisor, unit
    return 1.0, _UNITS[lang][-1][1]


def format_numbers(values: Any) -> list[str]:
    """Bar or cell labels with one number format for the whole set (``1,234``, ``12.3``,
    ``1.23``, ``0.012``), chosen from the largest value (all zeros: ``0``); non-finite
    values give ``–``."""
    array = np.asarray(values, dtype=float)
    finite = np.abs(array[np.isfinite(array)])
    top = float(finite.max()) if finite.size else 0.0
    decimals = 0 if top >= 100 or top == 0 else 1 if top >= 10 else 2 if top >= 0.1 else 3
    return [f"{v:,.{decimals}f}" if math.isfinite(v) else "–" for v in array]


def source_line(summary: dict[str, Any], lang: str = "en") -> str:
    """The provenance line printed at the bottom of every figure."""
    return label(
        "source",
        lang,
        version=sim.__version__,
        scenario=summary.get("scenario", "?"),
        seed=summary.get("seed", "?"),
    )
