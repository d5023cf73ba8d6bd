"""The canonical clinical store: what extraction loads, for analysts (docs/extraction.md)."""
