import os
import sys

import pytest

# The tests import the toy models from this folder and the project from its root.
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def piped_width():
    """The checker's output goes to pipes in the tests: at the documented piped width, whatever
    the shell exports. Unset at the C level too: importing readline (pytest does) sets COLUMNS
    there for child processes without touching os.environ."""
    os.environ.pop("COLUMNS", None)
    os.unsetenv("COLUMNS")
