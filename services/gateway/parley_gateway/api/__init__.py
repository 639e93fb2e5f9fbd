"""The public REST edge: authentication, the route table, the reverse proxy to the services
that own each path, the merged OpenAPI document and the JWKS endpoint."""
