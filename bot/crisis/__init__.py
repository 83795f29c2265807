"""Crisis-language detection (pure Python, no Discord): see detector.py and content/crisis/."""

from bot.crisis.detector import Candidate, Detection, Detector, default_detector, detect
from bot.crisis.normalize import normalize
from bot.crisis.rules import RuleSet, check_examples, check_rules, load_rules

__all__ = [
    "Candidate",
    "Detection",
    "Detector",
    "RuleSet",
    "check_examples",
    "check_rules",
    "default_detector",
    "detect",
    "load_rules",
    "normalize",
]
