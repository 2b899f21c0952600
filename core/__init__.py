"""The bottom layer every other package imports: settings, domain errors, text normalisation.

``core.settings`` (the one settings model), ``core.errors`` (small domain exceptions, turned
into messages by the CLI and the app) and ``core.text`` (typography-normalised text and
hashes). It imports no other package of this project.
"""
