"""docs/configuration.md is generated from the settings and must stay what the generator writes."""

from assistant.config_doc import configuration_markdown
from assistant.settings import Settings
from tests.fakes import ROOT


def test_the_configuration_page_is_current():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == configuration_markdown(), "docs/configuration.md is stale: run 'make docs'"


def test_every_setting_is_on_the_page_with_its_description():
    page = configuration_markdown()
    for name, field in Settings.model_fields.items():
        assert f"| `{name}` | `BRON_{name.upper()}` |" in page
        assert field.description and field.description.split(";")[0].replace("|", "\\|") in page
    assert "/root" not in page and "/home" not in page  # machine-dependent defaults are described, not printed
