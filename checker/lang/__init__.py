"""The spec language and what it builds: declarations and `Model` (`model.py`), tracing
bodies into Z3 terms (`trace.py`), the language's arithmetic, one for every engine
(`arith.py`), the built transition system, its packed layout and its model errors
(`system.py`), and the compiler of guards, updates and properties into Python functions
over packed states (`compile.py`)."""
