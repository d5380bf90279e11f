"""bron: grounded question answering over Dutch documents, fully offline."""

__version__ = "0.1.0"
