"""Crisis replies, /hotline embeds and moderator alerts: safe wording, content and limits."""

from __future__ import annotations

import inspect
import itertools
import re

import pytest

from bot.content.hotlines import Audience, HotlineDirectory, load_directory
from bot.content.replies import (
    CATEGORIES,
    MAX_REPLY_LINES,
    MEANS_SAFETY,
    REPLY_KINDS,
    SEVERITIES,
    SUBJECTS,
    crisis_reply,
    hotline_embed,
    moderator_alert,
    pick_lines,
    reply_kind,
)
from bot.paths import bundled_content_dir

# Words about means or amounts that safe-messaging guidance keeps out of replies.
METHOD_WORDS = re.compile(
    r"\b(pills?|tablets?|doses?|dosage|mg|milligrams?|hang(ing)?|rope|noose|cut(ting)?|"
    r"blades?|razors?|guns?|firearms?|jump(ing)?|bridge|lethal|how to|"
    # "poison" as a means, not the name of a poison centre ("Poison Help", "poisons line")
    r"poison(?!s? (help|information|centre|center|control|line))|"
    r"commit(ted)? suicide)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def directory() -> HotlineDirectory:
    return load_directory(bundled_content_dir() / "hotlines.yaml")


def _text(embed) -> str:
    return "\n".join([embed.title, embed.description, embed.footer,
                      *(f"{n}\n{v}" for n, v in embed.fields)])


def _all_replies(directory):
    for country, cat, sev, subj, notified in itertools.product(
            directory.countries(), CATEGORIES, SEVERITIES, SUBJECTS, (True, False)):
        yield (country, cat, sev, subj), crisis_reply(cat, sev, subj, country,
                                                      moderators_notified=notified)


def test_every_reply_fits_discord_limits(directory):
    """Every country x category x severity x subject reply is within Discord's embed limits."""
    failures = [(key[0].code, *key[1:], problems) for key, embed in _all_replies(directory)
                if (problems := embed.limit_problems())]
    assert failures == []


def test_every_hotline_embed_fits_discord_limits(directory):
    """The /hotline embed for every country is within Discord's embed limits."""
    failures = [(c.code, p) for c in directory.countries()
                if (p := hotline_embed(c).limit_problems())]
    assert failures == []


def test_no_method_words_or_press_3(directory):
    """No reply or /hotline embed contains method words or the retired 'press 3' option."""
    texts = [_text(e) for _, e in _all_replies(directory)]
    texts += [_text(hotline_embed(c)) for c in directory.countries()]
    assert [t for t in texts if METHOD_WORDS.search(t)] == []
    assert [t for t in texts if re.search(r"press\s*3", t, re.IGNORECASE)] == []


@pytest.mark.parametrize(("code", "number"), [
    ("US", "911"), ("GB", "999"), ("AU", "000"), ("NZ", "111"), ("IE", "112"), ("JP", "119"),
])
def test_overdose_reply_calls_emergency_first(directory, code, number):
    """An overdose reply opens with 'Call <emergency number> now' before anything else."""
    for subject in SUBJECTS:
        embed = crisis_reply("overdose", "urgent", subject, directory.get(code),
                             moderators_notified=False)
        assert embed.description.startswith(f"**Call {number}")


def test_overdose_bystander_steps(directory):
    """The bystander overdose reply covers naloxone, breathing, the side position, staying."""
    text = crisis_reply("overdose", "concern", "other", directory.get("US"),
                        moderators_notified=False).description.lower()
    assert "naloxone" in text
    assert "breathing" in text
    assert "on their side" in text and "recovery position" in text
    assert "stay with them" in text
    # the order matters: emergency call, then naloxone, then side position, then stay
    order = [text.index(w) for w in ("call 911", "naloxone", "on their side", "stay with them")]
    assert order == sorted(order)


def test_overdose_self_tells_someone_and_naloxone(directory):
    """The first-person overdose reply says call now, tell someone near, and naloxone."""
    text = crisis_reply("overdose", "urgent", "self", directory.get("CA"),
                        moderators_notified=False).description.lower()
    assert text.startswith("**call 911 now")
    assert "tell someone near you" in text and "naloxone" in text


KINDS = [("suicide", ()), ("self_harm", ()), ("overdose", ()), ("overdose", ("suicide",))]


def _first_line(country, category, also, severity, subject):
    embed = crisis_reply(category, severity, subject, country, moderators_notified=False,
                         also=also)
    first = embed.fields[0][0]
    return next(ln for ln in country.lines if ln.name == first), embed


def test_first_line_fits_the_detection_in_every_country(directory):
    """For every country and reply kind, the first line listed is one meant for it:
    a crisis line for suicide and self-harm (and for an overdose with suicidal words),
    a poison centre for an overdose where the country has one, else a crisis line."""
    wrong = []
    for country in directory.countries():
        has_poison = any(Audience.POISON in ln.audience for ln in country.lines)
        for (category, also), severity, subject in itertools.product(
                KINDS, SEVERITIES, SUBJECTS):
            line, _ = _first_line(country, category, also, severity, subject)
            if category == "overdose" and not also and has_poison:
                fits = Audience.POISON in line.audience
            else:
                fits = Audience.CRISIS in line.audience
            if not fits:
                wrong.append((country.code, category, also, severity, subject, line.name))
    assert wrong == []


def test_overdose_with_suicide_lists_poison_centre_second(directory):
    """An overdose with suicidal words lists the crisis line, then the poison centre."""
    for code in ("US", "AU"):
        embed = crisis_reply("overdose", "urgent", "self", directory.get(code),
                             moderators_notified=False, also=["suicide"])
        names = [n for n, _ in embed.fields]
        assert "Poison" in names[1], names


def test_use_alone_and_referral_lines_stay_out_of_urgent_places(directory):
    """Use-alone lines never appear in a crisis reply (only in /hotline); the SAMHSA
    referral line never leads one."""
    us, ca = directory.get("US"), directory.get("CA")
    for country in (us, ca):
        for (category, also), severity, subject in itertools.product(
                KINDS, SEVERITIES, SUBJECTS):
            embed = crisis_reply(category, severity, subject, country,
                                 moderators_notified=False, also=also)
            names = [n for n, _ in embed.fields]
            assert not any("Never Use Alone" in n or "NORS" in n for n in names)
            assert not names[0].startswith("SAMHSA")
    hotline_names = [n for n, _ in hotline_embed(us).fields]
    assert any("Never Use Alone" in n for n in hotline_names)


def test_self_overdose_says_get_checked_even_if_okay(directory):
    """A first-person overdose reply says harm can come hours later, so get checked now."""
    for also in ((), ("suicide",)):
        text = crisis_reply("overdose", "urgent", "self", directory.get("US"),
                            moderators_notified=False, also=also).description
        assert "Even if you feel okay, some medicines cause harm hours later" in text
        assert "get checked now" in text


def test_overdose_with_suicide_acknowledges_both(directory):
    """When suicide and overdose rules both fire, the reply speaks to both."""
    text = crisis_reply("overdose", "urgent", "self", directory.get("GB"),
                        moderators_notified=False, also=["suicide"]).description
    assert "taken too much" in text and "ending your life" in text
    assert text.startswith("**Call 999")
    alone = crisis_reply("overdose", "urgent", "self", directory.get("GB"),
                         moderators_notified=False).description
    assert "ending your life" not in alone


def test_bystander_overdose_has_the_newer_first_aid_steps(directory):
    """Naloxone again after 2-3 minutes, it wears off, breathing matters more than waking
    (sedatives such as xylazine), rescue breaths if trained, care even if they wake."""
    text = crisis_reply("overdose", "urgent", "other", directory.get("US"),
                        moderators_notified=False).description
    assert "after 2–3 minutes, give naloxone again" in text
    assert "wears off" in text and "even if they wake up" in text
    assert "xylazine" in text and "breathing is what matters" in text
    assert "rescue breaths if you're trained" in text


def test_self_harm_urgent_has_its_own_wording(directory):
    """Urgent self-harm replies speak of bleeding and firm pressure, not suicide wording."""
    us = directory.get("US")
    harm = crisis_reply("self_harm", "urgent", "self", us, moderators_notified=False)
    suicide = crisis_reply("suicide", "urgent", "self", us, moderators_notified=False)
    assert harm.description != suicide.description
    assert "bleeding" in harm.description and "call 911 now" in harm.description
    assert "press firmly on the wound" in harm.description
    other = crisis_reply("self_harm", "urgent", "other", us, moderators_notified=False)
    assert "press firmly on the wound" in other.description


def test_urgent_replies_carry_a_means_safety_line(directory):
    """Urgent first-person suicide and self-harm replies suggest distance from anything
    that could be used, or asking someone to hold it, without naming any means."""
    for category in ("suicide", "self_harm"):
        text = crisis_reply(category, "urgent", "self", directory.get("IE"),
                            moderators_notified=False).description
        assert MEANS_SAFETY in text
        assert not METHOD_WORDS.search(MEANS_SAFETY)


def test_fallback_reply_does_not_promise_a_line_that_answers(directory):
    """The international entry is a directory, so its replies do not say 'reach them any
    time'; they say the directory lists helplines."""
    for (category, also), severity, subject in itertools.product(
            KINDS, SEVERITIES, SUBJECTS):
        text = crisis_reply(category, severity, subject, directory.fallback,
                            moderators_notified=False, also=also).description
        assert "reach them any time" not in text


def test_reply_kinds_cover_the_detection_combinations():
    """Every category alone, and overdose with suicide or self-harm either way round,
    maps to a reply kind with its own line order."""
    assert {reply_kind(c) for c in CATEGORIES} == {"suicide", "self_harm", "overdose"}
    assert reply_kind("overdose", ["self-harm"]) == "overdose+suicide"
    assert reply_kind("suicide", ["overdose"]) == "overdose+suicide"
    assert reply_kind("suicide", ["self_harm"]) == "suicide"
    assert set(REPLY_KINDS) == {"suicide", "self_harm", "overdose", "overdose+suicide"}


@pytest.mark.parametrize("code", ["US", "GB", "IE", "AU", "NZ", "CA", "DE", "FR", "MX"])
@pytest.mark.parametrize("category", ["suicide", "self_harm"])
def test_suicide_reply_has_lines_and_emergency(directory, code, category):
    """Suicide and self-harm replies carry the country's general lines and emergency number."""
    country = directory.get(code)
    for severity in SEVERITIES:
        embed = crisis_reply(category, severity, "self", country, moderators_notified=True)
        text = _text(embed)
        assert country.emergency[0] in embed.description
        general = [ln for ln in country.lines if ln.general][:MAX_REPLY_LINES]
        for line in general:
            assert line.call is None or line.call in text
            assert line.text is None or line.text in text


def test_suicide_lists_general_lines_first(directory):
    """For suicide the general '988' line comes before substance-use lines."""
    names = [ln.name for ln in pick_lines(directory.get("US"), "suicide")]
    assert names[0].startswith("988")
    assert not any(n.startswith("SAMHSA") for n in names)


def test_urgent_puts_emergency_before_support(directory):
    """Urgent first-person replies open with the emergency number; concern ones do not."""
    us = directory.get("US")
    urgent = crisis_reply("suicide", "urgent", "self", us, moderators_notified=False)
    concern = crisis_reply("suicide", "concern", "self", us, moderators_notified=False)
    assert urgent.description.index("911") < 120
    assert concern.description.index("911") > urgent.description.index("911")


def test_other_subject_has_helper_wording(directory):
    """Replies about someone else explain how to help: stay, ask directly, lines, danger."""
    for category, severity in itertools.product(("suicide", "self_harm"), SEVERITIES):
        text = crisis_reply(category, severity, "other", directory.get("GB"),
                            moderators_notified=False).description
        assert "Stay with them" in text
        assert "Ask them directly" in text
        assert "does not put the idea in their head" in text
        assert "call 999" in text


def test_footer_says_bot_and_moderators(directory):
    """The footer says it's an automated bot, not a clinician; mods are mentioned only if told."""
    gb = directory.get("GB")
    told = crisis_reply("suicide", "concern", "self", gb, moderators_notified=True).footer
    untold = crisis_reply("suicide", "concern", "self", gb, moderators_notified=False).footer
    for footer in (told, untold):
        assert "automated bot" in footer and "not a person or a clinician" in footer
    assert "moderators" in told and "moderators" not in untold


def test_reply_never_promises_confidentiality_or_diagnoses(directory):
    """No reply says 'confidential', 'private' or 'you have depression'-style diagnoses."""
    banned = re.compile(r"confidential|private|secret|you have (depression|ptsd|an? )",
                        re.IGNORECASE)
    assert [k for k, e in _all_replies(directory) if banned.search(_text(e))] == []


def test_fallback_reply_uses_local_number_and_directory(directory):
    """The INTL reply says 'your local emergency number', mentions 112 and the directory."""
    embed = crisis_reply("suicide", "urgent", "self", directory.fallback,
                         moderators_notified=False)
    text = _text(embed)
    assert "your local emergency number" in text and "112" in text
    assert "findahelpline.com" in text and "/hotline" in text


def test_unknown_category_rejected(directory):
    """An unknown category is a programming error, not a silent generic reply."""
    with pytest.raises(ValueError, match="unknown crisis category"):
        crisis_reply("sadness", "urgent", "self", directory.fallback, moderators_notified=False)


def test_category_spellings_accepted(directory):
    """'self-harm' and 'Self Harm' mean self_harm."""
    a = crisis_reply("self-harm", "concern", "self", directory.fallback,
                     moderators_notified=False)
    b = crisis_reply("Self Harm", "concern", "self", directory.fallback,
                     moderators_notified=False)
    assert a == b and "hurting yourself" in a.description


def test_hotline_embed_lists_everything(directory):
    """The /hotline embed lists every line's contact and hours, the emergency number and date."""
    for country in directory.countries():
        embed = hotline_embed(country)
        text = _text(embed)
        assert len(embed.fields) == len(country.lines)
        for line in country.lines:
            assert line.hours in text
            for part in (line.call, line.text, line.chat_url and str(line.chat_url)):
                assert part is None or part in text
        assert country.emergency[0] in embed.description
        assert country.verified_on.isoformat() in embed.footer


def test_moderator_alert_has_no_message_parameter():
    """moderator_alert cannot receive message text: no parameter for it exists."""
    params = set(inspect.signature(moderator_alert).parameters)
    assert params == {"category", "severity", "subject", "channel_mention", "member_mention",
                      "jump_url", "replied"}
    assert inspect.signature(moderator_alert).parameters["replied"].annotation in (bool, "bool")


def test_undelivered_alert_says_the_member_saw_nothing():
    """When neither channel nor DM worked, the alert says the member got no crisis lines."""
    spec = moderator_alert("suicide", "urgent", "self", channel_mention="<#1>",
                           member_mention="<@2>", jump_url="https://discord.com/channels/1/2/3",
                           replied=False)
    assert "could not reach them" in spec.description
    assert "has replied" not in spec.description


def test_burst_alert_names_channel_and_promises_dm():
    """The burst alert names the channel, the cap and that members still get a DM."""
    from bot.content.replies import burst_alert

    spec = burst_alert(channel_mention="<#9>", limit=3, window_seconds=60)
    assert "<#9>" in spec.description and "3" in spec.description
    assert "DM" in spec.description
    assert not spec.limit_problems()


def test_moderator_alert_content():
    """The alert carries the jump URL, who and where, and says the text is not copied."""
    url = "https://discord.com/channels/1/2/3"
    embed = moderator_alert("overdose", "urgent", "other", channel_mention="<#2>",
                            member_mention="<@9>", jump_url=url)
    text = _text(embed)
    assert url in text and "<#2>" in text and "<@9>" in text
    assert "not copied" in embed.footer
    assert embed.title.startswith("Urgent") and "overdose" in embed.title
    assert embed.limit_problems() == []


def test_hotline_embed_says_what_non_crisis_lines_are_for(directory):
    """/hotline labels the poison centre, the referral line and the use-alone line."""
    text = _text(hotline_embed(directory.get("US")))
    assert "Poison centre: advice after taking too much" in text
    assert "Finds treatment and information; not counselling" in text
    assert "For someone about to use alone; in an emergency call the number above" in text
