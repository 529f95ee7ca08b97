"""What the README and docs/operations.md tell an operator, checked against the program: the
config keys and their defaults, the command lines of the examples, the systemd units, and
the send rules a cron job meets on its first run."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_run import run
from conftest import GOOD_RECORD, REPO, SITE_CONFIG, SiteMaker

from sfb_feeds.arguments import build_parser
from sfb_feeds.config import SCHEMA, load_settings

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = {path.name: path.read_text(encoding="utf-8")
        for path in sorted((REPO / "docs").glob("*.md"))}


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The cells of each row of the first table after ``heading`` (a line of the text)."""
    after = text[text.index(f"\n{heading}\n"):]
    lines = after.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start + 2:]:  # (the header row and its |---| line)
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def _documented_keys() -> dict[str, str]:
    """README's site config table: each key (a row may name two, `smtp.host`, `smtp.port`)
    with its default, as written in the default column (the n-th of a row's defaults)."""
    keys: dict[str, str] = {}
    for key_cell, default_cell, _ in _table_rows(README, "## Site config (`sfb-feeds.yaml`)"):
        names = re.findall(r"`([^`]+)`", key_cell)
        defaults = re.findall(r"`([^`]+)`", default_cell)
        for i, name in enumerate(names):
            keys[name] = defaults[i] if len(defaults) == len(names) else default_cell
    return keys


def _accepted_keys() -> set[str]:
    """Every key the config loader reads, as the README writes it (``site.title``)."""
    return {f"{section}.{key}" if isinstance(reader, dict) else section
            for section, reader in SCHEMA.items()
            for key in (reader if isinstance(reader, dict) else [""])}


def test_the_config_table_names_every_key_the_loader_reads_and_no_other() -> None:
    documented = set(_documented_keys())
    # smtp.starttls is read for old configs: the README names it in smtp.security's row
    old = {"smtp.starttls"}
    assert documented == _accepted_keys() - old
    assert "`smtp.starttls: true/false` still works" in README


def test_the_config_tables_defaults_are_the_loaders(tmp_path: Path) -> None:
    """Each default the table gives as a value is what a config without the key gets."""
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text("site:\n  title: T\n  url: https://example.org/\n", encoding="utf-8")
    settings = load_settings(config)
    loaded: dict[str, Any] = {
        "site.timezone": settings.site.timezone,
        "statements": settings.statements_dir, "output": settings.output_dir,
        "cache": settings.cache_dir, "state": settings.state_folder,
        "feeds.entries": settings.feeds.entries,
        "digests.week_starts": settings.digests.week_starts,
        "digests.unsubscribe_secret_env": settings.digests.unsubscribe_secret_env,
        "smtp.host": settings.smtp.host, "smtp.port": settings.smtp.port,
        "smtp.security": settings.smtp.security,
        "limits.file_bytes": settings.limits.file_bytes,
        "limits.excerpt_bytes": settings.limits.excerpt_bytes,
    }
    documented = _documented_keys()
    for key, value in loaded.items():
        expected: object = documented[key]
        if isinstance(value, Path):
            expected = tmp_path / str(expected)
        elif isinstance(value, int):
            expected = int(str(expected))
        assert value == expected, key
    assert settings.site.description == settings.site.author == "T"  # `site.title`
    assert documented["site.description"] == documented["site.author"] == "site.title"
    assert settings.site.feeds_url == "https://example.org/feeds/"
    assert documented["site.feeds_url"] == "<site.url>/feeds/"


def _shell_blocks(text: str) -> Iterator[str]:
    yield from re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def _command_lines() -> list[tuple[str, list[str]]]:
    """Each ``sfb-feeds ...`` line of the README's and the docs' shell examples, as argv
    (without the program, and up to a pipe, a redirection or a comment)."""
    found = []
    for name, text in [("README.md", README), *DOCS.items()]:
        for block in _shell_blocks(text):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if not words or not words[0].endswith("sfb-feeds"):
                    continue
                cut = next((i for i, w in enumerate(words) if w in {"|", ">"}), len(words))
                found.append((f"{name}: {line.strip()}", words[1:cut]))
    return found


