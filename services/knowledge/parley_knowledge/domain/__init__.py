"""Pure decisions of the knowledge service: extraction, chunking, languages, ranking, URLs."""
