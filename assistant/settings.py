"""One typed settings object, read from ``BRON_*`` environment variables.

Presets bundle settings for a purpose: ``default`` for real use and ``test`` for
the fastest model in the test suite.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from assistant.types import Language

_PACKAGE = Path(__file__).resolve().parent
# A checkout (git clone, also installed editable): the layout's own folders. An installed wheel:
# the prompts, corpus and eval sets inside the package, the index and reports in the user's data folder.
CHECKOUT: Path | None = _PACKAGE.parent if (_PACKAGE.parent / "pyproject.toml").is_file() else None


def bundled(name: str) -> Path:
    """A folder that ships with bron ('prompts', 'corpus', 'eval'): the checkout's, or the installed copy."""
    return (CHECKOUT / name) if CHECKOUT else _PACKAGE / name


def user_data(name: str) -> Path:
    """Where bron writes ``name`` ('index', 'reports'): in the checkout, or the user's data folder when installed."""
    if CHECKOUT:
        return CHECKOUT / ("eval/reports" if name == "reports" else name)
    import platformdirs

    return platformdirs.user_data_path("bron") / name


# A plain folder name: no separators, no '.', '..' or hidden names. The index is written
# by moving aside whatever folder sits at index_dir/index_name, so a name like
# '../corpus' or '' would replace the corpus or every index.
INDEX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def available_cpus(cap: int = 8) -> int:
    """CPUs this process may run on, at most ``cap`` (beyond 2 cores nothing here is measured)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    return max(1, min(cap, count))


class GroundingPolicy(BaseModel):
    """Every threshold and rule that decides what an answer or a summary may say: one typed group.

    Built from ``Settings`` (``settings.grounding``), where each field is documented and can be set
    as ``BRON_<NAME>``; evidence selection, abstention, the answer checks and the summary checks all
    take this object, and the summary cache is keyed on its ``fingerprint``. The eval's judge takes
    none of it, on purpose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_relevance: float
    min_evidence_relevance: float
    min_evidence_overlap: float
    cross_lingual_slope: float
    cross_lingual_intercept: float
    evidence_units: int
    evidence_margin: float
    evidence_next_sentence: bool
    lexical_weight: float
    passage_weight: float
    type_penalty: float
    responsive_margin: float
    min_support: float
    min_word_coverage: float
    copy_overlap: float
    common_word_zipf: float

    def across_languages(self, threshold: float) -> float:
        """A cosine threshold for a question in another language than its passage.

        The embedder's cosines run lower across languages, and less so for unrelated text: on 24 Dutch
        questions and their English translations, against every passage of the bundled corpus, the English
        cosine was about 0.66 x the Dutch one + 0.24 (eval/parallel_questions.jsonl, measured by bron eval).
        A threshold set on Dutch questions is mapped through that line: 0.80 becomes 0.77.
        """
        return self.cross_lingual_slope * threshold + self.cross_lingual_intercept

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    @classmethod
    def defaults(cls) -> GroundingPolicy:
        """The policy of the default settings, ignoring the environment (for tests and library use)."""
        return cls(
            **{name: Settings.model_fields[name].get_default(call_default_factory=True) for name in cls.model_fields}
        )


