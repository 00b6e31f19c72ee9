"""Configuration: TOML validated by pydantic models, one module per section."""
