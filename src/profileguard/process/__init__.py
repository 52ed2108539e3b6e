"""Processing: pseudonymous ids, masking and generalization, re-identification risk and
differentially private releases.

Each concern is its own module: :mod:`.pseudonym` (keyed HMAC ids), :mod:`.transforms`
(column transforms over Arrow), :mod:`.recipe` (the YAML de-identification recipe),
:mod:`.risk` (k, l, t and GB/T 42460 levels), :mod:`.mondrian` (generalize until k holds),
:mod:`.dp` and :mod:`.budget` (OpenDP releases under a persisted epsilon budget).
"""
