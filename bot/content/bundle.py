"""Everything under CONTENT_DIR, loaded and validated in one place for `check` and `run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config
from bot.content.hotlines import HotlineDirectory, load_hotlines
from bot.content.topics import TopicLibrary, load_topics
from bot.crisis import Detector, check_examples, load_rules
from bot.crisis.hybrid import Policy, load_crisis_model
from bot.crisis.model import CrisisModel
from bot.crisis.onnx_encoder import Backend
from bot.problems import Problem, has_errors


@dataclass(frozen=True, slots=True)
class Content:
    """The vetted content the bot serves: topics, crisis lines and crisis-language rules."""

    topics: TopicLibrary
    hotlines: HotlineDirectory
    detector: Detector
    # The learned crisis scorer and how it joins the rules; None runs the rules alone.
    crisis_model: CrisisModel | None = None
    crisis_policy: Policy = field(default_factory=Policy)


def load_content(content_dir: Path, *, with_model: bool = True, backend: str = "numpy"
                 ) -> tuple[Content | None, list[Problem]]:
    """Load and validate all content; Content is None when any problem is an error.

    Every rule example is run here too, so a rule that no longer does what its
    examples say stops the bot at start-up, not in a room where someone needs help.
    """
    content_dir = Path(content_dir)
    if not content_dir.is_dir():
        return None, [Problem(f"setting CONTENT_DIR ({content_dir})", "is not a directory",
                              "point CONTENT_DIR at a folder holding topics/, crisis/ and "
                              "hotlines.yaml, or unset it to use the bundled content")]
    topics, problems = load_topics(content_dir / "topics")
    hotlines, hotline_problems = load_hotlines(content_dir / "hotlines.yaml")
    problems += hotline_problems
    rules, rule_problems = load_rules(content_dir / "crisis")
    problems += rule_problems
    detector = None
    if not has_errors(rule_problems):
        # The detector that will serve is the one whose examples are checked.
        detector = Detector(rules)
        problems += check_examples(rules, detector)
    model, policy = None, Policy()
    if with_model:
        model, policy, model_problems = load_crisis_model(content_dir / "crisis" / "model",
                                                          Backend(backend))
        problems += model_problems
    if detector is None or has_errors(problems):
        return None, problems
    return Content(topics=topics, hotlines=hotlines, detector=detector, crisis_model=model,
                   crisis_policy=policy), problems


def load_configured(config: Config) -> tuple[Content | None, list[Problem]]:
    """`load_content` as the configuration asks: its content folder, model on or off, and
    the model's backend (what `check`, `run` and `demo` all load)."""
    return load_content(config.content_dir, with_model=config.crisis_model == "on",
                        backend=config.crisis_model_backend)
