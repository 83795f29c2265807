"""The bundled crisis rules on the phrasings named in issue 3 (positives, traps, contexts)."""

from __future__ import annotations

import random

import pytest

from bot.crisis import Category, Detection, Severity, Subject, detect


def _is(text: str, category: Category, severity: Severity, subject: Subject) -> None:
    found = detect(text)
    assert found is not None, "expected a detection"
    assert (found.category, found.severity, found.subject) == (category, severity, subject)
    # Members of the vocabularies, not bare strings that happen to be equal.
    assert (type(found.category), type(found.severity), type(found.subject)) == (
        Category, Severity, Subject)


@pytest.mark.parametrize("text", [
    "I'm going to kill myself tonight",
    "i'm gonna kms",
    "gonna k1ll mys3lf",
    "I have a plan to end it",
    "||i'm going to end it all||",
    "writing goodbye letters tonight",
    "i really think i'm going to end it tonight",
    "i'm so done, i'm going to just kill myself tomorrow",
])
def test_suicide_urgent_self(text: str) -> None:
    """Intent, plan or preparation by the writer is urgent suicide risk."""
    _is(text, Category.SUICIDE, Severity.URGENT, Subject.SELF)


@pytest.mark.parametrize("text", [
    "I don't want to be here anymore",
    "I wish I could go to sleep and not wake up",
    "everyone would be better off without me",
    "what's the point of living",
    "i want to dieeee",
    "i want to d!e",
    "thinking about unaliving myself",
    "sewerslide time",
    "ugh kms",
    "> I want to kill myself",
    "i really want to kill myself",
    "been thinking about killing myself",
    "i'm not ok and i want to die",
])
def test_suicide_concern_self(text: str) -> None:
    """Passive ideation and shorthand/euphemisms are concern-level suicide risk."""
    _is(text, Category.SUICIDE, Severity.CONCERN, Subject.SELF)


@pytest.mark.parametrize(("text", "severity"), [
    ("I'm going to cut tonight", Severity.URGENT),
    ("I just cut myself and it won't stop bleeding", Severity.URGENT),
    ("I really want to cut again", Severity.CONCERN),
    ("the urge to hurt myself is so bad", Severity.CONCERN),
])
def test_self_harm(text: str, severity: str) -> None:
    """Self-harm about to happen or bleeding is urgent; urges are concern."""
    _is(text, Category.SELF_HARM, severity, Subject.SELF)


@pytest.mark.parametrize("text", [
    "I took all my pills", "I think I took too much", "I just OD'd", "i think im oding",
    "i took too many 💊",
])
def test_overdose_self(text: str) -> None:
    """A writer who took too much is an urgent overdose."""
    _is(text, Category.OVERDOSE, Severity.URGENT, Subject.SELF)


@pytest.mark.parametrize("text", [
    "he's not breathing",
    "my roommate took a bunch of pills and won't wake up",
    "I think she's overdosing",
    "my brother is turning blue",
    "she's snoring weird and won't wake up after using",
])
def test_overdose_bystander_is_urgent_other(text: str) -> None:
    """Someone else showing overdose signs: urgent, subject other (call emergency services)."""
    _is(text, Category.OVERDOSE, Severity.URGENT, Subject.OTHER)


def test_third_party_suicide_is_other() -> None:
    """A friend's wish is concern, a friend's plan or time is urgent; both subject other."""
    _is("my friend says she wants to kill herself",
        Category.SUICIDE, Severity.CONCERN, Subject.OTHER)
    _is("my brother says he's gonna kill himself tonight",
        Category.SUICIDE, Severity.URGENT, Subject.OTHER)


