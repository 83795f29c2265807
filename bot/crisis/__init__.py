"""Crisis-language detection (pure Python, no Discord): see detector.py and content/crisis/.

(`normalize` is not re-exported here: the name would hide the `bot.crisis.normalize`
package.)"""

from bot.crisis.checks import check_examples, check_rules
from bot.crisis.detector import Candidate, Detection, Detector, default_detector, detect
from bot.crisis.loading import load_rules
from bot.crisis.schema import Category, RuleSet, Severity, Subject

__all__ = [
    "Candidate",
    "Category",
    "Detection",
    "Detector",
    "RuleSet",
    "Severity",
    "Subject",
    "check_examples",
    "check_rules",
    "default_detector",
    "detect",
    "load_rules",
]
