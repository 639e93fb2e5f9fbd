"""`python -m parley_whatsapp`: run the whatsapp service."""

from parley_platform.runtime import serve

from parley_whatsapp.config import Settings
from parley_whatsapp.main import create_app

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings)
