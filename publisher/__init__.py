"""publisher: build, push, tag, verify and document pre-built PHP-FPM images."""

__version__ = "0.1.0"

#: The oldest Python publisher runs on (pyproject.toml's requires-python, which pip keeps
#: to): ``python -m publisher`` from a checkout on an older one says so (``__main__``), as
#: does resolve's ``--matrix``, which loads the package; ``resolve.py`` alone runs on 3.9.
PYTHON_REQUIRED = (3, 11)
