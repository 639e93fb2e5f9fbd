"""KnowledgeService over gRPC, for the ai service."""
