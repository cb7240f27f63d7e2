"""Run directories: their layout, the records in them, and reading them back."""
