"""Topic summaries: the schema of `content/topics/*.yaml`, loading, lookup and rendering."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from rapidfuzz import fuzz

from bot.content.embeds import EmbedSpec
from bot.content.yamlfile import load_yaml, validate_mapping
from bot.problems import ContentError, Problem, has_errors

# Publishers whose pages count as authoritative for a topic's evidence.
AUTHORITATIVE_PUBLISHERS = frozenset({
    "SAMHSA", "NIDA", "NIH", "NIAAA", "NIMH", "CDC", "FDA", "DEA", "HRSA", "AHRQ",
    "VA National Center for PTSD", "VA", "US Department of Veterans Affairs",
    "WHO", "NHS", "National Academies", "Cochrane",
})

# Where each authoritative publisher's own pages live: a source naming the publisher must
# come from one of these hosts (or a subdomain), so a copy, mirror or another body's page
# cannot borrow its name. NHS means the national site, not a local trust (name the trust).
PUBLISHER_HOSTS: dict[str, tuple[str, ...]] = {
    "SAMHSA": ("samhsa.gov", "findtreatment.gov"),
    "NIDA": ("nida.nih.gov",),
    "NIH": ("nih.gov",),
    "NIAAA": ("niaaa.nih.gov",),
    "NIMH": ("nimh.nih.gov",),
    "CDC": ("cdc.gov",),
    "FDA": ("fda.gov",),
    "DEA": ("dea.gov", "getsmartaboutdrugs.gov", "federalregister.gov"),
    "HRSA": ("hrsa.gov",),
    "AHRQ": ("ahrq.gov",),
    "VA National Center for PTSD": ("ptsd.va.gov",),
    # The Veterans Crisis Line site is run by VA.
    "VA": ("va.gov", "veteranscrisisline.net"),
    "US Department of Veterans Affairs": ("va.gov", "veteranscrisisline.net"),
    "WHO": ("who.int",),
    "NHS": ("www.nhs.uk", "nhs.uk"),
    "National Academies": ("nationalacademies.org", "nap.edu"),
    "Cochrane": ("cochranelibrary.com", "cochrane.org"),
}
# Hosts that are never a patient source for a topic, whoever is named: machine-readable
# APIs, web archives and retired domains.
REFUSED_HOSTS: dict[str, str] = {
    "api.fda.gov": "an openFDA API response, not a page for readers",
    "web.archive.org": "a web-archive copy",
    "webarchive.library.unt.edu": "a web-archive copy",
    "drugabuse.gov": "NIDA's retired domain (use nida.nih.gov)",
    "www.drugabuse.gov": "NIDA's retired domain (use nida.nih.gov)",
    "teens.drugabuse.gov": "NIDA's retired teen site (use nida.nih.gov)",
}
_EXACT_HOSTS = frozenset({"www.nhs.uk", "nhs.uk"})


def host_belongs(publisher: str, host: str) -> bool:
    """Whether `host` is one of `publisher`'s own hosts; True for unlisted publishers."""
    allowed = PUBLISHER_HOSTS.get(publisher)
    if allowed is None:
        return True
    host = host.casefold().rstrip(".")
    return any(host == h or (h not in _EXACT_HOSTS and host.endswith("." + h))
               for h in allowed)


FOOTER = ("General information, not medical advice. "
          "In an emergency, call your local emergency number. "
          "Outside the US? /hotline shows the lines for your country.")

Text = Annotated[str, Field(min_length=1)]


