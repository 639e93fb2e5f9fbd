"""`python -m parley_knowledge`: run the knowledge service."""

from parley_platform.runtime import serve

from parley_knowledge.config import Settings
from parley_knowledge.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
