"""The Gradio web app for runners (the chat, ``/``) and clinic staff (``/staff/``).

``layout.build_chat`` and ``staff.build_staff`` assemble the two pages; ``handlers`` (chat,
feedback, API) and ``desk`` (FAQ desk, batch) hold what their events do; ``server`` mounts
both on one ASGI app and runs it. ``render``, ``sources``, ``richtext`` and ``export`` are
pure functions producing escaped HTML, plain text, Markdown and CSV; ``limits`` bounds the
inputs, ``priority`` lets chat answers go before batch questions; ``faq`` and ``batch`` read
the curated questions and uploaded question files; ``styles.css`` and ``page.js`` are the
pages' look and behaviour. Nothing here loads the real assistant (``app.py`` does).
"""
