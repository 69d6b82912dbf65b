"""`python -m webapp`: serve the web app on WEB_PORT (default 8000), loopback only unless WEB_HOST is set."""

import os

import uvicorn

from core.settings import get_settings


def main() -> None:
    uvicorn.run(
        "webapp.app:create_app",
        factory=True,
        host=os.environ.get("WEB_HOST", "127.0.0.1"),
        port=get_settings().web_port,
        log_level="info",
        proxy_headers=False,
        # no websockets here (socket.io is served by Rasa); uvicorn's "auto" fails on Rasa's websockets 10.4 pin
        ws="none",
    )


if __name__ == "__main__":
    main()