class Settings(BaseSettings):
    """Everything a run of bron can be configured with."""

    model_config = SettingsConfigDict(env_prefix="BRON_", extra="forbid", frozen=True, allow_inf_nan=False)

    @property
    def grounding(self) -> GroundingPolicy:
        """The grounding policy these settings give."""
        return GroundingPolicy(**{name: getattr(self, name) for name in GroundingPolicy.model_fields})

    corpus_dir: Path = Field(bundled("corpus"), description="Folder of documents to index.")
    index_dir: Path = Field(user_data("index"), description="Folder that holds built indexes.")
    index_name: str = Field(
        "default",
        description="Name of the index folder under index_dir: letters, digits, '.', '_' and '-', "
        "starting with a letter or digit (at most 64 characters).",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "bron",
        description="Where prepared models live (rebuilt embedder, assembled GGUF).",
    )

    embedder: str = Field("multilingual-e5-small", description="Embedding model name.")
    embed_batch_size: int = Field(16, ge=1, description="Passages per embedding batch.")

    chunk_chars: int = Field(700, ge=100, description="Target passage length in characters.")
    chunk_overlap_sentences: int = Field(1, ge=0, description="Sentences shared by neighbouring passages.")

    store: SecretStr | None = Field(
        None,
        description="A PostgreSQL connection string (postgresql://user@host/db) whose pgvector tables hold the "
        "index instead of index_dir, shared by every bron that points at it; the index name is index_name. "
        "It may hold a password, so it is never printed.",
    )
    vector_store: str = Field(
        "auto",
        pattern="^(auto|faiss-flat-ip|faiss-hnsw-ip)$",
        description="FAISS index: 'auto' (exact up to exact_search_limit passages, HNSW above), "
        "'faiss-flat-ip' (exact) or 'faiss-hnsw-ip' (approximate).",
    )
    exact_search_limit: int = Field(
        200_000, ge=0, description="Largest corpus (in passages) that 'auto' searches exactly; see bench/."
    )

    top_k: int = Field(5, ge=1, le=20, description="Passages given to the model.")
    candidates: int = Field(20, ge=1, description="Hits taken from each retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    min_relevance: float = Field(
        ge=-1.0,
        le=1.0,
        default=0.80,
        description="Cosine (query vs passage) below which a passage counts as irrelevant; "
        "if no passage reaches it, bron abstains.",
    )
    min_evidence_relevance: float = Field(
        ge=-1.0,
        le=1.0,
        default=0.825,
        description="Cosine (question vs best evidence sentence) below which bron abstains instead of quoting "
        "loosely related text; chosen by 5-fold cross-validation in bron eval (docs/evaluation.md).",
    )
    min_evidence_overlap: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of the question's content words the best evidence sentence must contain, else bron "
        "abstains; chosen with min_evidence_relevance.",
    )
    cross_lingual_slope: float = Field(
        0.662,
        ge=0.0,
        le=2.0,
        description="With cross_lingual_intercept: the line that maps a cosine threshold to a question in "
        "another language than the passage (English question, Dutch text), whose cosines run lower; fitted by "
        "bron eval on eval/parallel_questions.jsonl. Slope 1 and intercept 0 leave thresholds as they are.",
    )
    cross_lingual_intercept: float = Field(0.240, ge=-1.0, le=1.0, description="See cross_lingual_slope.")
    evidence_units: int = Field(2, ge=1, le=5, description="Most evidence sentences quoted in an answer.")
    evidence_margin: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="A further evidence sentence is quoted when it scores within this of the best.",
    )
    evidence_next_sentence: bool = Field(
        True,
        description="Quote each evidence sentence together with the sentence after it, where the claim it "
        "introduces often continues (key facts 74% -> 80% on the eval set).",
    )
    lexical_weight: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Weight of question-word overlap beside the embedder's cosine in evidence scores.",
    )
    passage_weight: float = Field(
        1.0,
        ge=0.0,
        le=2.0,
        description="Weight of the cosine between the question and a sentence's whole passage when choosing which "
        "evidence to quote (not whether to abstain); gold-evidence hits 83.5% -> 87.1% on the eval set "
        "(docs/evaluation.md).",
    )
    type_penalty: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Evidence score taken off a sentence without the asked-for year, number or person.",
    )
    copy_overlap: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="The model's sentence is not kept when this share of its words, at nearly the quote's length, "
        "repeats a quote (it adds nothing).",
    )
    common_word_zipf: float = Field(
        4.0,
        ge=0.0,
        le=8.0,
        description="A word of the model's that is in no source and rarer than this (wordfreq Zipf, Dutch or "
        "English) is a damaged word and its sentence is rejected.",
    )
    answer_writer: Literal["model", "quotes"] = Field(
        "quotes",
        description="'quotes': the answer is the cited evidence sentences; 'model': the LLM adds a one-sentence "
        "direct answer above them when it passes the checks. Quotes by default: on the eval set the model's "
        "sentence was kept in 4 of 129 answers and added no key fact (docs/evaluation.md).",
    )
    summary_writer: Literal["model", "quotes"] = Field(
        "quotes",
        description="'quotes': the section's main sentences (the most central sentence of each stretch of the "
        "section, with a bonus for key terms), quoted; 'model': the LLM summarises each section, every sentence "
        "checked. Quotes carried 0.62 of the hand-written key points, the 270M model 0.38 (docs/results).",
    )
    responsive_margin: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="The model's sentence is kept only if its cosine to the question is at least the best "
        "evidence's minus this.",
    )
    min_support: float = Field(
        ge=-1.0,
        le=1.0,
        default=0.84,
        description="Cosine (answer sentence vs best sentence of a cited passage) a sentence needs "
        "to count as supported.",
    )

    min_word_coverage: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="Share of an answer sentence's content words (Dutch-stemmed) that must occur in its cited "
        "passages; checked when answer and sources share a language.",
    )

    llm: str = Field(
        "gemma3-270m",
        description="LLM: 'gemma3-270m', 'smollm2-135m' or a path to any GGUF file.",
    )
    llm_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="Base URL of an OpenAI-compatible server to run the LLM on instead of in-process, e.g. "
        "http://127.0.0.1:8080/v1 (llama.cpp, llama-cpp-python, Ollama, vLLM or a hosted API); the embedder and "
        "every check stay local.",
    )
    llm_model: str | None = Field(
        None, description="Model name on the LLM server (default: the first model it lists); ignored without llm_url."
    )
    llm_api_key: SecretStr | None = Field(
        None,
        description="API key for the LLM server; set it in the environment (BRON_LLM_API_KEY), never on the "
        "command line. It is sent only to llm_url and never printed.",
    )
    llm_timeout: float = Field(60.0, gt=0.0, description="Seconds to wait for the LLM server before giving up.")
    prompt_format: Literal["auto", "completion", "chat"] = Field(
        "auto",
        description="How the prompt reaches the LLM: 'completion' as plain text (base models such as Gemma 3 "
        "270M), 'chat' as a user message through the model's chat template (instruction-tuned models); 'auto': "
        "in-process, 'chat' when the GGUF file has a chat template; on a server, 'chat'.",
    )
    chat_models: list[str] = Field(
        default_factory=list, description="Further GGUF paths offered in the chat's model menu (JSON list in env)."
    )
    n_threads: int = Field(
        default_factory=available_cpus,
        ge=1,
        description="CPU threads for the LLM: the CPUs this process may use, at most 8; on a shared machine 1 "
        "is steadiest (bench/ measured 1 against 2).",
    )
    n_ctx: int = Field(4096, ge=512, description="LLM context window in tokens.")
    max_answer_tokens: int = Field(60, ge=16, description="Most tokens the LLM may generate for the direct answer.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = greedy).")
    seed: int = Field(0, description="Sampling seed.")

    max_question_chars: int = Field(2000, ge=10, le=100_000, description="Longest question accepted.")
    chat_password: SecretStr | None = Field(
        None,
        min_length=8,
        description="Password of the chat (user 'bron'), asked by the browser; set it in the environment "
        "(BRON_CHAT_PASSWORD), never on the command line. Needed when the chat is served beyond this machine.",
    )
    language: Literal["auto", Language] = Field(
        "auto", description="Answer language: 'auto' (that of the question), 'nl' or 'en'."
    )

    @field_validator("index_name")
    @classmethod
    def _plain_index_name(cls, value: str) -> str:
        if not INDEX_NAME.fullmatch(value):
            raise ValueError(
                "must be a plain folder name (letters, digits, '.', '_', '-'; not starting with '.'; "
                "no '/'; at most 64 characters)"
            )
        return value

    @property
    def index_path(self) -> Path:
        return self.index_dir / self.index_name

    @property
    def index_label(self) -> str:
        """Where the index is, for messages: its folder, or its name in PostgreSQL (never the password)."""
        if not self.store:
            return str(self.index_path)
        from assistant.pg_store import redact

        return f"'{self.index_name}' in PostgreSQL at {redact(self.store.get_secret_value())}"

    @property
    def store_dsn(self) -> str | None:
        """The PostgreSQL connection string of ``store``, or None for the folder index."""
        return self.store.get_secret_value() if self.store else None

    @field_validator("store")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^postgres(ql)?://", value.get_secret_value()):
            raise ValueError("must be a postgresql:// connection string")
        return value


