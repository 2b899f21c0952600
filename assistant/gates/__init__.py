"""Checks a message passes before anything is retrieved: validation, red flags, intents, scope.

``check.check_question`` runs them in order (validate -> red flags on the raw words -> intents
-> rewrite a follow-up); ``message.read_message`` splits a message into narrative and asks;
``scope.ScopeGate`` and ``scope_model`` judge whether the articles cover what is asked. The
rules read their patterns from ``assistant/data/*.yaml``; the learned layers
(``red_flag_model``, ``scope_model``) their weights from ``assistant/data/*.json``.
"""
