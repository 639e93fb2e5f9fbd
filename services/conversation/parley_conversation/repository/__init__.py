"""All of the service's queries, one module per table family."""
