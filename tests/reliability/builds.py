"""Synthetic index builds for the crash and race tests, and a writer that can be killed at step N.

A build ``v`` has the same number of passages as every other build, each passage text names
its build, and each vector is derived from its passage text: a reader that mixed files of two
builds is caught by comparing any vector with the one its passage should have.

Run as a script, it writes build ``v`` to an index folder the way ``bron index`` does (the
writer lock, then ``save_index``), optionally dying with ``os._exit`` at the N-th file-system
step (open for writing, write of a whole file, fsync, rename, unlink, mkdir, rmdir)::

    python -m tests.reliability.builds INDEX_PATH VERSION [CRASH_AT]

With ``CRASH_AT`` 0 it writes normally and prints the number of steps it took.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from assistant.manifest import IndexedDocument
from assistant.store import expected_identity, load_index, save_index, writer_lock
from assistant.types import Chunk

N_PASSAGES = 12
DIM = 16
IDENTITY = expected_identity("synthetic", "synthetic-1", DIM, 800, 1)
CRASH_EXIT = 86


def vector_for(text: str) -> np.ndarray:
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def chunks_for(version: int) -> list[Chunk]:
    chunks = []
    for i in range(N_PASSAGES):
        text = f"Build {version}, passage {i}: de gemeente mengt wijken {'nieuw ' * (version % 3)}in ronde {version}."
        chunks.append(
            Chunk(
                f"doc#{i}", "doc", "Sectie", text, i + 1, i + 1, 0, len(text), hashlib.sha256(text.encode()).hexdigest()
            )
        )
    return chunks


def write_build(path: Path, version: int) -> None:
    """Write build ``version`` as ``bron index`` does: under the writer lock, through ``save_index``."""
    from assistant.retrieval import build_bm25

    chunks = chunks_for(version)
    vectors = np.stack([vector_for(c.text) for c in chunks])
    documents = {"doc": IndexedDocument(path="doc.txt", content_hash=f"v{version}", title=f"Build {version}")}
    with writer_lock(path):
        units = ([c.text_hash for c in chunks], vectors)
        save_index(path, IDENTITY, documents, chunks, vectors, build_bm25(chunks), units=units)


def loaded_version(path: Path) -> int:
    """The build a reader gets; fails if the files it read belong to more than one build."""
    index = load_index(path, IDENTITY)
    versions = {int(c.text.split(",")[0].removeprefix("Build ")) for c in index.chunks}
    assert len(versions) == 1, f"passages of builds {sorted(versions)} in one load"
    (version,) = versions
    assert index.manifest.documents["doc"].content_hash == f"v{version}", "manifest of another build"
    for row, chunk in enumerate(index.chunks):
        assert np.allclose(index.vectors[row], vector_for(chunk.text)), f"vector {row} is not its passage's"
    found, _ = index.dense.search(vector_for(index.chunks[3].text), 1)
    assert found[0] == 3, "the FAISS index belongs to another build"
    return version


def leftovers(path: Path) -> list[str]:
    """Anything beside the index that a finished writer should not leave (lock files excepted)."""
    allowed = {path.name, f".{path.name}.lock", f".{path.name}.swap"}
    return sorted(p.name for p in path.parent.iterdir() if p.name not in allowed)


class _Crash:
    """Counts file-system steps and exits the process, unflushed, at step ``at``."""

    def __init__(self, at: int):
        self.at = at
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps == self.at:
            os._exit(CRASH_EXIT)

    def wrap(self, module, name: str, when=lambda *a, **k: True) -> None:
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            if when(*args, **kwargs):
                self.step()
            result = real(*args, **kwargs)
            return result

        setattr(module, name, wrapped)

    def install(self) -> None:
        def writing(file, mode="r", *args, **kwargs):
            return any(c in mode for c in "wax+")

        self.wrap(builtins, "open", writing)
        for name in ("fsync", "replace", "rename", "unlink", "rmdir", "mkdir"):
            self.wrap(os, name)
        self.wrap(np, "save")


def main() -> None:
    path, version = Path(sys.argv[1]), int(sys.argv[2])
    crash = _Crash(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    crash.install()
    write_build(path, version)
    print(crash.steps)


if __name__ == "__main__":
    main()

__all__ = ["chunks_for", "leftovers", "loaded_version", "vector_for", "write_build"]