class Source(BaseModel):
    """Where a fact comes from. `peer_reviewed` marks journal articles and systematic reviews."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    publisher: Text
    title: Text
    url: HttpUrl
    peer_reviewed: bool = False

    @property
    def authoritative(self) -> bool:
        return (self.peer_reviewed or self.publisher in AUTHORITATIVE_PUBLISHERS
                or self.nhs_trust)

    @property
    def nhs_trust(self) -> bool:
        """A page of a named NHS trust on its own nhs.uk site (an NHS body, named as such
        rather than as 'NHS', which means the national site)."""
        host = (self.url.host or "").casefold()
        return (self.publisher.endswith(("NHS Trust", "NHS Foundation Trust"))
                and host.endswith(".nhs.uk"))


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    date: dt.date
    by: Text


class Myth(BaseModel):
    """A common claim (often from clinic marketing) and what the evidence says instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    claim: Text
    fact: Text


class Topic(BaseModel):
    """One `/topic` entry. Field names are the YAML keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
    title: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(min_length=1, max_length=100)]
    aliases: list[Text] = []
    summary: Text
    key_points: Annotated[list[Text], Field(min_length=1)]
    myths: list[Myth] = []
    when_to_get_help: Text
    sources: Annotated[list[Source], Field(min_length=2)]
    reviewed: Review
    review_due: dt.date

    @field_validator("aliases")
    @classmethod
    def _aliases_lowercase(cls, v: list[str]) -> list[str]:
        return [a.strip().lower() for a in v]

    def embed(self) -> EmbedSpec:
        """The topic as an embed: summary, key points, myths, when to get help, sources."""
        fields = [("Key points", "\n".join(f"• {p}" for p in self.key_points))]
        if self.myths:
            fields.append(("Myth vs. evidence", "\n".join(
                f"**Myth:** {m.claim}\n**Evidence:** {m.fact}" for m in self.myths)))
        fields.append(("When to get help", self.when_to_get_help))
        fields.append(("Sources", "\n".join(
            f"[{s.publisher}: {s.title}]({s.url})" for s in self.sources)))
        fields.append(("Reviewed", f"{self.reviewed.date.isoformat()} by {self.reviewed.by}"))
        return EmbedSpec(title=self.title, description=self.summary, fields=fields,
                         footer=FOOTER)

    def search_keys(self) -> list[str]:
        return [self.id, self.id.replace("-", " "), self.title.lower(), *self.aliases]


@dataclass(frozen=True, slots=True)
class Match:
    topic: Topic
    score: float


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_query(text: str, limit: int = 100) -> str:
    """Normalise what a member typed into a search box: NFKC, no controls, bounded length."""
    # Tabs and newlines become spaces first, so "heroin\nwithdrawal" keeps two words.
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text[: limit * 4]))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cc", "Cs", "Co"})
    return " ".join(text.split()).casefold()[:limit]


class TopicLibrary:
    """All topics, with exact and typo-tolerant lookup."""

    def __init__(self, topics: list[Topic]):
        self.topics = sorted(topics, key=lambda t: t.title.lower())
        self._by_key: dict[str, Topic] = {}
        for t in self.topics:
            for key in t.search_keys():
                self._by_key.setdefault(key, t)

    def __len__(self) -> int:
        return len(self.topics)

    def get(self, name: str) -> Topic | None:
        """The topic whose id, title or alias is exactly `name` (case-insensitive)."""
        return self._by_key.get(clean_query(name))

    def search(self, query: str, limit: int = 25, cutoff: float = 55.0) -> list[Match]:
        """Topics ranked by how well `query` matches an id, title or alias; typo-tolerant."""
        q = clean_query(query)
        if not q:
            return [Match(t, 0.0) for t in self.topics[:limit]]
        ranked = []
        for t in self.topics:
            score, key = max((_score(q, key), key) for key in t.search_keys())
            if score >= cutoff:
                # Ties go to the key closest to the whole query ("ptds" -> "ptsd", not
                # "ptsd treatment"), then alphabetically.
                ranked.append((-score, -fuzz.ratio(q, key), t.title, Match(t, score)))
        return [m for *_, m in sorted(ranked, key=lambda r: r[:3])][:limit]


def _score(query: str, key: str) -> float:
    if query == key:
        return 200.0
    if key.startswith(query):
        return 150.0 + len(query)
    # ratio catches transpositions in short words ("ptds"); partial_ratio catches a
    # fragment of a longer title ("withdrawal"); WRatio balances the two on long strings.
    score = max(fuzz.ratio(query, key), fuzz.WRatio(query, key))
    if len(query) >= 4:
        score = max(score, fuzz.partial_ratio(query, key) - 5)
    return score


def load_topics(directory: Path,
                today: dt.date | None = None) -> tuple[TopicLibrary, list[Problem]]:
    """Load and validate every `*.yaml` under `directory`.

    Returns the library and all problems (errors and warnings). Callers that must not
    start half-configured raise `ContentError` when any problem is an error.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    topics: list[Topic] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(str(directory), "has no topic files (*.yaml)",
                                "set CONTENT_DIR to a folder with a topics/ subfolder"))
    owners: dict[str, str] = {}
    for path in files:
        data, errs = load_yaml(path)
        problems += errs
        if errs:
            continue
        topic, errs = validate_mapping(str(path), data, Topic, "id, title, ...")
        problems += errs
        if topic is None:
            continue
        problems += _check_topic(path, topic, today)
        for key in {topic.id, topic.title.lower(), *topic.aliases}:
            if key in owners and owners[key] != str(path):
                problems.append(Problem(f"{path}: id/alias '{key}'",
                                        f"is already used by {owners[key]}",
                                        "give each topic its own id and aliases"))
            owners.setdefault(key, str(path))
        topics.append(topic)
    return TopicLibrary(topics), problems