def test_every_documented_command_line_is_one_the_program_takes() -> None:
    parser = build_parser()
    lines = _command_lines()
    assert len(lines) >= 15  # (the extraction found the examples)
    for where, argv in lines:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: sfb-feeds refuses these arguments")


def _sample_site(tmp_path: Path) -> Path:
    """A copy of the repository's sample site (its config and statements)."""
    shutil.copytree(REPO / "statements", tmp_path / "site" / "statements")
    shutil.copy(REPO / "sfb-feeds.yaml", tmp_path / "site" / "sfb-feeds.yaml")
    return tmp_path / "site" / "sfb-feeds.yaml"


def test_the_readmes_digest_examples_print_a_digest_of_the_sample_site(tmp_path: Path) -> None:
    """Run on the sample site as the README shows them, each example prints a digest (one
    naming a language the site has no statement in was a usage error, exit 2)."""
    config = _sample_site(tmp_path)
    examples = [argv for where, argv in _command_lines()
                if where.startswith("README.md") and argv[0] == "digest" and "--week" in argv]
    assert len(examples) >= 2
    for argv in examples:
        code, out, err = run([*argv, "--config", str(config)])
        assert (code, err) == (0, ""), argv
        assert "2015" in out, argv


def test_send_refuses_every_run_without_the_unsubscribe_secret(
    make_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: with digests.recipients, `send` refuses to start without the secret (exit 1,
    naming the variable), as it does without the SMTP password: an hourly cron job that
    lacks it is told at its first run, not in the hour the week's digests fall due (a run
    with nothing to send went by silently, exit 0). A dry run and a test copy to a
    language without subscribers need no secret."""
    monkeypatch.delenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", raising=False)
    config = make_site({"a.yaml": GOOD_RECORD}, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        '  unsubscribe: "https://example.org/u?lang={lang}&address={address}&token={token}"\n'
        "  recipients: {pl: pl.txt}\n  lists: {en: en@lists.example.org}\n"
        "smtp: {host: 127.0.0.1, port: 9}\n"))
    (config.parent / "pl.txt").write_text("ann@example.org\n", encoding="utf-8")
    message = (f"error: {config}: digests.unsubscribe_secret_env: the environment variable "
               "SFB_FEEDS_UNSUBSCRIBE_SECRET is not set or empty")
    # a week with nothing published: nothing to send, no connection made
    for argv in (["--now", "2016-01-20"], ["--week", "2015-W36", "--lang", "en"]):
        code, out, err = run(["send", "--config", str(config), *argv])
        assert (code, out) == (1, ""), argv
        assert err.startswith(message), argv
    assert not (config.parent / ".sfb-state" / "sent.jsonl").exists()
    code, out, _ = run(["send", "--config", str(config), "--now", "2016-01-20", "--dry-run"])
    assert (code, out) == (0, "would send 0\n")


def _units(text: str) -> dict[str, str]:
    """docs/operations.md's unit files: each ``/etc/systemd/system/NAME`` and its text."""
    return dict(re.findall(r"`/etc/systemd/system/([\w.-]+)`(?:(?!\n\n).)*?:\n\n```ini\n(.*?)```",
                           text, flags=re.S))


def test_the_systemd_units_cover_what_the_crontab_runs() -> None:
    units = _units(DOCS["operations.md"])
    commands = {re.search(r"ExecStart=\S+ (\w+)", text).group(1)  # type: ignore[union-attr]
                for name, text in units.items() if name.endswith(".service")}
    crontab = re.search(r"```cron\n(.*?)```", DOCS["operations.md"], flags=re.S)
    assert crontab is not None
    assert commands == set(re.findall(r"sfb-feeds (\w+)", crontab.group(1))) == {"build", "send"}
    for name in units:
        if name.endswith(".timer"):
            assert name.removesuffix(".timer") + ".service" in units


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_the_systemd_units_are_valid(tmp_path: Path) -> None:
    """``systemd-analyze verify`` accepts each unit of docs/operations.md (the program's
    path made this test's, which must exist)."""
    program = shutil.which("sfb-feeds") or str(Path(shutil.which("python3") or "/bin/true"))
    names = []
    for name, text in _units(DOCS["operations.md"]).items():
        text = re.sub(r"ExecStart=/srv/sfb/venv/bin/sfb-feeds", f"ExecStart={program}", text)
        (tmp_path / name).write_text(text, encoding="utf-8")
        names.append(str(tmp_path / name))
    done = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True,
                          text=True, check=False)
    problems = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert done.returncode == 0 and not problems, done.stderr


