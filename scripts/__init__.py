"""Scripts run from the project folder: `python -m scripts.NAME`."""
