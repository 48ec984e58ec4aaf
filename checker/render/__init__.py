"""Rendering: the terminal text (`text.py`, `prove_text.py`), the state graph as
networkx (`graph.py`), the diagrams (`diagrams.py`) and the HTML report (`html.py`)."""
