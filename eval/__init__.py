"""The AI's evaluation harness: a golden set of questions over fixture knowledge bases
(`make eval`; the figures are in docs/quality.md)."""
