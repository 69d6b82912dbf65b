"""The web app on :8000: the public chat page at / and the staff console at /console.

Each part is a module with a ``routes()`` function returning its Starlette routes; ``app.create_app`` mounts
every part listed in ``PARTS`` that exists, so the chat page, the console and the FAQ curation stay separate.
"""
