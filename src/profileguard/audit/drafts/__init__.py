"""Drafts a person completes and signs: the PIA (PIPL 55–56) and the algorithm filing (ALG 24)."""
