"""Interop: real open-source servers of the pattern, run on 127.0.0.1 as fixtures."""
