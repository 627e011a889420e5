"""publisher: build, push, tag, verify and document pre-built PHP-FPM images."""

__version__ = "0.1.0"
