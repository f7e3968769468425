"""The bottom layer shared by `pytorch/`, `score/` and `local/`: file I/O, errors, registries, embedding
tables and the CLI runner. numpy and kaldiio only (kaldiio imported lazily), so both packages can depend on it
without depending on each other."""