@pytest.mark.parametrize(("key", "config"), [
    ("site.title", "site:\n  title:\n  url: https://example.org/\n"),
    ("site.url", "site:\n  title: T\n  url: ~\n"),
    ("digests.from", "site:\n  title: T\n  url: https://example.org/\n"
                     "digests:\n  from: ''\n  lists:\n    en: l@example.org\n"),
])
def test_an_empty_key_the_site_needs_is_not_said_to_be_removable(
        make_site: SiteMaker, key: str, config: str) -> None:
    """An empty required key asks for a value: removing it, as an optional key may be,
    only turns the error into 'is missing' (an operator following the first message got
    the second)."""
    code, _, err = run(["check", "--config", str(make_site(config=config))])
    assert code == 1
    problem = next(line for line in err.splitlines() if f": {key}: " in line)
    assert problem.endswith(f"{key}: is empty; give it a value"), problem


def test_every_archive_a_build_writes_is_named_in_the_readmes_table(
        make_site: SiteMaker) -> None:
    """The table of what a build writes names each form of archive file: statements
    archived within one half-year are archived by month (2014-03.xml)."""
    records = {f"{day}.yaml": GOOD_RECORD.replace("2015-09-04", day).replace("/a\n", f"/{day}\n")
               for day in ("2014-03-03", "2014-04-01", "2014-05-17", "2015-09-06")}
    config = make_site(records, config=SITE_CONFIG + "feeds:\n  entries: 1\n")
    assert run(["build", "--quiet", "--config", str(config)])[0] == 0
    names = sorted(p.name for p in (config.parent / "feeds/en/archive").iterdir())
    assert names == ["2014-03.xml", "2014-04.xml", "2014-05.xml"]
    row = next(row for row in _table_rows(README, "## What a build writes")
               if row[0].startswith("`<lang>/archive/"))
    assert "`<year>-<MM>.xml`" in row[1]


def test_a_state_folder_inside_the_output_says_what_it_would_publish(
        make_site: SiteMaker) -> None:
    """The README: `state` holds the send ledger and the suppression list, `cache` the
    parsed records; each refused inside `output` is told what it would publish."""
    config = make_site(config=SITE_CONFIG + "state: feeds/s\ncache: feeds/c\n")
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    state = next(line for line in err.splitlines() if ": state: " in line)
    cache = next(line for line in err.splitlines() if ": cache: " in line)
    assert "drafts" not in state and "addresses of those who unsubscribed" in state, state
    assert "the text of drafts and scheduled statements" in cache, cache


def test_the_dates_docs_languages_shows_are_the_digests(make_site: SiteMaker) -> None:
    """docs/languages.md's table of how a language is chosen: the date each row shows is
    the date a digest of that language writes (for each side of a row split by ' / ')."""
    rows = _table_rows(DOCS["languages.md"], "How a language is chosen:")
    expected: dict[str, str] = {}
    for tags, _, dates in rows:
        if not tags.startswith("`"):
            continue  # (a tag CLDR does not know)
        for side, date in zip(tags.split(" / "), dates.split(" / "), strict=True):
            expected[re.findall(r"`([^`]+)`", side)[0]] = date.split(" (")[0]
    records = {f"{tag}.yaml": f"title: T\ndate: 2015-09-06\nlanguage: {tag}\n"
                              f"excerpt: Words.\nid: urn:ist:{tag}\n" for tag in expected}
    config = make_site(records)
    for tag, date in expected.items():
        code, out, _ = run(["digest", "--config", str(config), "--week", "2015-W36",
                            "--lang", tag])
        assert code == 0
        assert date in out.splitlines(), (tag, date)


