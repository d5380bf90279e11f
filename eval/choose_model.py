"""Compare LLMs on a few Dutch questions to choose the default (a quick check, not the full eval).

    .venv/bin/python eval/choose_model.py gemma3-270m smollm2-135m

For each model: how many answers were written by the model and passed the checks
(generated), fell back to quoting (extractive) or abstained; how many contain
all key facts (a regular expression per fact, case-insensitive); abstentions on
the questions the documents do not answer; median and largest seconds per question.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

from assistant.qa import Assistant
from assistant.settings import load_settings

CASES = [json.loads(line) for line in (Path(__file__).parent / "model_choice.jsonl").read_text().splitlines()]


def measure(llm: str) -> dict:
    assistant = Assistant.open(load_settings(llm=llm))
    modes, facts, seconds, abstained = [], 0, [], 0
    for case in CASES:
        answer = assistant.ask(case["question"])
        if case["answerable"]:
            modes.append(answer.mode)
            facts += all(re.search(f, answer.text, re.I) for f in case["key_facts"])
            seconds.append(answer.timings["total"])
        else:
            abstained += answer.abstained
    answerable = sum(c["answerable"] for c in CASES)
    return {
        "model": llm,
        "generated": modes.count("generated"),
        "extractive": modes.count("extractive"),
        "abstained_on_answerable": modes.count("abstained"),
        "key_facts": f"{facts}/{answerable}",
        "abstained_on_unanswerable": f"{abstained}/{len(CASES) - answerable}",
        "median_s": round(statistics.median(seconds), 1),
        "max_s": round(max(seconds), 1),
    }


if __name__ == "__main__":
    for name in sys.argv[1:] or ["gemma3-270m", "smollm2-135m"]:
        print(json.dumps(measure(name)))
