"""Checks a message passes before anything is retrieved: validation, red flags, intents, scope.

``check.check_question`` runs them in order (validate -> rewrite a follow-up -> red flags ->
intents); ``scope.ScopeGate`` judges whether the articles cover the question. Each gate reads
its patterns from ``assistant/data/*.yaml``.
"""