def _check_topic(path: Path, topic: Topic, today: dt.date) -> list[Problem]:
    out = []
    if path.stem != topic.id:
        out.append(Problem(f"{path}: field 'id'", f"'{topic.id}' differs from the file name",
                           f"rename the file to {topic.id}.yaml or change the id"))
    publishers = {s.publisher for s in topic.sources if s.authoritative}
    if len(publishers) < 2:
        out.append(Problem(f"{path}: field 'sources'",
                           "needs at least two different authoritative publishers",
                           "cite e.g. SAMHSA, NIDA, CDC, FDA, VA National Center for PTSD, NIMH, "
                           "WHO, NHS, or a peer-reviewed review (peer_reviewed: true)"))
    for i, s in enumerate(topic.sources):
        where = f"{path}: field 'sources.{i}.url'"
        host = (s.url.host or "").casefold()
        if s.url.scheme != "https":
            out.append(Problem(where, f"{s.url} is not https",
                               "use the https:// address of the page"))
        if host in REFUSED_HOSTS:
            out.append(Problem(where, f"{host} is {REFUSED_HOSTS[host]}",
                               "cite the publisher's current page for readers"))
        elif not host_belongs(s.publisher, host):
            out.append(Problem(where, f"{host} is not a site of {s.publisher}",
                               f"cite {s.publisher}'s own page "
                               f"({', '.join(PUBLISHER_HOSTS[s.publisher])}), or name the "
                               "body that published this page as the publisher"))
    if topic.review_due <= topic.reviewed.date:
        out.append(Problem(f"{path}: field 'review_due'", "is not after reviewed.date",
                           "set the next review date after the last review"))
    if topic.reviewed.date > today:
        out.append(Problem(f"{path}: field 'reviewed.date'", "is in the future",
                           "use the date the review actually happened"))
    if topic.review_due < today:
        out.append(Problem(f"{path}: field 'review_due'",
                           f"passed on {topic.review_due.isoformat()}",
                           "re-check the facts and sources, then update reviewed and review_due",
                           severity="warning"))
    for limit in topic.embed().limit_problems():
        out.append(Problem(f"{path}", limit, "shorten the text"))
    return out


def load_library(directory: Path) -> TopicLibrary:
    """Load topics or raise `ContentError` listing every error."""
    library, problems = load_topics(directory)
    if has_errors(problems):
        raise ContentError(problems)
    return library
