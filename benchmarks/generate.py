"""Write a synthetic sfb-feeds site: N statements over L languages, one YAML file each.

    python benchmarks/generate.py OUT_DIR --statements 10000 --languages 10

The archive looks like the real one at scale: excerpts of one to three paragraphs in the
language's own script (Latin, Greek, Arabic, Hangul, Cyrillic), about a third of the
statements translated into two to four languages under one ``translation_key``, tags,
signing organisations, a few drafts and a few statements scheduled after the benchmark's
clock. Output is deterministic for a given seed. Every file is dated an hour back, as an
archive's files are: files modified within the last seconds are never trusted by caches.
"""

# ruff: noqa: RUF001 - the vocabularies are Greek, Turkish, Cyrillic... on purpose

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

NOW = "2026-01-01T00:00:00+00:00"  # the benchmark's clock (``build --now``)
LAST_DAY = date(2025, 12, 31)
PER_WEEK = 4  # statements per language and week, until the archive spans MAX_WEEKS
MAX_WEEKS = 26 * 52

# A working vocabulary per language, written for this benchmark; sentences are drawn from it.
WORDS: dict[str, tuple[str, ...]] = {
    "en": ("workers", "strike", "war", "solidarity", "refugees", "government", "union",
           "protest", "wages", "occupation", "democracy", "police", "students", "the",
           "against", "for", "and", "we", "demand", "freedom", "struggle", "movement"),
    "pl": ("robotnicy", "strajk", "wojna", "solidarność", "uchodźcy", "rząd", "związek",
           "protest", "płace", "okupacja", "demokracja", "policja", "studenci", "przeciw",
           "dla", "i", "żądamy", "wolności", "walka", "ruch", "granice", "Europa"),
    "tr": ("işçiler", "grev", "savaş", "dayanışma", "mülteciler", "hükümet", "sendika",
           "eylem", "ücretler", "işgal", "demokrasi", "polis", "öğrenciler", "karşı",
           "için", "ve", "talep", "özgürlük", "mücadele", "hareket", "barış", "halk"),
    "da": ("arbejdere", "strejke", "krig", "solidaritet", "flygtninge", "regeringen",
           "fagforening", "protest", "løn", "besættelse", "demokrati", "politiet",
           "studerende", "mod", "for", "og", "vi", "kræver", "frihed", "kamp", "bevægelse"),
    "el": ("εργάτες", "απεργία", "πόλεμος", "αλληλεγγύη", "πρόσφυγες", "κυβέρνηση",
           "συνδικάτο", "διαδήλωση", "μισθοί", "κατοχή", "δημοκρατία", "αστυνομία",
           "φοιτητές", "ενάντια", "για", "και", "απαιτούμε", "ελευθερία", "αγώνας", "κίνημα"),
    "ar": ("العمال", "الإضراب", "الحرب", "التضامن", "اللاجئين", "الحكومة", "النقابة",
           "الاحتجاج", "الأجور", "الاحتلال", "الديمقراطية", "الشرطة", "الطلاب", "ضد",
           "من أجل", "و", "نطالب", "الحرية", "النضال", "الحركة", "الثورة", "الشعب"),
    "ko": ("노동자", "파업", "전쟁", "연대", "난민", "정부", "노동조합", "시위", "임금",
           "점거", "민주주의", "경찰", "학생", "반대", "위한", "그리고", "우리는", "요구한다",
           "자유", "투쟁", "운동", "평화"),
    "ru": ("рабочие", "забастовка", "война", "солидарность", "беженцы", "правительство",
           "профсоюз", "протест", "зарплаты", "оккупация", "демократия", "полиция",
           "студенты", "против", "за", "и", "мы", "требуем", "свобода", "борьба", "движение"),
    "de": ("Arbeiter", "Streik", "Krieg", "Solidarität", "Geflüchtete", "Regierung",
           "Gewerkschaft", "Protest", "Löhne", "Besatzung", "Demokratie", "Polizei",
           "Studierende", "gegen", "für", "und", "wir", "fordern", "Freiheit", "Kampf"),
    "es": ("trabajadores", "huelga", "guerra", "solidaridad", "refugiados", "gobierno",
           "sindicato", "protesta", "salarios", "ocupación", "democracia", "policía",
           "estudiantes", "contra", "por", "y", "exigimos", "libertad", "lucha", "movimiento"),
}
LANGUAGES = tuple(WORDS)
ORGANISATIONS = ("International Socialist Tendency", "Socialist Workers Party",
                 "Pracownicza Demokracja", "Devrimci Sosyalist İşçi Partisi",
                 "Internationale Socialister", "Σοσιαλιστικό Εργατικό Κόμμα",
                 "Revolutionary Socialists (Egypt)", "Workers' Solidarity (Korea)")
