"""Faithful servers of the async dialects, written from each dialect's own text, with the
typical ways each gets the pattern wrong (``breaks=RULE-ID``)."""
