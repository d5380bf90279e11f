"""Documents added from the chat: checked, stored inside the corpus folder, removable again.

An upload is told by its content (a PDF, Word file, web page or text, whatever its name says), must be
readable as a document, and is stored as ``<corpus>/uploads/upload-<sha256 prefix>.<ext>`` — a name
bron makes, so nothing a browser sends can choose where a file goes. The name it was sent under
becomes the title when the file has none of its own (in ``<name>.meta.json``). Only such files can be
removed from the chat; the user's own files in the folder are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from assistant import formats
from assistant.documents import META_SUFFIX, load_document
from assistant.errors import DocumentError, InputError

UPLOAD_DIR = "uploads"
MAX_UPLOAD_BYTES = 50_000_000
MAX_UPLOAD_FILES = 10
_UPLOAD_NAME = re.compile(r"^upload-[0-9a-f]{16}$")
_SUFFIX = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}


def upload_folder(corpus_dir: Path) -> Path:
    return corpus_dir / UPLOAD_DIR


def _kind(path: Path, original_name: str) -> str:
    """The upload's format by its content: the name it came with does not count."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind = formats.sniff(head)
    if kind == "zip":
        kind = "docx" if formats.is_docx(path) else "binary"
    if kind == "binary":
        raise DocumentError(f"{original_name}: not a PDF, Word, HTML or text file")
    return kind


def add_upload(corpus_dir: Path, source: Path, original_name: str) -> tuple[str, bool]:
    """Store one uploaded file in the corpus folder; returns its doc id and whether it is new.

    The file is checked first (size, format, readable text), so a rejected upload leaves nothing behind;
    it is written under a temporary name and renamed into place, so the indexer never sees half a file.
    """
    original_name = Path(original_name or "document").name[:200]
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{original_name}: cannot read the upload ({exc.strerror or exc})") from exc
    if size > MAX_UPLOAD_BYTES:
        raise DocumentError(f"{original_name}: {size:,} bytes, over the upload limit of {MAX_UPLOAD_BYTES:,}")
    kind = _kind(source, original_name)
    suffix = ".md" if kind == "text" and original_name.lower().endswith(".md") else _SUFFIX[kind]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    doc_id = f"upload-{digest[:16]}"
    folder = upload_folder(corpus_dir)
    target = folder / f"{doc_id}{suffix}"
    if target.exists():
        return doc_id, False
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".upload-") as staging:
        staged = Path(staging) / target.name
        shutil.copyfile(source, staged)
        try:
            document = load_document(staged)  # readable, with text: else the reason, and nothing is kept
        except DocumentError as exc:
            raise DocumentError(f"{original_name}: {str(exc).split(': ', 1)[-1]}") from exc
        if document.meta.title == staged.stem.replace("-", " "):  # the file names no title of its own
            title = Path(original_name).stem.replace("_", " ").strip() or original_name
            meta = folder / f"{doc_id}{META_SUFFIX}"
            meta.write_text(json.dumps({"title": title}, ensure_ascii=False), encoding="utf-8")
        os.replace(staged, target)
    return doc_id, True


def add_uploads(corpus_dir: Path, files: list[tuple[Path, str]]) -> tuple[list[str], list[str]]:
    """Store several uploads: the doc ids added, and one message per file that was refused."""
    if len(files) > MAX_UPLOAD_FILES:
        raise InputError(f"{len(files)} files at once; at most {MAX_UPLOAD_FILES}")
    added, refused = [], []
    for path, name in files:
        try:
            doc_id, new = add_upload(corpus_dir, path, name)
        except DocumentError as exc:
            refused.append(str(exc))
            continue
        if new:
            added.append(doc_id)
    return added, refused


def remove_upload(corpus_dir: Path, doc_id: str) -> None:
    """Remove a document added from the chat (and its metadata); any other name is refused."""
    if not _UPLOAD_NAME.match(doc_id or ""):
        raise InputError("only documents added from the chat can be removed here")
    folder = upload_folder(corpus_dir)
    found = [p for p in folder.glob(f"{doc_id}.*") if p.is_file()] if folder.is_dir() else []
    if not found:
        raise InputError(f"no uploaded document {doc_id}")
    for path in found:
        path.unlink()


def uploaded(corpus_dir: Path) -> list[str]:
    """The doc ids of the documents added from the chat."""
    folder = upload_folder(corpus_dir)
    if not folder.is_dir():
        return []
    return sorted({p.name.split(".")[0] for p in folder.iterdir() if _UPLOAD_NAME.match(p.name.split(".")[0])})
