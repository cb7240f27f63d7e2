"""Configuration: validating composed configs and loading the configs of earlier runs."""
