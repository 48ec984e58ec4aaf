import os
import sys

# The tests import the toy models from this folder and the project from its root.
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Output goes to pipes in the tests: at the documented piped width, whatever the shell exports.
os.environ.pop("COLUMNS", None)
