"""Recovery-community Discord bot: vetted topics, crisis replies, private usage stats."""

__version__ = "0.1.0"