def test_each_exit_code_of_the_readmes_table_happens_as_it_says(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's exit codes, made to happen the way its table says (a new operator's
    first mistakes): 0 a build, 1 a wrong record or a listing not in UTF-8, 2 a malformed
    --now or a listing that cannot be read, 3 a build while another holds the lock."""
    import fcntl

    codes = {row[0] for row in _table_rows(README, "### Exit codes")}
    config = make_site()
    site = ["--config", str(config)]
    assert run(["build", "--quiet", *site])[0] == 0
    assert run(["build", *site, "--now", "2015-W37-1"])[0] == 2
    listing = config.parent / "listing.txt"
    assert run(["import", str(listing), "--out", "imported", *site])[0] == 2
    listing.write_bytes(b"A title\n\nWednesday 21st May 2014\n\n\xff words\n")
    assert run(["import", str(listing), "--out", "imported", *site])[0] == 1
    (config.parent / "statements/a.yaml").write_text(GOOD_RECORD + "tilte: x\n", "utf-8")
    monkeypatch.setenv("SFB_FEEDS_LOCK_WAIT", "0")
    with open(config.parent / "feeds/.sfb-feeds.lock", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert run(["build", *site])[0] == 1  # (the records are read before the lock)
        (config.parent / "statements/a.yaml").write_text(GOOD_RECORD.replace("A st", "St"),
                                                         "utf-8")
        assert run(["build", *site])[0] == 3
    assert {"0", "1", "2", "3"} <= codes
    row = next(r[1] for r in _table_rows(README, "### Exit codes") if r[0] == "1")
    assert "a listing `import` reads is not UTF-8" in row
    assert "`build` would replace files it did not write (see `--adopt`)" in row


def test_the_readmes_crontab_runs_in_crons_bare_environment(make_site: SiteMaker) -> None:
    """Each line of the README's crontab, run as cron runs it (``/bin/sh -c``, an empty
    environment but HOME, LOGNAME, SHELL and cron's PATH, umask 022) with the site in this
    test's folder: both commands find what they need (the password read by the line
    itself), print nothing and exit 0, and the feeds are 0644."""
    crontab = re.search(r"```cron\n(.*?)```", README, flags=re.S)
    assert crontab is not None
    lines = [line.split(None, 5)[5] for line in crontab.group(1).splitlines()
             if line.strip() and not line.startswith("#")]
    config = make_site(config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n  lists: {en: en@example.org}\n"
        "smtp: {host: 127.0.0.1, port: 9, security: none, username: sfb,"
        " password_env: SFB_SMTP_PASSWORD}\n"))
    site = config.parent
    (site / "venv/bin").mkdir(parents=True)
    program = Path(sys.executable).parent / "sfb-feeds"  # (the venv's, as pip installs it)
    if not program.exists():
        pytest.skip(f"{program} is not installed")
    (site / "venv/bin/sfb-feeds").symlink_to(program)
    (site / ".smtp-password").write_text("secret\n", encoding="utf-8")
    cron = {"HOME": str(site), "LOGNAME": "sfb", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    assert [line.split(" && ")[0] for line in lines] == ["cd /srv/sfb"] * 2
    def as_cron(line: str) -> subprocess.CompletedProcess[str]:
        command = "umask 022; " + line.replace("/srv/sfb", str(site))
        return subprocess.run(["/bin/sh", "-c", command], env=cron, capture_output=True,
                              text=True, check=False)

    for line in lines:
        done = as_cron(line)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), line
    assert oct((site / "feeds/en/atom.xml").stat().st_mode & 0o777) == "0o644"
    done = as_cron(re.sub(r'SFB_SMTP_PASSWORD="[^"]*" ', "", lines[1]))  # (the line's point)
    assert done.returncode == 1 and "SFB_SMTP_PASSWORD is not set" in done.stderr


def test_the_benchmark_commands_name_the_interpreter_that_can_run_them(tmp_path: Path) -> None:
    """The README's and docs' `python benchmarks/...` lines: the scripts import sfb_feeds, so
    only the venv's interpreter runs them (Debian has no `python`, and its `python3` has no
    sfb_feeds); each is written with `.venv/bin/python`, and run so from the repository
    its usage comes back."""
    found = re.findall(r"`(\S*python)\s+(benchmarks/\w+\.py)", README + "".join(DOCS.values()))
    assert found
    for interpreter, script in found:
        assert interpreter == ".venv/bin/python", (interpreter, script)
    for script in {script for _, script in found} - {"benchmarks/disk.py"}:  # (no --help)
        done = subprocess.run([sys.executable, str(REPO / script), "--help"], cwd=tmp_path,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0 and done.stdout.startswith("usage:"), done.stderr


def test_what_a_build_does_once_the_manifest_is_deleted(make_site: SiteMaker) -> None:
    """docs/operations.md says what deleting the manifest costs: files the build would
    write again byte for byte are taken back quietly, but the next build that changes one
    stops (exit 1, naming it and `build --adopt`), and files it no longer produces stay."""
    config = make_site()
    site, argv = config.parent, ["build", "--quiet", "--config", str(config)]
    assert run(argv)[0] == 0
    (site / "feeds/.sfb-feeds-manifest.json").unlink()
    assert run(argv)[0] == 0  # (nothing changed: the same bytes, taken back)
    (site / "feeds/.sfb-feeds-manifest.json").unlink()
    record = site / "statements/a.yaml"
    record.write_text(GOOD_RECORD.replace("language: en", "language: pl"), encoding="utf-8")
    code, _, err = run(argv)
    assert code == 1 and "feeds/atom.xml" in err and "build --adopt" in err, err
    assert run([*argv, "--adopt"])[0] == 0
    assert (site / "feeds/en/atom.xml").exists()  # (stale, and stays)
    said = " ".join(DOCS["operations.md"].split())
    assert ("Do not delete the manifest: without it the next build that changes a file it "
            "wrote stops (exit 1, naming the file) until `build --adopt`") in said


@pytest.mark.parametrize(("field", "value", "tag"), [
    ("tags", "!!set {a, b}", "!!set"), ("authors", "!custom {a: b}", "!custom"),
    ("tags", "!!binary aGk=", "!!binary"),
])
def test_a_yaml_tag_on_a_list_field_is_named(make_site: SiteMaker, field: str, value: str,
                                              tag: str) -> None:
    """The README: an explicit YAML tag on a field is refused, naming it; on a list field
    written as another kind (a !!set is a mapping) it was refused only as 'must be a list',
    the tag unnamed."""
    config = make_site({"a.yaml": GOOD_RECORD + f"{field}: {value}\n"})
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert f"record 1: {field}: has the YAML tag {tag}, which is not allowed here" in err, err


@pytest.mark.parametrize(("text", "key"), [("feeds: !custom [a]\n", "feeds"),
                                         ("digests:\n  lists: !custom [a]\n", "digests.lists")])
def test_a_yaml_tag_on_a_config_section_is_named(make_site: SiteMaker, text: str,
                                                 key: str) -> None:
    """The same for the config: a section whose tag makes it no mapping names the tag."""
    config = make_site(config=SITE_CONFIG + text)
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert f"{key}: has the YAML tag !custom, which is not allowed here" in err, err


@pytest.mark.parametrize(("zone", "says"), [
    ("localtime", "is the machine's own zone, not a place"),
    ("posixrules", "is the machine's own zone, not a place"),
    ("Factory", "names no zone"),
    ("posix/Europe/London", "is a copy of Europe/London that not every machine has; "
                            "write Europe/London"),
    ("right/UTC", "is a copy of UTC that not every machine has; write UTC"),
    ("Mars/Base", "is not an IANA timezone (e.g. UTC, Europe/London)"),
])
def test_a_refused_timezone_is_told_why_as_the_readme_says(make_site: SiteMaker, zone: str,
                                                           says: str) -> None:
    """The README refuses localtime, posixrules, Factory and the posix/ and right/ copies
    because they are 'the machine's own zone, or none, or not on every machine'; each was
    answered 'is not an IANA timezone', which for posix/Europe/London is not so."""
    config = make_site(config=SITE_CONFIG.replace("Europe/London", zone))
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert f"site.timezone: '{zone}' {says}" in err, err
