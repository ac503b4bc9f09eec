"""Every ratio `make bench` prints, kept for machines and drawn for people.

``var/bench/results.json``::

    {"run": {...when, where, load generator, quick or not...},
     "ratios": [{"name": "cache.api.page.sqlite", "value": 0.83, "target": 0.8, ...}, ...]}

Each entry has at least ``name`` (str), ``value`` (a finite number, or null when
it was not measured) and ``target`` (a number, or null when there is none).
Extra keys say how to read it: ``better`` ("higher" or "lower": on which side
of the target the value must be), ``unit`` ("ratio" or "s") and ``note`` (for a
null value, always "not measured: <why>"). A figure the benchmark could not
measure is null with its reason, never an estimate.

``var/bench/ratios.png`` draws each value beside its target.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from app.config import var_dir

DATABASES = ("sqlite", "postgresql")

# name (without the database) -> (target, better, unit). Every name here is in results.json for each
# database, measured or not; benchmarks may add more names.
REQUIRED: dict[str, tuple[float | None, str, str]] = {
    "cache.api.page": (0.8, "higher", "ratio"),
    "cache.api.all": (0.8, "higher", "ratio"),
    "cache.html.page": (0.8, "higher", "ratio"),
    "cache.html.all": (0.8, "higher", "ratio"),
    "cache.api.page.no_tracking": (0.85, "higher", "ratio"),
    "app.ceiling_vs_bare_flask": (0.8, "higher", "ratio"),
    "mail.10k": (0.8, "higher", "ratio"),
    "mail.100k": (0.85, "higher", "ratio"),
    "mail.100k_cost": (0.9, "higher", "ratio"),
    "mail.vs_celery": (1.5, "higher", "ratio"),
    "reminders.100k_margin_s": (0.0, "higher", "s"),
}


class ResultsError(ValueError):
    """results.json does not have the documented shape."""


@dataclass
class Ratio:
    name: str
    value: float | None
    target: float | None
    better: str = "higher"
    unit: str = "ratio"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target


@dataclass
class Results:
    """The ratios of one run, in the order they were measured."""
    run: dict = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    # Called after every figure recorded (the runner rewrites results.json, so a run stopped half way
    # leaves every figure measured so far); not part of the document.
    on_change: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def add(self, name: str, value: float | None, target: float | None, *, better: str = "higher",
            unit: str = "ratio", note: str = "") -> Ratio:
        """Record a measured figure (a NaN or infinite value is recorded as not measured, with ``note``)."""
        if value is not None and not math.isfinite(value):
            value, note = None, note or "not measured: the measurement gave no finite value"
        ratio = Ratio(name, None if value is None else float(value), target, better, unit, note)
        self.ratios = [r for r in self.ratios if r.name != name] + [ratio]
        if self.on_change is not None:
            self.on_change()
        return ratio

    def not_measured(self, name: str, target: float | None, why: str, **kwargs) -> Ratio:
        return self.add(name, None, target, note=f"not measured: {why}", **kwargs)

    def names(self) -> set[str]:
        return {r.name for r in self.ratios}

    def fill_required(self, why_by_database: dict[str, str] | None = None) -> None:
        """Add every required name still missing as not measured (with the database's reason if given)."""
        reasons = why_by_database or {}
        for database in DATABASES:
            for base, (target, better, unit) in REQUIRED.items():
                name = f"{base}.{database}"
                if name not in self.names():
                    why = reasons.get(database, "the benchmark that measures it did not run or did not finish")
                    self.not_measured(name, target, why, better=better, unit=unit)


def required_target(base: str) -> float | None:
    return REQUIRED[base][0]


def to_document(results: Results) -> dict:
    return {"run": results.run, "ratios": [asdict(r) for r in results.ratios]}


def validate(document: object) -> None:
    """Raise ResultsError unless ``document`` has the documented shape."""
    if not isinstance(document, dict) or not isinstance(document.get("ratios"), list):
        raise ResultsError('results.json must be an object with a list under "ratios"')
    seen = set()
    for n, entry in enumerate(document["ratios"]):
        where = f"ratios[{n}]"
        if not isinstance(entry, dict):
            raise ResultsError(f"{where} is not an object")
        missing = {"name", "value", "target"} - entry.keys()
        if missing:
            raise ResultsError(f"{where} lacks {sorted(missing)}")
        if not isinstance(entry["name"], str) or not entry["name"]:
            raise ResultsError(f"{where}: name must be a non-empty string")
        if entry["name"] in seen:
            raise ResultsError(f"{where}: {entry['name']} appears twice")
        seen.add(entry["name"])
        for key in ("value", "target"):
            value = entry[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise ResultsError(f"{where} ({entry['name']}): {key} must be a finite number or null")
        if entry["value"] is None and not str(entry.get("note", "")).startswith("not measured: "):
            raise ResultsError(f"{where} ({entry['name']}): a null value needs a note 'not measured: <why>'")


def write_json(results: Results, path: Path) -> dict:
    document = to_document(results)
    validate(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    tmp.replace(path)
    return document


def draw_chart(ratios: Iterable[Ratio], path: Path, title: str = "") -> None:
    """One row per figure: a bar for the value (green met, red missed), a tick for the target, and
    "not measured" where there is no value. Seconds get a panel of their own (their scale differs)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    # Figures with a target only (the others are in results.json), each name's databases side by side.
    ratios = sorted((r for r in ratios if r.target is not None), key=lambda r: (r.name.rsplit(".", 1)[0], r.name))
    panels = [(unit, [r for r in ratios if r.unit == unit]) for unit in ("ratio", "s")]
    panels = [(unit, rows) for unit, rows in panels if rows]
    if not panels:
        raise ValueError("nothing to draw")
    heights = [max(1.0, 0.28 * len(rows) + 0.6) for _, rows in panels]
    figure, axes = pyplot.subplots(len(panels), 1, figsize=(9, sum(heights) + 0.8),
                                   gridspec_kw={"height_ratios": heights}, squeeze=False)
    for axis, (unit, rows) in zip(axes[:, 0], panels):
        _draw_panel(axis, unit, rows)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def _draw_panel(axis, unit: str, rows: list[Ratio]) -> None:
    positions = list(range(len(rows)))[::-1]
    values = [r.value or 0.0 for r in rows]
    # The scale follows the targets; a value far past them is drawn to the edge, its label says how far.
    span = max([abs(r.target or 0) * 1.6 for r in rows] + [abs(v) for v in values if unit == "s"] + [1.0])
    low = min([0.0] + [v * 1.15 for v in values])
    shown = [max(low, min(v, span)) for v in values]
    colours = ["#2e7d32" if r.met else "#c62828" if r.met is False else "#757575" for r in rows]
    axis.barh(positions, shown, color=colours, height=0.6)
    for y, r, x in zip(positions, rows, shown):
        if r.target is not None:
            axis.plot([r.target, r.target], [y - 0.4, y + 0.4], color="black", linewidth=2)
        label = "not measured" if r.value is None else f"{r.value:.2f}"
        axis.text(max(x, 0.0) + span * 0.01, y, label, va="center", fontsize=7)
    axis.set_yticks(positions)
    axis.set_yticklabels([r.name for r in rows], fontsize=7)
    axis.set_xlim(low, span * 1.15)
    axis.axvline(0, color="#999999", linewidth=0.5)
    axis.set_xlabel("seconds (black tick: target; a margin must exceed it, a request time stay under it)"
                    if unit == "s"
                    else "ratio (bar: measured, green met / red missed; black tick: target)", fontsize=8)


def results_dir(environ: dict[str, str] | None = None) -> Path:
    """``var/bench`` (``FILMCLUB_VAR_DIR`` moves ``var`` as everywhere else)."""
    return var_dir(os.environ if environ is None else environ) / "bench"


def save(results: Results, directory: Path) -> tuple[Path, Path | None, str]:
    """Write results.json, then the chart; (json path, png path or None, why no chart)."""
    json_path = directory / "results.json"
    write_json(results, json_path)
    png = directory / "ratios.png"
    try:
        draw_chart(results.ratios, png, title=str(results.run.get("title", "")))
    except ImportError as exc:
        return json_path, None, f"no chart: {exc} (make bench installs requirements-bench.txt)"
    return json_path, png, ""
