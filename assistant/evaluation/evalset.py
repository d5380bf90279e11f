"""The hand-written evaluation files in ``eval/``: their schema and loading.

``grounding.jsonl`` holds questions over the bundled corpus with reference
answers, key facts and gold evidence; ``support_pairs.jsonl`` holds sentence-
passage pairs labelled supported or not, to validate the support judge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import InputError
from assistant.settings import bundled
from assistant.types import Language

EVAL_DIR = bundled("eval")
CASES_FILE = EVAL_DIR / "grounding.jsonl"
PAIRS_FILE = EVAL_DIR / "support_pairs.jsonl"
POINTS_FILE = EVAL_DIR / "summary_points.jsonl"
PARALLEL_FILE = EVAL_DIR / "parallel_questions.jsonl"


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    doc: str
    text: str


class EvalCase(BaseModel):
    """One question. ``key_facts``: each inner list holds alternative spellings of one fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    question: str
    language: Language
    answerable: bool
    style: Literal["direct", "paraphrase", "multi", "near-text", "off-topic"]
    reference_answer: str | None
    key_facts: list[list[str]]
    evidence: list[Evidence]
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        if self.answerable:
            if not (self.reference_answer and self.key_facts and self.evidence):
                raise ValueError("an answerable case needs reference_answer, key_facts and evidence")
            if any(not alternatives or not all(a.strip() for a in alternatives) for alternatives in self.key_facts):
                raise ValueError("every key fact needs at least one non-empty spelling")
            if self.style in ("near-text", "off-topic"):
                raise ValueError(f"style '{self.style}' is for unanswerable cases")
        else:
            if self.reference_answer or self.key_facts or self.evidence:
                raise ValueError("an unanswerable case has no reference_answer, key_facts or evidence")
            if self.style not in ("near-text", "off-topic"):
                raise ValueError("an unanswerable case is 'near-text' or 'off-topic'")
        if self.style == "multi" and len(self.evidence) < 2:
            raise ValueError("a multi-passage case needs at least two pieces of evidence")
        return self


class SupportPair(BaseModel):
    """A sentence and a passage from the corpus, labelled by hand: does the passage support it?"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    sentence: str
    doc: str
    passage: str
    supported: bool
    kind: str
    language: Language


class KeyPoint(BaseModel):
    """A main point a summary of its section should carry; ``any``: phrases of which one must occur."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point: str
    any: list[str]


class SectionPoints(BaseModel):
    """Hand-written key points of one section of the bundled corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc: str
    section: str
    points: list[KeyPoint]

    @property
    def id(self) -> str:
        return f"{self.doc} §{self.section}"


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def _load_jsonl(path: Path, model: type[BaseModel]) -> list:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else _first_error(exc)
            raise InputError(f"{path}:{number}: {first}") from exc
    ids = [cast(_Identified, item).id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"{path}: duplicate ids {', '.join(duplicates)}")
    if not items:
        raise InputError(f"{path} holds no cases")
    return items


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        return f"{where}: {error['msg']}" if where else error["msg"]
    return str(exc)


class ParallelQuestion(BaseModel):
    """A Dutch question and its English translation: how the embedder's cosines shift across languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


def load_parallel(path: Path = PARALLEL_FILE) -> list[ParallelQuestion]:
    return _load_jsonl(path, ParallelQuestion)


def load_cases(path: Path = CASES_FILE) -> list[EvalCase]:
    return _load_jsonl(path, EvalCase)


def load_pairs(path: Path = PAIRS_FILE) -> list[SupportPair]:
    return _load_jsonl(path, SupportPair)


def load_points(path: Path = POINTS_FILE) -> list[SectionPoints]:
    return _load_jsonl(path, SectionPoints)


def key_points_found(summary: str, points: list[KeyPoint]) -> list[bool]:
    """Per key point: does one of its phrases occur in the summary (case and spacing ignored)?"""
    text = normalise(summary).lower()
    return [any(normalise(a).lower() in text for a in p.any) for p in points]


def normalise(text: str) -> str:
    """Whitespace collapsed: how evidence is matched against documents and passages."""
    return " ".join(text.split())


__all__ = [
    "EvalCase",
    "Evidence",
    "SupportPair",
    "SectionPoints",
    "KeyPoint",
    "load_cases",
    "load_pairs",
    "load_points",
    "load_parallel",
    "ParallelQuestion",
    "PARALLEL_FILE",
    "key_points_found",
    "normalise",
    "CASES_FILE",
    "PAIRS_FILE",
    "POINTS_FILE",
]
