"""Demo data: a deterministic, realistic zh_CN e-commerce shop (``profileguard generate``)."""
