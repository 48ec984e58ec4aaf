"""Proofs for every size: candidate invariants and Houdini (`invariants.py`), and the
`prove` verdicts built on them and on symbolic bounded model checking (`prove.py`)."""
