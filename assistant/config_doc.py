"""The configuration page, generated from the ``Settings`` fields so that it cannot drift from them.

    python -m assistant.config_doc > docs/configuration.md      (make docs)

tests/test_config_doc.py fails when the page in docs/ is not what this writes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic.fields import FieldInfo

from assistant.settings import PRESETS, GroundingPolicy, Settings

# Defaults that depend on the machine or the install are described, not printed.
_DESCRIBED_DEFAULTS = {
    "corpus_dir": "the bundled `corpus/`",
    "index_dir": "`index/` of the checkout; an installed bron: the user's data folder",
    "cache_dir": "`~/.cache/bron`",
    "n_threads": "the CPUs this process may use, at most 8",
}


def _type(field: FieldInfo) -> str:
    text = str(field.annotation).replace("typing.", "").replace("pathlib.", "")
    text = text.replace("<class '", "").replace("'>", "").replace("pydantic.types.", "")
    if text.startswith("Literal["):
        text = " \\| ".join(v.strip() for v in text.removeprefix("Literal[").removesuffix("]").split(","))
    return text.replace("|", "\\|") if " \\| " not in text else text


def _default(name: str, field: FieldInfo) -> str:
    if name in _DESCRIBED_DEFAULTS:
        return _DESCRIBED_DEFAULTS[name]
    value: Any = field.get_default(call_default_factory=True)
    return "none" if value is None else f"`{json.dumps(value)}`"


def _limits(field: FieldInfo) -> str:
    bounds = []
    for item in field.metadata:
        for attr, sign in (("ge", "≥"), ("le", "≤"), ("min_length", "length ≥"), ("pattern", "matches")):
            value = getattr(item, attr, None)
            if value is not None:
                bounds.append(f"{sign} `{value}`")
    return f" ({', '.join(bounds)})" if bounds else ""


def configuration_markdown() -> str:
    grounding = set(GroundingPolicy.model_fields)
    lines = [
        "# Configuration",
        "",
        "Back to the [README](../README.md). Generated from `assistant/settings.py` by "
        "`python -m assistant.config_doc` (`make docs`); a test fails when this page and the settings differ.",
        "",
        "Every setting can be given in a TOML file (`bron --config bron.toml`, e.g. `top_k = 3`; folders in it "
        "are relative to the file), as an environment variable `BRON_<NAME>` (list settings as JSON), and the "
        "main ones as options of `bron` (`bron --help`). An option overrides the environment, which overrides "
        "the file, which overrides the preset (`--preset`: "
        + ", ".join(f"`{p}`" for p in PRESETS)
        + "; `test` sets "
        + ", ".join(f"{k}={v}" for k, v in PRESETS["test"].items())
        + "). A bad value or an unknown setting is one line on stderr and exit code 2.",
        "",
        "Settings marked **G** belong to the grounding policy (`settings.grounding`): evidence selection, "
        "abstention and the checks of answers and summaries read them, and the summary cache is keyed on them.",
        "",
        "| setting | environment | type | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        description = ((field.description or "") + _limits(field)).replace("|", "\\|")
        mark = "**G**" if name in grounding else ""
        lines.append(
            f"| `{name}` | `BRON_{name.upper()}` | {_type(field)} | {_default(name, field)} | {mark} {description} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(configuration_markdown())
