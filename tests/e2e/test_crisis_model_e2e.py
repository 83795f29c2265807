"""The learned model in the real bot: it adds replies no rule would give, and never delays or
blocks a reply the rules give when it is slow, stuck or switched off."""

from __future__ import annotations

import asyncio
import threading
import time

from bot.crisis.schema import Severity
from tests.e2e.test_crisis_e2e import URGENT_SELF, replies_to, usage, wait_reply

# No rule names this wording; the shipped model scores it far above its threshold.
MODEL_ONLY = "i want to end it tonight"
CALM = "see you all at the thursday meeting, bringing snacks"


def test_the_model_only_message_is_what_the_parts_say(content):
    assert content.detector.detect(MODEL_ONLY) is None
    (score,) = content.crisis_model.score([MODEL_ONLY])
    assert score.probability >= content.crisis_policy.add_threshold
    (calm,) = content.crisis_model.score([CALM])
    assert calm.probability < content.crisis_policy.add_threshold


async def test_model_adds_a_reply_no_rule_gives(running):
    fake, bot = running.fake, running.bot
    msg = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, MODEL_ONLY)
    reply = await wait_reply(fake, msg, timeout=10)
    assert "988" in str(reply.json)
    calm = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, CALM)
    counts = await usage(bot, fake.ids.guild)
    assert counts[("crisis_model", "model", "scored")] == 1
    assert sum(n for (kind, key, outcome), n in counts.items()
               if kind == "crisis_reply" and key.startswith("suicide/") and outcome == "ok") == 1
    assert replies_to(fake, calm) == []


async def test_rules_alone_when_the_model_is_off(start_bot):
    run = await start_bot(crisis_model="off")
    fake = run.fake
    quiet = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, MODEL_ONLY)
    loud = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, loud)
    await asyncio.sleep(0.2)
    assert replies_to(fake, quiet) == []
    assert run.bot.assessor.worker is None


async def test_a_stuck_model_does_not_hold_a_rule_reply(running, monkeypatch):
    fake, bot = running.fake, running.bot
    release = threading.Event()
    model = bot.assessor.worker.model
    real_score = model.score

    def stuck(texts):
        release.wait(10)
        return real_score(texts)

    monkeypatch.setattr(model, "score", stuck)
    # Let the model veto every rule hit, so the reply would wait for it if unbounded.
    monkeypatch.setattr(bot.assessor, "policy", bot.assessor.policy.model_copy(
        update={"veto_severities": frozenset(Severity), "rule_wait_seconds": 0.5}))
    started = time.monotonic()
    msg = await fake.dispatch_message(fake.ids.text_channel, fake.ids.user, URGENT_SELF)
    await wait_reply(fake, msg, timeout=5)
    waited = time.monotonic() - started
    release.set()
    assert waited < bot.assessor.policy.rule_wait_seconds + 2.0
    counts = await usage(bot, fake.ids.guild)
    assert counts[("crisis_model", "rules", "late")] == 1
    assert counts[("crisis_reply", "suicide/urgent", "ok")] == 1
