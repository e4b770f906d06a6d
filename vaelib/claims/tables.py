"""Chapter 12's tables of claims combined over seeds (:func:`vaelib.claims.across_seeds`), as Markdown."""

from __future__ import annotations

from collections.abc import Sequence

from vaelib.claims.rules import VERDICTS, Claim

SEED_VERDICT_MARKS = {"reproduced": "✓", "not reproduced": "✗", "inconclusive": "?"}
"""How :func:`claims_table` and :func:`measurements_table` mark a verdict."""


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _seed_columns(claims: Sequence[Claim]) -> list[int]:
    claims = list(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must be a non-empty sequence of Claim records")
    seeds = [c.values.get("seeds") for c in claims]
    if any(s is None for s in seeds) or any(s != seeds[0] for s in seeds):
        raise ValueError("claims must come from across_seeds, all over the same seeds")
    return list(seeds[0])


def _legend() -> str:
    return ", ".join(f"{mark} {verdict}" for verdict, mark in SEED_VERDICT_MARKS.items())


def claims_table(claims: Sequence[Claim]) -> str:
    """Markdown for claims combined by :func:`vaelib.claims.across_seeds`: a line saying how each seed's
    verdict is marked, then a table of number, claim, where the report makes it (and the chapter that
    measures it), what must hold, each seed's verdict (:data:`SEED_VERDICT_MARKS`) and the combined verdict."""
    seeds = _seed_columns(claims)
    lines = [f"Each seed's verdict, for seeds {', '.join(map(str, seeds))} in that order: {_legend()}.", "",
             "| # | claim of the report | where | what must hold | seeds | verdict |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(claims, start=1):
        marks = " ".join(SEED_VERDICT_MARKS[v] for v in c.values["verdicts"])
        lines.append(f"| {i} | {_cell(c.claim)} | {_cell(c.source)}; chapter {_cell(c.chapter[:2])} | {_cell(c.rule)} | "
                     f"{marks} | **{_cell(c.verdict_text)}** |")
    return "\n".join(lines)


def _number(value: float) -> str:
    return "n/a" if value != value else f"{value:.3g}"


def measurements_table(claims: Sequence[Claim]) -> str:
    """A Markdown table of every part of every claim (numbered as in :func:`claims_table`): the measured
    number for each seed, the seeds' mean ± its standard error, the threshold, and the part's verdict
    by :data:`vaelib.claims.ACROSS_SEEDS_RULE`."""
    seeds = _seed_columns(claims)
    lines = [f"Each part's verdict over the seeds: {_legend()}.", "",
             "| # | measured | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± s.e. | needs | |",
             "|---|---|" + "---|" * len(seeds) + "---|---|---|"]
    for i, c in enumerate(claims, start=1):
        if not c.checks:
            lines.append(f"| {i} | {_cell(c.measured)} |" + " |" * len(seeds) + " | | ? |")
            continue
        for j, check in enumerate(c.checks):
            per_seed = " | ".join(_number(values[j]) for values in c.values["per_seed_checks"])
            mark = SEED_VERDICT_MARKS[c.values["check_verdicts"][j]]
            lines.append(f"| {i if j == 0 else ''} | {_cell(check.what)} | {per_seed} | "
                         f"{_number(check.value)} ± {_number(check.se)} | {_cell(check.threshold)} | {mark} |")
    return "\n".join(lines)


def verdict_list(claims: Sequence[Claim], verdict: str) -> str:
    """Markdown bullets of the measured claims with ``verdict``, each with the parts that did not hold
    over the seeds (the seeds' mean ± its standard error against the threshold)."""
    lines = []
    for c in claims:
        if c.verdict != verdict or not c.measured_yet:
            continue
        parts = [f"{k.what} {_number(k.value)} ± {_number(k.se)} (needs {k.threshold})"
                 for k, v in zip(c.checks, c.values.get("check_verdicts", [])) if v != "reproduced"]
        lines.append(f"- {c.claim} ({c.source}; chapter {c.chapter[:2]})" + (f": {'; '.join(parts)}." if parts else "."))
    return "\n".join(lines) or "- none"


def verdict_counts(claims: Sequence[Claim]) -> dict[str, int]:
    """How many claims got each verdict, plus ``"not yet measured"`` (counted within "inconclusive")."""
    claims = list(claims)
    if not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must be Claim records")
    counts = {v: sum(c.verdict == v for c in claims) for v in VERDICTS}
    counts["not yet measured"] = sum(not c.measured_yet for c in claims)
    return counts
