"""Hostile servers: each speaks the canonical profile far enough to be followed, then misbehaves
in one way (a job that never ends, endless redirects, a 50 MB body, a drip, a hang, garbage,
a day-long Retry-After) to prove that the tester survives it, in bounded time, and says so."""
