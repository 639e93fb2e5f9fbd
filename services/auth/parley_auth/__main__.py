"""`python -m parley_auth`: run the auth service."""

from parley_platform.runtime import serve

from parley_auth.config import Settings
from parley_auth.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
