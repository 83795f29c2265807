"""`python -m bot.crisis.normalize`: print the normalised form of each line of stdin (a
manual check on your own test strings)."""

import sys

from bot.crisis.normalize import normalize

for line in sys.stdin:  # pragma: no cover - manual check
    print(normalize(line))
