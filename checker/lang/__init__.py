"""The spec language and what it builds: declarations and `Model` (`model.py`), the
built transition system and its packed layout (`system.py`), and the compiler of
guards, updates and properties into Python functions over packed states (`compile.py`)."""
