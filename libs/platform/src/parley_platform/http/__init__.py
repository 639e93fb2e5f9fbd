"""HTTP helpers shared by every service's FastAPI app."""

from parley_platform.http.app import component_dependency, create_service_app
from parley_platform.http.errors import error_response

__all__ = ["component_dependency", "create_service_app", "error_response"]
