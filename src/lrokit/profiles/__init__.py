"""Built-in profiles: dialects of the asynchronous request-reply pattern, as data (TOML)."""
