"""Make ``support.json``: caniemail's support data for the email clients our readers use.

caniemail (https://www.caniemail.com, https://github.com/hteumeuleu/caniemail, MIT
licence, by Rémi Parmentier and contributors) keeps one Markdown file per feature in
``_features/``; its front matter holds ``stats``: client -> platform -> version or test
date -> "y" (supported), "a #1" (partial, see note 1), "n" (not supported) or "u"
(unknown). caniemail's site takes the *last version listed* for a platform as its
current support; so does this script.

This writes, for every CSS and HTML feature, the latest value for each of the KEY_CLIENTS
platforms (a platform the feature does not list is left out: unknown), the notes those
values refer to, and where the data comes from (commit, date, licence). The file is
committed; ``tests/test_digest_caniemail.py`` reads it. CI cannot fetch, so run this by
hand to refresh the data, then run that test and review the diff:

    git clone https://github.com/hteumeuleu/caniemail /tmp/caniemail
    python tests/data/caniemail/make_subset.py /tmp/caniemail

The argument is a clone, or a bare git directory (it is read with ``git show``, so only
committed files count). Standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).with_name("support.json")
SOURCE = "https://github.com/hteumeuleu/caniemail"
# client -> the platforms that matter to our readers (caniemail's own names).
KEY_CLIENTS = {
    "gmail": ("desktop-webmail", "ios", "android", "mobile-webmail"),
    "outlook": ("windows", "windows-mail", "macos", "outlook-com", "ios", "android"),
    "apple-mail": ("macos", "ios"),
    "yahoo": ("desktop-webmail", "ios", "android"),
    "samsung-email": ("android",),
    "thunderbird": ("macos", "windows"),
}
CATEGORIES = ("css", "html")
FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True,
                          capture_output=True, text=True, encoding="utf-8").stdout


def git_dir(path: Path) -> Path:
    return path / ".git" if (path / ".git").exists() else path


def front_matter(text: str, name: str) -> dict[str, Any]:
    """The YAML front matter of a feature file. caniemail's files are read by Jekyll,
    which accepts tabs as separators where PyYAML does not, so tabs become spaces."""
    found = FRONT_MATTER.match(text)
    if not found:
        raise SystemExit(f"{name}: no front matter")
    data = yaml.safe_load(found[1].replace("\t", " "))
    if not isinstance(data, dict):
        raise SystemExit(f"{name}: the front matter is not a mapping")
    return data


def latest(versions: Any) -> str | None:
    """The last value listed (caniemail's current support), or None if there is none."""
    if not isinstance(versions, dict) or not versions:
        return None
    return " ".join(str(list(versions.values())[-1]).split())


def subset(data: dict[str, Any]) -> dict[str, Any]:
    stats = data.get("stats") or {}
    support = {}
    for client, platforms in KEY_CLIENTS.items():
        for platform in platforms:
            value = latest((stats.get(client) or {}).get(platform))
            if value is not None:
                support[f"{client}.{platform}"] = value
    cited = {number for value in support.values() for number in re.findall(r"#(\w+)", value)}
    notes = {str(k): str(v) for k, v in (data.get("notes_by_num") or {}).items()
             if str(k) in cited}
    return {"title": str(data.get("title", "")),
            "last_test_date": str(data.get("last_test_date", "")),
            "support": support, "notes": notes}


def features(repo: Path) -> dict[str, dict[str, Any]]:
    names = git(repo, "ls-tree", "--name-only", "HEAD", "_features/").split()
    found = {}
    for name in sorted(names):
        stem = Path(name).stem
        if not name.endswith(".md") or stem.startswith("_"):
            continue
        data = front_matter(git(repo, "show", f"HEAD:{name}"), name)
        if data.get("category") in CATEGORIES:
            found[stem] = subset(data)
    return found


def write(document: dict[str, Any], features: dict[str, dict[str, Any]]) -> str:
    """JSON with one line per feature: small, and a refresh shows as a readable diff."""
    head = json.dumps(document, ensure_ascii=False, indent=1)[:-2]
    lines = [f" {json.dumps(name)}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"
             for name, value in features.items()]
    return head + ',\n "features": {\n' + ",\n".join(lines) + "\n }\n}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("caniemail", type=Path, help="a clone of " + SOURCE)
    repo = git_dir(parser.parse_args().caniemail)
    commit, date = git(repo, "log", "-1", "--format=%H %cI", "HEAD").split()
    document = {
        "source": SOURCE,
        "commit": commit,
        "commit_date": date,
        "licence": "MIT",
        "attribution": "Email client support data from caniemail.com, "
                       "Copyright (c) 2019 Rémi Parmentier and contributors, MIT licence "
                       "(below). A subset, made by tests/data/caniemail/make_subset.py.",
        "licence_text": git(repo, "show", "HEAD:LICENSE"),
        "values": {"y": "supported", "a": "partially supported (see the notes: #n)",
                   "n": "not supported", "u": "unknown"},
        "rule": "for each platform, the value of the last version caniemail lists",
        "clients": [f"{c}.{p}" for c, platforms in KEY_CLIENTS.items() for p in platforms],
    }
    OUT.write_text(write(document, features(repo)), encoding="utf-8")
    print(f"wrote {OUT} from {commit} ({date})")


if __name__ == "__main__":
    main()
