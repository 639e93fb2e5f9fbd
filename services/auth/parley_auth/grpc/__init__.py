"""AuthService, the gRPC API the other services call."""