@pytest.mark.parametrize("text", [
    "kys", "just kys lol", "you should kill yourself", "go kys loser",
])
def test_kys_harassment_is_not_the_authors_crisis(text: str) -> None:
    """'kys' aimed at someone else is harassment, never the author's suicide risk."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "Sky sources say the patch ships friday", "my skills are rusty", "I'm on a diet",
    "I studied all night", "the skill tree", "that's odd", "ran 10 kms this morning",
])
def test_substring_traps(text: str) -> None:
    """Words containing a trigger (sKYSources, sKILLs, DIEt, stuDIEd) do not match."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "I'm not suicidal", "I would never hurt myself", "I don't want to die",
    "I'm not suicidal anymore", "i'm not really going to kill myself",
    "I'm not going to kill myself, don't worry",
])
def test_negation(text: str) -> None:
    """Negated statements are not crises."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "I used to cut myself", "two years clean and I'm glad I didn't die",
    "when I was 15 I tried to kill myself", "my brother overdosed years ago",
])
def test_past_and_recovery(text: str) -> None:
    """Past events and recovery talk are not current crises."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "this exam is killing me", "I'm dying laughing", "this cake is to die for",
    "suicidal sled ride", "I'm dead 😂", "killing it", "my phone is dying",
    "i'm going to kill myself laughing 😂", "I OD'd on caffeine today",
])
def test_figurative(text: str) -> None:
    """Idioms and jokes are not crises."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "the singer died by suicide", "police say the man overdosed",
    "Police say he overdosed in his car",
])
def test_news_and_third_party_reports(text: str) -> None:
    """News and reports about other people are not an emergency to answer."""
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "what are the signs of an overdose?", "how does naloxone work",
    "How do you know if someone is overdosing?",
    "What should I do if my friend took too many pills?",
])
def test_questions_about_a_topic(text: str) -> None:
    """General questions are not crises (the bot's topics answer them)."""
    assert detect(text) is None


def test_lyrics() -> None:
    """Marked song lyrics are not the writer's crisis."""
    assert detect("🎵 I want to die, I want to die 🎵 this song slaps") is None


def test_context_stops_at_sentence_break() -> None:
    """A negation in an earlier sentence does not cancel a later crisis."""
    _is("I'm not okay. I want to die", Category.SUICIDE, Severity.CONCERN, Subject.SELF)


def test_most_serious_wins() -> None:
    """Urgent beats concern, and overdose beats suicide at equal severity."""
    found = detect("i want to die. i just took all my pills")
    assert found == Detection(Category.OVERDOSE, Severity.URGENT, Subject.SELF, "overdose-self")


def test_laughter_after_intent_is_still_detected() -> None:
    """'lol' alone is a common softener in real distress, so it does not cancel."""
    assert detect("i want to kill myself lol") is not None


def test_adversarial_repetition_gives_sane_answer() -> None:
    """A 4,000-character wall of fragments is handled (speed is measured in scripts/)."""
    assert detect(("i am going to kill myself " * 200)[:4000]) is not None
    assert detect(("not kill myself . " * 300)[:4000]) is None


@pytest.mark.parametrize("text, category", [
    ("honestly i just wanna fucking die", Category.SUICIDE),
    ("everyone would be happier without me", Category.SUICIDE),
    ("i hope i don't wake up tomorrow", Category.SUICIDE),
    ("i keep thinking about jumping off a bridge, i want to jump off a bridge", Category.SUICIDE),
    ("finna end it tonight", Category.SUICIDE),
    ("she's cutting again and won't talk to me", Category.SELF_HARM),
    ("gave him narcan and it isn't working, narcan not working", Category.OVERDOSE),
    ("i popped a bunch of my xanax", Category.OVERDOSE),
])
def test_broadened_paraphrases_are_detected(text, category):
    """Common paraphrases (slang, fillers, burden, means, bystander signs) are detected."""
    found = detect(text)
    assert found is not None and found.category == category


@pytest.mark.parametrize(("dotted", "plain"), [
    ("I'm going to c.u.t tonight", "I'm going to cut tonight"),
    ("I really want to c.u.t again", "I really want to cut again"),
    ("ugh k.m.s", "ugh kms"),
    ("i feel s.u.i.c.i.d.a.l", "i feel suicidal"),
])
def test_dotted_letters_are_detected_like_the_word(dotted: str, plain: str) -> None:
    """Spelling a trigger word with dots between its letters does not hide it."""
    found = detect(plain)
    assert found is not None
    assert detect(dotted) == found


@pytest.mark.parametrize("text", [
    "i want to dié",                  # a precomposed accented letter
    "i want to die\u0301",            # a combining accent after the last letter
    "i want to d\u0301ie",            # and after the first
    "I WANT TO DÏE",
])
def test_accents_do_not_hide_a_crisis(text: str) -> None:
    """An accent on a letter, precomposed or combining, is found like the plain word."""
    assert detect(text) == detect("i want to die")


def test_random_zalgo_does_not_hide_a_crisis() -> None:
    """Up to three random combining marks after every letter (zalgo), 200 times over."""
    rng = random.Random(16)
    marks = [chr(cp) for cp in [*range(0x300, 0x370), *range(0x1DC0, 0x1E00),
                                *range(0x20D0, 0x20F1)]]
    plain = "i want to kill myself"
    expected = detect(plain)
    missed = 0
    for _ in range(200):
        zalgo = "".join(ch + "".join(rng.choices(marks, k=rng.randint(0, 3))) for ch in plain)
        missed += detect(zalgo) != expected
    assert missed == 0
