"""The Gradio web app for runners and clinic staff: layout, handlers and safe rendering.

``layout.build_blocks`` assembles the app; ``handlers`` holds what its events do;
``render`` and ``export`` are pure functions producing escaped HTML, Markdown and CSV;
``faq`` and ``batch`` read the curated questions and uploaded question files. Nothing
in this package loads the real assistant or starts a server (``app.py`` does).
"""
