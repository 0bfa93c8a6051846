"""lrokit: the asynchronous request-reply (202 Accepted) contract kit and conformance tester."""

__version__ = "0.1.0"
