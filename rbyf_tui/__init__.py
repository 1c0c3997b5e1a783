"""rbyf: rate local LLMs on your own prompt catalog, live, in the terminal."""

__version__ = "0.1.0"
