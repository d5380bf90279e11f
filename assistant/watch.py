"""``bron index --watch``: keep the index in step with the corpus folder.

Each batch of file changes (watchfiles, debounced so a file being copied is read once it is
complete) runs the ordinary ``build_index``: only passages whose text changed are embedded, the
new index replaces the old one atomically, and a chat open on it picks it up before its next
question. Files already parsed are kept by content hash, so a change to one PDF does not re-read
the others. A failed update (the folder emptied, another writer busy) is reported and the last
good index stays in use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from assistant.documents import DocumentCache
from assistant.embedding import Embedder
from assistant.errors import BronError, IndexBusyError
from assistant.indexing import IndexReport, build_index
from assistant.settings import Settings

log = logging.getLogger(__name__)

_BUSY_RETRIES = 30
_BUSY_WAIT_S = 2.0


def _relevant(_change: object, path: str) -> bool:
    """Documents and their metadata files; hidden files (editors' and uploads' temporary files) are not."""
    return not any(part.startswith(".") for part in Path(path).parts) and not path.endswith("~")


def watch_index(
    settings: Settings,
    embedder: Embedder,
    on_update: Callable[[IndexReport | None, BronError | None], None],
    stop: threading.Event | None = None,
    debounce_ms: int = 1000,
) -> None:
    """Build the index, then rebuild it after every change in ``settings.corpus_dir`` until ``stop`` is set.

    ``on_update`` receives each build's report, or the error that stopped it (the old index is kept).
    """
    from watchfiles import watch

    cache: DocumentCache = {}

    def update() -> None:
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                on_update(build_index(settings, embedder, documents_cache=cache), None)
                return
            except IndexBusyError as exc:
                # another writer ('bron index', an upload): try again once it is done, or the change
                # would wait for the next one
                if attempt == _BUSY_RETRIES or (stop is not None and stop.wait(_BUSY_WAIT_S)):
                    on_update(None, exc)
                    return
                if stop is None:
                    time.sleep(_BUSY_WAIT_S)
            except BronError as exc:
                on_update(None, exc)
                return

    update()
    for changes in watch(
        settings.corpus_dir,
        watch_filter=_relevant,
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
        yield_on_timeout=False,
    ):
        log.info("corpus changed: %s", ", ".join(sorted(Path(p).name for _, p in changes)))
        update()
