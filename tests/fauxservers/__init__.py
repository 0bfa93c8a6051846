"""Fauxservers: a small in-memory server correct for the canonical profile, and for every
MUST and SHOULD rule a way to break exactly that rule (``FauxServer(breaks="RETRY-2")``)."""
