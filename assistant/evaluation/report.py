"""Eval reports on disk: ``eval/reports/<timestamp>/`` with report.json, summary.md and chart.png;
side-by-side comparison of two reports; the CI gate's floors in ``eval/gate.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from assistant.errors import InputError
from assistant.evaluation.evalset import EVAL_DIR
from assistant.evaluation.metrics import BESIDE, HEADLINE, AnswerMetrics
from assistant.files import umask
from assistant.settings import user_data

REPORTS_DIR = user_data("reports")
GATE_FILE = EVAL_DIR / "gate.json"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def headline(report: dict) -> dict[str, float | None]:
    """The figures a summary, a comparison and the gate talk about, flat."""
    m = report["metrics"]
    flat: dict[str, float | None] = {}
    for mode, values in m.get("retrieval", {}).items():
        for name, value in values.items():
            flat[f"retrieval {name} ({mode})"] = value
    if m.get("answers"):
        a = AnswerMetrics.model_validate(m["answers"])
        flat.update({name: getattr(a, name) for name in HEADLINE})
        if m.get("beside"):
            b = AnswerMetrics.model_validate(m["beside"])
            label = "beside: quotes only (baseline)" if b.writer == "quotes" else "beside: model writer"
            flat.update({f"{label} {name}": getattr(b, name) for name in BESIDE[b.writer or "quotes"]})
        cv = m.get("abstention_calibration", {}).get("cross_validated")
        if cv:
            flat["abstention_recall (cross-validated)"] = cv["abstention_recall"]
            flat["false_abstention_rate (cross-validated)"] = cv["false_abstention_rate"]
        flat["seconds per question (median)"] = a.seconds_per_question.median
        flat["prompt tokens (median)"] = a.tokens.prompt_median
        flat["completion tokens (median)"] = a.tokens.completion_median
    summaries = m.get("summaries")
    if summaries:
        flat[f"summary key-point recall ({summaries['writer']})"] = summaries["key_point_recall"]
    judge = report.get("judge", {}).get("agreement")
    if judge:
        flat["judge agreement with labels (in-sample)"] = judge["accuracy"]
    cv = report.get("judge", {}).get("calibration", {}).get("cross_validated")
    if cv:
        flat["judge agreement (cross-validated)"] = cv["accuracy"]
    return flat


def _format(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    if name.startswith(("seconds", "prompt tokens", "completion tokens")):
        return f"{value:.1f}"
    if "mrr" in name:
        return f"{value:.3f}"
    return _pct(value)


def summary_markdown(report: dict) -> str:
    s, f = report["settings"], report["fingerprints"]
    answered = report.get("answered_ids", report["case_ids"])
    lines = [
        f"# Grounding evaluation {report['created']}",
        "",
        f"- cases: {len(report['case_ids'])} for retrieval, {len(answered)} answered by the LLM "
        f"({report['wall_seconds']} s wall)",
        f"- LLM: `{s['llm']}` ({f.get('llm', 'not run')}), embedder: {f['embedder']}",
        f"- index: {f['index']}, eval set: {f['eval_set']}, machine: {f['machine']}",
        f"- settings: top_k {s['top_k']}, min_relevance {s['min_relevance']}, min_support {s['min_support']}, "
        f"temperature {s['temperature']}, threads {s['n_threads']}",
        f"- judge: {report['judge']['name']}",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_format(name, value)} |" for name, value in headline(report).items()]
    a = report["metrics"].get("answers")
    if a:
        lines += [
            "",
            f"Answer modes: {a['modes']['generated']} with the model's direct answer above the quotes, "
            f"{a['modes']['extractive']} quotes alone, {a['modes']['abstained']} abstained. Citation figures count "
            f"{a['answer_sentences_all']} answer sentences ({a['answer_sentences_generated']} written by the model, "
            f"{a['answer_sentences_extractive']} quoted).",
        ]
        chosen = report["metrics"].get("abstention_calibration", {}).get("chosen")
        if chosen:
            lines.append(
                "Abstention thresholds fitted on all cases: "
                + ", ".join(f"{k} {v}" for k, v in chosen.items())
                + " (the cross-validated rows above are scored on held-out folds)."
            )
    line = report["metrics"].get("cross_lingual")
    if line:
        lines.append(
            f"Cross-language cosines ({line['pairs']} translated questions against every passage): English = "
            f"{line['slope']} x Dutch + {line['intercept']} (settings: {line['settings']['slope']} x + "
            f"{line['settings']['intercept']}); for a question in another language than its passage, "
            f"min_relevance becomes {line['min_relevance_across']} and min_evidence_relevance "
            f"{line['min_evidence_relevance_across']}."
        )
    return "\n".join(lines) + "\n"


def chart_png(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flat = headline(report)
    names = [n for n, v in flat.items() if v is not None and not n.startswith(("seconds", "prompt", "completion"))]
    names = [n for n in names if "recall@" not in n or "@5" in n]
    values = [100 * (flat[n] or 0.0) for n in names]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(names) + 1.2))
    ax.barh(names[::-1], values[::-1], color="#3b6ea5")
    for y, v in enumerate(values[::-1]):
        ax.text(v + 1, y, f"{v:.0f}%", va="center", fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel("%")
    ax.set_title(f"bron grounding eval — {report['settings']['llm']} — {report['created'][:16]}", fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: dict, root: Path = REPORTS_DIR) -> Path:
    """Write the report folder; it appears complete or not at all."""
    stamp = datetime.fromisoformat(report["created"]).strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    final = root / stamp
    n = 1
    while final.exists():
        n += 1
        final = root / f"{stamp}-{n}"
    staging = Path(tempfile.mkdtemp(prefix=f".{stamp}-", dir=root))
    staging.chmod(0o777 & ~umask())  # mkdtemp makes it private; the user's umask decides
    (staging / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (staging / "summary.md").write_text(summary_markdown(report), encoding="utf-8")
    chart_png(report, staging / "chart.png")
    os.replace(staging, final)
    return final


def load_report(path: Path) -> dict:
    file = path / "report.json" if path.is_dir() else path
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the eval report {file}: {exc}") from exc


def compare_markdown(a: dict, b: dict, name_a: str, name_b: str) -> str:
    fa, fb = headline(a), headline(b)
    lines = [
        f"| metric | A: {name_a} | B: {name_b} | B − A |",
        "|---|---|---|---|",
        f"| LLM | {a['settings']['llm']} | {b['settings']['llm']} | |",
        f"| cases (answered) | {len(a['case_ids'])} ({len(a.get('answered_ids', a['case_ids']))}) "
        f"| {len(b['case_ids'])} ({len(b.get('answered_ids', b['case_ids']))}) | |",
    ]
    for name in dict.fromkeys([*fa, *fb]):
        va, vb = fa.get(name), fb.get(name)
        if va is not None and vb is not None:
            delta = (
                f"{vb - va:+.1f}"
                if name.startswith(("seconds", "prompt", "completion"))
                else (f"{100 * (vb - va):+.1f} pt")
            )
        else:
            delta = ""
        lines.append(f"| {name} | {_format(name, va)} | {_format(name, vb)} | {delta} |")
    if a["case_ids"] != b["case_ids"] or a.get("answered_ids") != b.get("answered_ids"):
        lines.append("\nThe two reports ran different cases; compare with care.")
    return "\n".join(lines) + "\n"


def load_gate(path: Path = GATE_FILE) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the gate file {path}: {exc}") from exc


def gate_failures(report: dict, gate: dict) -> list[str]:
    """The gated figures that fell below their floor (measured value minus margin), or, for a rule with
    ``ceiling`` (a rate that should stay low, such as false abstentions), rose above measured plus margin."""
    flat = headline(report)
    failures = []
    for name, rule in gate["floors"].items():
        value = flat.get(name)
        if rule.get("ceiling"):
            ceiling = rule["measured"] + rule["margin"]
            if value is None or value > ceiling:
                failures.append(f"{name}: {_format(name, value)} is above the ceiling {_pct(ceiling)}")
            continue
        floor = rule["measured"] - rule["margin"]
        if value is None or value < floor:
            failures.append(f"{name}: {_format(name, value)} is below the floor {_pct(floor)}")
    return failures


__all__ = ["write_report", "load_report", "summary_markdown", "compare_markdown", "headline", "gate_failures"]
