"""`python -m parley_ai`: run the ai service."""

from parley_platform.runtime import serve

from parley_ai.config import Settings
from parley_ai.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
