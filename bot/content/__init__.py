"""Vetted content: topic summaries, crisis-line directory. Pure: no Discord imports."""
