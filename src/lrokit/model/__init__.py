"""The tester's neutral vocabulary: what every side of the tester reads and none owns.

``exchange`` (a recorded request and response), ``recording`` (what a run saw, by purpose),
``profile`` (a dialect of the pattern, as data), ``contract`` (the target's OpenAPI document)
and ``headers`` (strict parsers of the header fields the pattern depends on). The checks, the
runner, the client and lint import it; it imports only :mod:`lrokit.rules`, never the
packages that use it.
"""
