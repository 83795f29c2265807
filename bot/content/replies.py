"""Crisis replies, /hotline answers and moderator alerts as Discord-free `EmbedSpec`s.

Wording follows safe-messaging guidance: warm, short and non-judgemental; no talk of
methods; hope and a hand-off to real people (crisis lines, the emergency number, someone
nearby). The bot never diagnoses and never promises confidentiality. Overdose replies put
the emergency number first, then naloxone, breathing, the recovery position and staying
with the person (CDC "Preventing an Opioid Overdose"; SAMHSA overdose toolkit).

Moderator alerts never take or show the member's message text.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.content.embeds import EmbedSpec
from bot.content.hotlines import GROUP_CRISIS, Audience, Country, Line
from bot.crisis.schema import Category, Severity, Subject

CATEGORIES = tuple(Category)
SEVERITIES = tuple(Severity)
SUBJECTS = (*Subject, "unknown")
MAX_REPLY_LINES = 4

BOT_NOTICE = ("I'm an automated bot, not a person or a clinician. "
              "This is general information, not medical advice.")
MODS_NOTICE = "This server's moderators have been told, so a person can check in with you."

_CATEGORY_LABEL = {"suicide": "suicide", "self_harm": "self-harm", "overdose": "overdose"}


def normalise_category(category: str) -> Category:
    """'self-harm', 'Self Harm' -> 'self_harm'; raises ValueError for unknown categories."""
    key = category.strip().casefold().replace("-", "_").replace(" ", "_")
    key = {"selfharm": "self_harm", "od": "overdose"}.get(key, key)
    if key not in CATEGORIES:
        raise ValueError(f"unknown crisis category {category!r}; "
                         f"expected one of {', '.join(CATEGORIES)}")
    return Category(key)


def _severity(severity: str) -> Severity:
    # Anything unrecognised is treated as urgent: the emergency number first costs little.
    key = severity.strip().casefold()
    return Severity(key) if key in SEVERITIES else Severity.URGENT


def _subject(subject: str, category: str) -> Subject:
    key = subject.strip().casefold()
    if key in ("self", "other"):
        return Subject(key)
    # Overdose posts are usually from a bystander, and the bystander steps are the safe
    # default; for suicide and self-harm a first-person reply is the safer default.
    return Subject.OTHER if category == Category.OVERDOSE else Subject.SELF


def emergency_words(country: Country) -> tuple[str, str]:
    """('911', '') or ('your local emergency number', ' (112 works in many countries ...)')."""
    if country.is_fallback:
        return ("your local emergency number",
                f" ({' or '.join(country.emergency)} works in many countries, "
                "including every EU country)")
    return " or ".join(country.emergency[:2]), ""


# Which lines a crisis reply lists, most fitting first. Each tier is a set of audiences;
# a line takes the rank of the first tier it serves and lines in no tier are left out.
# A person who took too much needs the emergency number (in the text), then a poison
# centre, then a crisis line; use-alone lines are for someone about to use, never for an
# emergency, so no tier holds them.
_CRISIS_TIERS = (frozenset({Audience.CRISIS}), GROUP_CRISIS)
_TIERS: dict[str, tuple[frozenset[Audience], ...]] = {
    "suicide": _CRISIS_TIERS,
    "self_harm": _CRISIS_TIERS,
    "overdose": (frozenset({Audience.POISON}), frozenset({Audience.CRISIS}),
                 frozenset({Audience.DRUGS}), frozenset({Audience.TREATMENT_REFERRAL})),
    # Overdose with suicidal words: the crisis line first, then the poison centre.
    "overdose+suicide": (frozenset({Audience.CRISIS}), frozenset({Audience.POISON}),
                         GROUP_CRISIS, frozenset({Audience.DRUGS})),
}


def reply_kind(category: str, also: Iterable[str] = ()) -> str:
    """The kind of reply for a detection: its category, or 'overdose+suicide' when an
    overdose comes with suicide or self-harm language in the same message."""
    category = normalise_category(category)
    others = {normalise_category(c) for c in also}
    if category == "overdose" and others & {"suicide", "self_harm"}:
        return "overdose+suicide"
    if category in ("suicide", "self_harm") and "overdose" in others:
        return "overdose+suicide"
    return category


REPLY_KINDS = tuple(_TIERS)
_ONE_OF_EACH_FIRST = frozenset({"overdose", "overdose+suicide"})


def pick_lines(country: Country, category: str, limit: int = MAX_REPLY_LINES, *,
               also: Iterable[str] = ()) -> list[Line]:
    """The lines a crisis reply lists, most fitting first; file order breaks ties.

    `category` is a crisis category or a reply kind ('overdose+suicide'); `also` names
    other categories found in the same message.
    """
    kind = category if category in _TIERS else reply_kind(category, also)
    tiers = _TIERS[kind]

    def rank(line: Line) -> int | None:
        return next((i for i, tier in enumerate(tiers) if line.serves(tier)), None)

    ranked = sorted(((r, i, line) for i, line in enumerate(country.lines)
                     if (r := rank(line)) is not None), key=lambda t: t[:2])
    if kind in _ONE_OF_EACH_FIRST:
        # One line of each tier before a second of any: after an overdose the poison
        # centre and a crisis line both matter more than a second crisis line.
        firsts = [t for n, t in enumerate(ranked) if n == 0 or t[0] != ranked[n - 1][0]]
        ranked = firsts + [t for t in ranked if t not in firsts]
    return [line for _, _, line in ranked[:limit]]


def _line_field(line: Line) -> tuple[str, str]:
    return line.name, f"{line.contact()}\n{line.hours}"


def crisis_reply(category: str, severity: str, subject: str, country: Country, *,
                 moderators_notified: bool, also: Iterable[str] = ()) -> EmbedSpec:
    """The reply to a message that may be about suicide, self-harm or an overdose.

    `subject` is 'self' (the writer) or 'other' (someone they are worried about);
    'unknown' means bystander wording for overdose and first-person otherwise. `also`
    names other crisis categories found in the same message: an overdose with suicidal
    words gets a reply that speaks to both and lists the crisis line first.
    """
    category = normalise_category(category)
    severity = _severity(severity)
    kind = reply_kind(category, also)
    if kind == "overdose+suicide":
        category = "overdose"  # the emergency steps for an overdose come first
    subject = _subject(subject, category)
    em, hint = emergency_words(country)
    lines = pick_lines(country, kind)
    poison = any(Audience.POISON in line.audience for line in lines)
    if category == "overdose":
        title, description = _overdose_text(subject, em, hint, country, poison=poison,
                                            suicide=kind == "overdose+suicide")
    elif subject == "other":
        title, description = _other_text(category, severity, em, hint)
    else:
        title, description = _self_text(category, severity, em, hint,
                                        directory_only=country.is_fallback)
    if country.is_fallback:
        description += ("\n\nTell me your country with `/hotline` and I'll show the lines "
                        "there.")
    fields = [_line_field(line) for line in lines]
    footer = BOT_NOTICE + (f" {MODS_NOTICE}" if moderators_notified else "")
    return EmbedSpec(title=title, description=description, fields=fields, footer=footer)


# Means safety without naming any means (safe-messaging guidance: no method detail).
MEANS_SAFETY = ("If you can, put some distance between you and anything you might use to "
                "hurt yourself, or ask someone you trust to hold on to it for now.")
FEEL_OKAY = ("Even if you feel okay, some medicines cause harm hours later: "
             "get checked now.")


def _reach(directory_only: bool) -> str:
    if directory_only:
        # The international entry is a directory, not a line that answers.
        return ("The directory below lists free helplines in many countries, so you can "
                "find people to talk to where you are.")
    return ("The people at these lines are there to listen, without judgement. "
            "It's free, and you can reach them any time.")


def _self_text(category: str, severity: str, em: str, hint: str, *,
               directory_only: bool = False) -> tuple[str, str]:
    feeling = ("thoughts of hurting yourself" if category == "self_harm"
               else "thoughts of ending your life")
    reach = _reach(directory_only)
    if severity == "urgent" and category == "self_harm":
        return ("Please get help right now", (
            f"**If you are badly hurt or bleeding won't stop, call {em} now{hint}**, and "
            "press firmly on the wound with a clean cloth until help comes. If you might "
            "hurt yourself more, call too, and tell someone near you what's going on.\n\n"
            f"{MEANS_SAFETY}\n\n"
            f"You matter, and you don't have to face this by yourself. {reach}"))
    if severity == "urgent":
        return ("Please reach out for help right now", (
            f"**If you might act on these thoughts or are in danger, call {em} now{hint}.** "
            "If you can, tell someone near you what's going on, so you are not alone.\n\n"
            f"{MEANS_SAFETY}\n\n"
            f"You matter, and you don't have to face this by yourself. {reach}"))
    return ("You don't have to go through this alone", (
        "It sounds like you're going through something really painful, and I'm glad you "
        f"said something. If you're having {feeling}, talking with someone can help, and "
        f"things can get better with support. {reach}\n\n"
        f"If you are in danger right now, call {em}{hint}."))


def _other_text(category: str, severity: str, em: str, hint: str) -> tuple[str, str]:
    danger = f"• If they are in immediate danger, call {em} now{hint}."
    steps = [
        "• Stay with them if it's safe for you, or make sure someone else is with them.",
        "• Ask them directly if they're thinking about suicide. Asking does not put the idea "
        "in their head, and it can be a relief to be asked.",
        "• Listen without judging, and help them contact one of the lines below. You can "
        "call together, and the lines also support people who are worried about someone.",
    ]
    if category == "self_harm":
        steps[1] = ("• Ask them directly if they're hurting themselves or thinking about "
                    "suicide. Asking does not put the idea in their head.")
        danger = (f"• If they are badly hurt or bleeding won't stop, call {em} now{hint} "
                  "and press firmly on the wound with a clean cloth.")
    if severity == "urgent":
        steps.append("• If it's safe, help them put some distance between themselves and "
                     "anything they might use to hurt themselves.")
    # Urgent puts the emergency step first; concern leads with staying close and asking.
    body = [danger, *steps] if severity == "urgent" else [*steps, danger]
    return ("How you can help them", (
        "It's good that you're looking out for them. Some things that help:\n"
        + "\n".join(body)
        + "\n\nLook after yourself too: you don't have to handle this alone."))


# Legal protection for people who call for help, where a government page says so.
_GOOD_SAMARITAN: dict[str, str] = {}


def _overdose_text(subject: str, em: str, hint: str, country: Country, *,
                   poison: bool, suicide: bool) -> tuple[str, str]:
    advice = ("The poison centre below can also tell you what to do. " if poison else "")
    if subject == "self":
        if suicide:
            opening = (f"**Call {em} now{hint}.** It sounds like you may have taken too much, "
                       "and that you may be thinking about ending your life. Both matter, "
                       "and you deserve help with both right now. Tell someone near you so "
                       "you're not alone.\n")
            after = ("The crisis line below is there to listen, without judgement. "
                     + advice)
        else:
            opening = (f"**Call {em} now{hint}** if you think you've taken too much, and "
                       "tell someone near you so you're not alone.\n")
            after = advice + "You deserve help, not judgement."
        return ("Please get help now", (
            opening + f"**{FEEL_OKAY}**\n"
            "• If someone near you has naloxone (Narcan), ask them to give it to you.\n"
            "• If you feel very drowsy, lie down on your side.\n\n" + after.strip()))
    extra = _GOOD_SAMARITAN.get(country.code, "")
    tail = ("If they also talked about ending their life, tell the emergency call-taker, "
            "and stay with them. " if suicide else "")
    return ("This may be an overdose: get help now", (
        f"**Call {em} now{hint}.** If you aren't sure, treat it as an overdose.\n"
        "1. Give naloxone (Narcan) if you have it. It won't hurt someone who hasn't taken "
        "opioids. If there's no response after 2–3 minutes, give naloxone again.\n"
        "2. Keep them breathing: try to keep them awake and check their breathing. If "
        "they breathe but don't wake up (sedatives such as xylazine, \"tranq\", can do "
        "this), breathing is what matters. If they aren't breathing, give rescue breaths "
        "if you're trained.\n"
        "3. Lay them on their side (the recovery position) so they don't choke.\n"
        "4. Stay with them until help arrives. Naloxone wears off in about 30–90 "
        "minutes, so they need medical care even if they wake up.\n\n"
        + (f"{extra}\n\n" if extra else "")
        + tail + advice + "The lines below can help with what comes next."))


# What a non-crisis line is for, shown under it in /hotline so nobody mistakes a referral or
# use-alone line for emergency help.
_AUDIENCE_LABEL = {
    Audience.POISON: "Poison centre: advice after taking too much of a medicine or drug",
    Audience.DRUGS: "For drug and alcohol use",
    Audience.TREATMENT_REFERRAL: "Finds treatment and information; not counselling",
    Audience.USE_ALONE: "For someone about to use alone; in an emergency call the number above",
}


def hotline_embed(country: Country) -> EmbedSpec:
    """Every line for a country with how to reach it and its hours, plus the emergency number."""
    em, hint = emergency_words(country)
    description = f"**In an emergency, call {em}{hint}.**"
    if country.emergency_note and not country.is_fallback:
        description += f"\n{country.emergency_note}"
    fields = []
    for line in country.lines:
        name, value = _line_field(line)
        value += f"\nLanguages: {', '.join(line.languages)}"
        if not line.general:
            value += "".join(f"\n{_AUDIENCE_LABEL[a]}" for a in line.audience
                             if a in _AUDIENCE_LABEL)
        fields.append((name, value))
    checked = min([country.verified_on, *(line.verified_on for line in country.lines)])
    footer = (f"Numbers last checked {checked.isoformat()}; services change, so if a line "
              f"doesn't work, call {em}. {BOT_NOTICE}")
    title = ("Crisis lines worldwide" if country.is_fallback
             else f"Crisis lines: {country.name}")
    return EmbedSpec(title=title, description=description, fields=fields, footer=footer)



def moderator_alert(category: str, severity: str, subject: str, *, channel_mention: str,
                    member_mention: str, jump_url: str, replied: bool = True) -> EmbedSpec:
    """An alert for the moderators' channel: who, where and a jump link, never the text.

    `replied=False` says the bot could not reach the member at all (channel and DM both
    refused), so a person is the only way help arrives.
    """
    category = normalise_category(category)
    severity = _severity(severity)
    about = {"self": "themselves", "other": "someone else"}.get(
        subject.strip().casefold(), "unclear who")
    title = (f"{'Urgent' if severity == 'urgent' else 'Possible'} "
             f"{_CATEGORY_LABEL[category]} concern")
    description = (
        f"A message by {member_mention} in {channel_mention} may be about "
        f"{_CATEGORY_LABEL[category]}. "
        + ("The bot has replied with crisis lines.\n" if replied else
           "**The bot could not reach them** (it may not post in that channel and their "
           "DMs are closed), so they have not seen any crisis lines.\n")
        +
        f"[Jump to the message]({jump_url})\n\n"
        "Please have a person check in kindly. Detection is automatic and can be wrong.")
    if severity == "urgent":
        description += (" If someone may be in immediate danger, reach out now and "
                        "encourage them to call their local emergency number.")
    fields = [("Category", _CATEGORY_LABEL[category]), ("Severity", severity),
              ("About", about)]
    footer = ("The message text is not copied here. Please don't repost or quote it "
              "outside this channel.")
    return EmbedSpec(title=title, description=description, fields=fields, footer=footer)

def burst_alert(*, channel_mention: str, limit: int, window_seconds: int) -> EmbedSpec:
    """One alert when a channel hits the public crisis-reply cap (e.g. during a raid)."""
    return EmbedSpec(
        title="Many crisis replies in one channel",
        description=(f"More than {limit} crisis replies were due in {channel_mention} within "
                     f"{window_seconds} seconds. To avoid flooding the channel, further "
                     "replies go to members by DM for now; nobody is skipped. This can be a "
                     "raid, or a hard moment for several people: please take a look."),
        footer="No message text is copied here.")
