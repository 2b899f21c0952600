"""Turning a checked question into a cited answer: retrieval, lexical matching, sentence
selection (``extractive``), answer composition (``compose``) and editorial notes (``notes``).
"""
