"""Meaning-aware text comparison shared by the runtime and the evals.

``normalize`` (comparison form, tokens, light stems, numbers with units and comparators) and
``negation`` (NegEx-style cue scopes) are the shared, pure primitives. ``check`` uses them at
run time to find a generated sentence that states the opposite of, or a different number than,
the source sentences it cites. The evals' claim matcher (``evals.matcher``) builds its own
judging on the same primitives, so the eval oracle and the runtime check share normalisation
but not the decision rule.
"""