TAGS = ("war", "refugees", "strikes", "climate", "racism", "elections", "imperialism",
        "women", "students", "repression")


@dataclass(frozen=True, slots=True)
class Record:
    number: int
    language: str
    day: date
    translation_key: str | None


def _sentence(chance: random.Random, words: tuple[str, ...]) -> str:
    text = " ".join(chance.choice(words) for _ in range(chance.randint(8, 15)))
    return text[0].upper() + text[1:] + "."


def _excerpt(chance: random.Random, language: str) -> list[str]:
    words = WORDS[language]
    paragraphs = [" ".join(_sentence(chance, words) for _ in range(chance.randint(2, 4)))
                  for _ in range(chance.randint(1, 3))]
    if chance.random() < 0.4:
        paragraphs[-1] += "…"
    return paragraphs


def _days(count: int, languages: int) -> list[date]:
    weeks = min(MAX_WEEKS, max(1, -(-count // (languages * PER_WEEK))))
    first = LAST_DAY - timedelta(weeks=weeks)
    span = (LAST_DAY - first).days
    return sorted(first + timedelta(days=(i * span) // count) for i in range(count))


def plan_records(count: int, languages: int, chance: random.Random) -> Iterator[Record]:
    """Statements in date order; translation groups share a date and a key."""
    chosen = LANGUAGES[:languages]
    days = _days(count, languages)
    number = 0
    while number < count:
        group = 1 if chance.random() < 0.66 or languages == 1 else chance.randint(2, 4)
        group = min(group, count - number, languages)
        key = f"statement-{number}" if group > 1 else None
        day = days[number]
        for language in chance.sample(chosen, group):
            yield Record(number, language, day, key)
            number += 1


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_record(record: Record, chance: random.Random) -> str:
    words = WORDS[record.language]
    title = " ".join(chance.choice(words) for _ in range(chance.randint(3, 8)))
    slug = f"{record.day.isoformat()}-s{record.number}"
    scheduled = chance.random() < 0.002  # due after the benchmark's clock
    lines = [
        f"title: {_yaml_text(title[0].upper() + title[1:])}",
        f"date: {'2026-02-01T09:00:00+00:00' if scheduled else record.day.isoformat()}",
        f"language: {record.language}",
        f"url: https://www.istendency.net/statements/{slug}.{record.language}",
        f"authors: [{', '.join(_yaml_text(a) for a in chance.sample(ORGANISATIONS, 2))}]",
        f"tags: [{', '.join(chance.sample(TAGS, chance.randint(1, 3)))}]",
    ]
    if record.translation_key:
        lines.append(f"translation_key: {record.translation_key}")
    if chance.random() < 0.005:
        lines.append("draft: true")
    lines.append("excerpt: |")
    for index, paragraph in enumerate(_excerpt(chance, record.language)):
        if index:
            lines.append("")
        lines.append(f"  {paragraph}")
    return "\n".join(lines) + "\n"


CONFIG = """\
site:
  title: Socialism From Below
  description: Statements of the International Socialist Tendency (synthetic benchmark).
  url: https://www.istendency.net/
  feeds_url: https://www.istendency.net/feeds/
  author: International Socialist Tendency
  timezone: Europe/London
feeds:
  entries: 50
digests:
  from: Socialism From Below <digest@istendency.net>
  unsubscribe: https://www.istendency.net/unsubscribe?list={lang}
  lists:
"""


def generate(out: Path, count: int, languages: int, seed: int = 6) -> int:
    """Write the site into ``out`` (which must not hold another site); returns file count."""
    chance = random.Random(seed)
    statements = out / "statements"
    config = CONFIG + "".join(f"    {lang}: ist-{lang}@lists.istendency.net\n"
                              for lang in LANGUAGES[:languages])
    out.mkdir(parents=True, exist_ok=True)
    (out / "sfb-feeds.yaml").write_text(config, encoding="utf-8")
    written = 0
    moment = time.time() - 3600
    for record in plan_records(count, languages, chance):
        folder = statements / str(record.day.year)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{record.day.isoformat()}-s{record.number}.{record.language}.yaml"
        path.write_text(render_record(record, chance), encoding="utf-8")
        os.utime(path, (moment, moment))
        written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--languages", type=int, default=10, choices=range(1, 11))
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    count = generate(args.out, args.statements, args.languages, args.seed)
    print(f"{count} statements in {args.out / 'statements'}")


if __name__ == "__main__":
    main()
