"""`python -m parley_conversation`: run the conversation service."""

from parley_platform.runtime import serve

from parley_conversation.config import Settings
from parley_conversation.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
