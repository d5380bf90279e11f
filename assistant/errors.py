"""The one family of user-facing errors.

Every error a user can cause or fix (bad input, a missing model, a stale or
corrupt index) is a ``BronError`` with a one-line message that names the numbers
and paths involved. The CLI prints it and exits non-zero; the UI shows it.
"""


class BronError(Exception):
    """Base class: a problem the user can understand and fix."""

    exit_code = 1


class InputError(BronError):
    """The question or a command-line value is unusable."""

    exit_code = 2


class DocumentError(BronError):
    """A document could not be read or has no text."""


class ModelError(BronError):
    """A model file is missing, unreadable or incompatible."""

    exit_code = 3


class IndexMissingError(BronError):
    """No index exists where one was expected."""

    exit_code = 4


class IndexMismatchError(BronError):
    """The index was built with other settings or another embedder."""

    exit_code = 4


class IndexCorruptError(BronError):
    """The index files on disk are damaged or incomplete."""

    exit_code = 4


class Cancelled(BronError):
    """The user pressed Stop: the work ended early; what was finished is kept (and cached)."""

    exit_code = 130


class IndexBusyError(BronError):
    """Another process is writing the same index."""

    exit_code = 4
