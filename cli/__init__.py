"""The ``pht`` command: the top layer, wiring ingest, the assistant and the evals together.

``cli.main`` parses arguments and turns domain errors into one line and an exit code;
``cli.ask`` holds ``pht ask`` / ``pht chat``; ``cli.tools`` the maintenance commands
(``calibrate-scope``, ``feedback export``, ``serve``). Nothing below imports this package.
"""
