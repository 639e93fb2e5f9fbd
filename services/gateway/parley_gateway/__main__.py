"""`python -m parley_gateway`: run the gateway service."""

from parley_platform.runtime import serve

from parley_gateway.config import Settings
from parley_gateway.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
