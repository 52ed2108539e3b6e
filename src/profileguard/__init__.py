"""profileguard: lawful e-commerce user profiles."""

__version__ = "0.1.0"