PRESETS: dict[str, dict] = {
    "default": {},
    # One LLM thread in tests: CI runs a browser and servers beside the model, and two
    # spinning llama.cpp threads on a 2-core machine then slow down badly.
    "test": {"llm": "gemma3-270m", "n_threads": 1},
}


def _describe_error(exc: ValidationError | SettingsError) -> str:
    """One line naming the setting, what is wrong and the value given."""
    if isinstance(exc, SettingsError):  # e.g. a list setting in the environment that is not JSON
        return f"invalid setting in the environment: {exc}"
    error = exc.errors()[0]
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    message = error["msg"].removeprefix("Value error, ")
    extra = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    secret = "password" in name or "key" in name or name == "store"
    shown = "'***'" if secret else repr(error.get("input"))  # a secret is never echoed
    return f"invalid setting {name}={shown}: {message}{extra}"


def make_settings(**values) -> Settings:
    """``Settings(**values)`` (plus the environment), with a bad value as an ``InputError``."""
    from assistant.errors import InputError

    try:
        return Settings(**values)
    except (ValidationError, SettingsError) as exc:
        raise InputError(_describe_error(exc)) from None


def read_settings_file(path: Path) -> dict:
    """The settings in a TOML file (``top_k = 3``, ``corpus_dir = "~/teksten"``), as given; checked by ``Settings``."""
    import tomllib

    from assistant.errors import InputError

    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"settings file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise InputError(f"settings file {path}: unknown setting {', '.join(unknown)}")
    base = path.parent
    for name in ("corpus_dir", "index_dir", "cache_dir"):  # relative to the file, like most tools' config
        if isinstance(values.get(name), str):
            values[name] = base / Path(values[name]).expanduser()
    return values


def load_settings(preset: str = "default", config_file: Path | None = None, **overrides) -> Settings:
    """Settings from a named preset, then a TOML file, then the environment, then explicit overrides."""
    if preset not in PRESETS:
        from assistant.errors import InputError

        raise InputError(f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)}")
    from_env = make_settings().model_fields_set
    below_env = {**PRESETS[preset], **(read_settings_file(config_file) if config_file else {})}
    values = {k: v for k, v in below_env.items() if k not in from_env}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return make_settings(**values)
