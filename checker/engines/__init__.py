"""The engines: each reads a `System` and returns a `Result`. Models, conform and users
reach them only through the package (`checker.check`, `checker.replay`). `explicit.py`
is the reference search, `fast/` the same search compiled to machine code,
`postsearch.py` what both decide from the explored graph, `liveness.py` and `vector.py`
its helpers, `symmetry.py` the reduction, `bmc.py` and `symbolic.py` Z3's bounded model
checking, `replay.py` a trace from action names."""
