"""gRPC helpers: server with health/reflection/credentials, and authenticated clients."""

from parley_platform.grpc.client import create_channel, domain_error
from parley_platform.grpc.server import GrpcServer, current_caller

__all__ = ["GrpcServer", "create_channel", "current_caller", "domain_error"]
