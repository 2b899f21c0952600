"""Versioned prompt files (package data) and their strict loader.

``load_prompt("answer")`` returns a ``Prompt`` whose ``ref`` is recorded in every
``Answer``. See ``prompts/loader.py`` for the file format; this package holds no logic
beyond loading and rendering.
"""

from prompts.loader import Prompt, load_prompt, parse_prompt, template_fields

__all__ = ["Prompt", "load_prompt", "parse_prompt", "template_fields"]
