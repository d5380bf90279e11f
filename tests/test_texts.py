"""The one table of what bron says to people."""

from assistant.texts import TEXT
from assistant.types import LANGUAGES


def test_every_language_has_every_string_with_the_same_placeholders():
    import string

    assert set(TEXT) == set(LANGUAGES)
    keys = set(TEXT["nl"])
    for language, table in TEXT.items():
        assert set(table) == keys, f"{language}: {sorted(set(table) ^ keys)}"
        for key, value in table.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f}
            dutch = {f for _, f, _, _ in string.Formatter().parse(TEXT["nl"][key]) if f}
            assert fields == dutch, f"{language}.{key}: {fields} against {dutch}"
