"""The conformance runner: a bounded HTTP target, scenarios that record what the server does,
verdicts per rule and the reporters that render them; ``options`` (a run's options, declared
once), ``command`` (``lrokit check``) and ``deep`` (its ``--deep`` layers under pytest)."""
