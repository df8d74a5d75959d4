"""The English catalogue: complete, compiled, in step with the code, and actually used.

The UI is written in Chinese (the msgids); `locale/en` translates every one of them. These
tests fail when a string is added without a translation (`make messages`, then translate),
when the committed .mo was not recompiled, or when English leaks Chinese onto a page.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

import frontline

PACKAGE_DIR = Path(frontline.__file__).resolve().parent
PO_PATH = PACKAGE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# CJK ideographs plus CJK and full-width punctuation (（）：，。 …).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# The language switcher names each language in that language (`name_local`).
SWITCHER_NAME = "简体中文"
PYTHON_PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
RICH_MARKUP = re.compile(r"\[/?[a-z ]*\]")


# --- a small .po reader -------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(text: str) -> str:
    text = text.strip()
    assert len(text) >= 2 and text[0] == text[-1] == '"', f"not a quoted string: {text!r}"
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def finish():
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if entry is not None and target is not None and target[0] != "msgctxt":
                finish()
            entry = entry or Entry()
            entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert entry is not None and target is not None, f"{path}:{number}: stray string"
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
        else:
            match = _KEYWORD.match(line)
            assert match, f"{path}:{number}: cannot parse {raw!r}"
            keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()  # a new entry starts without a blank line in between
            entry = entry or Entry()
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = value
            else:
                target = (keyword, 0)
                setattr(entry, keyword, value)
    finish()
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    return [entry for entry in entries if entry.msgid or entry.msgctxt]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    return parse_po(PO_PATH)


def describe(entry: Entry) -> str:
    return repr(entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}|{entry.msgid}")


# --- the catalogue itself -----------------------------------------------------------------


def test_parser_reads_multiline_plural_and_context(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '#, fuzzy, python-format\nmsgid ""\n"第一行"\n"第二行 \\"%(n)s\\""\n'
        'msgstr "A \\"%(n)s\\""\n\n'
        'msgctxt "菜单"\nmsgid "%(n)d 项"\nmsgid_plural "%(n)d 项"\n'
        'msgstr[0] "%(n)d item"\nmsgstr[1] ""\n"%(n)d items"\n\n'
        '#~ msgid "旧"\n#~ msgstr "old"\n',
        encoding="utf-8",
    )
    header, first, second = parse_po(po)
    assert header.msgstr == {0: "Language: en\n"}
    assert first.msgid == '第一行第二行 "%(n)s"' and first.msgstr == {0: 'A "%(n)s"'}
    assert first.flags == {"fuzzy", "python-format"}
    assert second.key == ("菜单", "%(n)d 项", "%(n)d 项")
    assert second.msgstr == {0: "%(n)d item", 1: "%(n)d items"}


def test_header_declares_english_and_its_plural_forms(catalogue):
    header = catalogue[0]
    assert header.msgid == "" and header.msgctxt is None, "the .po must start with its header"
    assert "fuzzy" not in header.flags, "the header is still marked fuzzy"
    fields = dict(line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)
    assert fields.get("Language", "").strip() == "en"
    assert "charset=UTF-8" in fields.get("Content-Type", "")
    assert fields.get("Plural-Forms", "").strip() == "nplurals=2; plural=(n != 1);"


def test_every_message_is_translated_and_not_fuzzy(catalogue):
    entries = messages(catalogue)
    assert len(entries) > 200, "the English catalogue looks truncated"
    untranslated = [
        describe(entry)
        for entry in entries
        if not entry.msgstr or not all(text.strip() for text in entry.msgstr.values())
    ]
    fuzzy = [describe(entry) for entry in entries if "fuzzy" in entry.flags]
    plural_shape = [
        describe(entry)
        for entry in entries
        if sorted(entry.msgstr) != ([0, 1] if entry.msgid_plural is not None else [0])
    ]
    assert not untranslated, f"untranslated msgids in {PO_PATH.name}: {untranslated}"
    assert not fuzzy, f"fuzzy entries (review them and drop the flag): {fuzzy}"
    assert not plural_shape, f"plural entries need msgstr[0] and msgstr[1]: {plural_shape}"


def test_translations_are_english_and_keep_placeholders_and_markup(catalogue):
    problems = []
    for entry in messages(catalogue):
        if entry.msgid == SWITCHER_NAME:
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted_placeholders = sorted(set(PYTHON_PLACEHOLDER.findall(" ".join(sources))))
        wanted_markup = sorted(RICH_MARKUP.findall(entry.msgid))
        for text in entry.msgstr.values():
            if CJK.search(text):
                problems.append(f"{describe(entry)}: Chinese left in {text!r}")
            if sorted(set(PYTHON_PLACEHOLDER.findall(text))) != wanted_placeholders:
                problems.append(f"{describe(entry)}: placeholders differ in {text!r}")
            if sorted(RICH_MARKUP.findall(text)) != wanted_markup:
                problems.append(f"{describe(entry)}: [markup] differs in {text!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_matches_the_po(catalogue):
    assert MO_PATH.exists(), "django.mo is missing: run `make messages`"
    with MO_PATH.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    stale = []
    for entry in messages(catalogue):
        context = entry.msgctxt
        if entry.msgid_plural is None:
            got = {
                0: compiled.gettext(entry.msgid)
                if context is None
                else compiled.pgettext(context, entry.msgid)
            }
        else:
            got = {
                index: compiled.ngettext(entry.msgid, entry.msgid_plural, n)
                if context is None
                else compiled.npgettext(context, entry.msgid, entry.msgid_plural, n)
                for index, n in ((0, 1), (1, 2))
            }
        if got != entry.msgstr:
            stale.append(f"{describe(entry)}: .mo has {got}, .po has {entry.msgstr}")
    assert not stale, "django.mo is out of date: run `make messages`\n" + "\n".join(stale)


def test_catalogue_is_up_to_date_with_the_code(catalogue, tmp_path, monkeypatch):
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext (GNU gettext) is not installed: cannot extract messages")
    source = tmp_path / "frontline"
    # makemessages writes preprocessed copies of templates next to them: work on a copy.
    shutil.copytree(
        PACKAGE_DIR, source, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.py[co]")
    )
    out = tmp_path / "locale"
    monkeypatch.chdir(source)
    with override_settings(LOCALE_PATHS=[out]):
        try:
            call_command(
                "makemessages", locale=["en"], no_location=True, no_obsolete=True, verbosity=0
            )
        except subprocess.CalledProcessError as exc:  # pragma: no cover - broken gettext
            pytest.fail(f"makemessages failed: {exc}")
    extracted = {entry.key for entry in messages(parse_po(out / "en/LC_MESSAGES/django.po"))}
    committed = {entry.key for entry in messages(catalogue)}
    assert extracted, "makemessages extracted nothing: is the copy complete?"
    missing = sorted(extracted - committed, key=str)
    assert not missing, (
        "run `make messages` and translate the new strings; not in the English catalogue: "
        + ", ".join(repr(key[1]) for key in missing)
    )


# --- the catalogue in use -----------------------------------------------------------------


class VisibleText(HTMLParser):
    """Text a user sees or hears: body text plus labels carried by attributes."""

    ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        attrs = dict(attrs)
        self.parts.extend(value for name, value in attrs.items() if name in self.ATTRIBUTES)
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self.parts.append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        parser.close()
        return " ".join(" ".join(parser.parts).split())


def english(catalogue: list[Entry], msgid: str) -> str:
    for entry in catalogue:
        if entry.msgid == msgid and entry.msgctxt is None:
            return entry.msgstr[0]
    raise AssertionError(f"{msgid!r} is not in the English catalogue")


def use_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_login_page_in_english_has_no_chinese_but_the_switcher(db, client, catalogue):
    use_english(client)
    # override(): the locale middleware activates a language and leaves it active.
    with translation.override("en"):
        response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    text = VisibleText.of(html)
    for msgid in ("登录", "用户名", "密码", "基层应急管理智慧平台"):
        assert english(catalogue, msgid) in text
    assert SWITCHER_NAME in text, "the switcher should offer Chinese by its own name"
    leaked = sorted(set(CJK.findall(text.replace(SWITCHER_NAME, ""))))
    assert not leaked, f"Chinese characters on the English login page: {leaked}\n{text}"


def test_login_page_is_chinese_by_default_whatever_the_browser_asks(db, client):
    with translation.override(settings.LANGUAGE_CODE):
        response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    text = VisibleText.of(html)
    assert "登录" in text and "用户名" in text and "Sign in" not in text


def test_api_errors_follow_the_language_cookie(db, client, catalogue):
    with translation.override(settings.LANGUAGE_CODE):
        chinese = client.get("/api/v1/people", HTTP_ACCEPT_LANGUAGE="en-US")
    assert chinese.status_code in (401, 403)
    assert CJK.search(chinese.json()["message"]), chinese.json()

    use_english(client)
    with translation.override("en"):
        response = client.get("/api/v1/people")
    assert response.status_code == chinese.status_code
    body = response.json()
    assert body["code"] == chinese.json()["code"]
    assert body["message"] == english(catalogue, chinese.json()["message"])
    assert not CJK.search(body["message"]), body


def test_api_field_messages_follow_the_language(client, db, django_user_model):
    user = django_user_model.objects.create_user("english", password="x" * 12)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    response = client.post("/api/v1/people", data="{}", content_type="application/json")
    assert response.status_code == 422
    details = response.json()["details"]
    assert details["name"] == "This field is required"
