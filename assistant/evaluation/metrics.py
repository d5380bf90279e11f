"""The answer metrics of an eval run as one typed record, and which of them are headline figures.

A field's ``headline`` marks it for the report's table, the comparison of two reports and the CI
gate, in the order declared here; ``beside`` marks the figures also reported for the other answer
writer run beside the product ("always", or "model" for the figures only the model writer has).
Adding a metric is adding a field: the report picks it up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Share = float | None  # a fraction, or None when nothing was counted


def _headline(description: str, beside: Literal["always", "model"] | None = None) -> Share:
    extra: JsonDict = {"headline": True, **({"beside": beside} if beside else {})}
    return Field(None, description=description, json_schema_extra=extra)


class Seconds(BaseModel):
    median: float
    p90: float
    max: float
    total: float


class Tokens(BaseModel):
    prompt_median: float
    completion_median: float
    prompt_total: int
    completion_total: int


class AnswerMetrics(BaseModel):
    """What ``answer_metrics`` measures over the answered cases (``writer`` is set for the run beside)."""

    model_config = ConfigDict(frozen=True)

    cases: int
    answerable: int
    unanswerable: int
    modes: dict[str, int]
    key_fact_accuracy: Share = _headline("answerable cases whose answer holds every key fact", "always")
    key_fact_accuracy_generated: Share = _headline("the same, of the answers with the model's sentence", "model")
    key_fact_accuracy_extractive: Share = _headline("the same, of the quotes-only answers")
    key_fact_accuracy_direct_only: Share = _headline("the model's sentence alone holds every key fact", "model")
    key_facts_found: Share = _headline("key facts found, over all key facts of answerable cases")
    gold_citation_hit: Share = _headline("answered cases citing a passage that holds gold evidence", "always")
    gold_citation_precision: Share = _headline("citations pointing at a passage with gold evidence", "always")
    gold_quote_hit: Share = _headline("answered cases quoting a sentence of the gold evidence")
    abstention_precision: Share = _headline("abstentions that were on unanswerable cases")
    abstention_recall: Share = _headline("unanswerable cases abstained on", "always")
    false_abstention_rate: Share = _headline("answerable cases abstained on")
    citation_recall_all: Share = _headline("answer sentences the judge finds supported by their citations")
    citation_precision_all: Share = _headline("citations the judge finds needed for their sentence")
    citation_recall_generated: Share = _headline("citation recall of the model's sentences")
    citation_precision_generated: Share = _headline("citation precision of the model's sentences")
    citation_recall_extractive: Share = _headline("citation recall of the quotes")
    citation_precision_extractive: Share = _headline("citation precision of the quotes")
    answerable_generated: int = 0
    answerable_extractive: int = 0
    answer_sentences_all: int = 0
    answer_sentences_generated: int = 0
    answer_sentences_extractive: int = 0
    seconds_per_question: Seconds
    tokens: Tokens
    writer: str | None = None  # the writer of the run beside the product; None for the product itself


def _marked(key: str, values: tuple = (True,)) -> tuple[str, ...]:
    return tuple(
        name
        for name, field in AnswerMetrics.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get(key) in values
    )


HEADLINE = _marked("headline")
BESIDE = {"quotes": _marked("beside", ("always",)), "model": _marked("beside", ("always", "model"))}

__all__ = ["Share", "Seconds", "Tokens", "AnswerMetrics", "HEADLINE", "BESIDE"]
