"""Two editors at work during the soak test, over HTTP, as a browser would do it.

Usage (with the server's environment, so the same database and settings):

    .venv/bin/python bench/soak_editor.py BASE_URL WORKDIR ACCESS_LOG WORKER_PIDS

WORKDIR holds editors.json (from bench/soak_prepare.py); ACCESS_LOG is gunicorn's access log
(`%(p)s %(s)s ... %(U)s?%(q)s`), used to tell which worker answered each check; WORKER_PIDS is
a comma-separated list of gunicorn's workers. Every public URL it asks for has "soak" in its
query string, so the report can tell its requests from the load's.

1. An editor (Editors group) logs in through the admin's login form, opens a draft's change
   form, adds a sentence to its lessons and presses "Save".
2. A publisher (Publishers group) logs in the same way, opens another complete draft, changes
   its summary and presses "Save and publish".
3. Checks, each a failure when not met:
   - both POSTs answered with a redirect, and the change page then shows no error;
   - the public page shows the new summary within VISIBLE_WITHIN seconds, on every worker
     (fresh connections, each answer matched to its worker through the access log), and no
     answer after the publish shows the old summary;
   - the new summary is found by the list's search, on the list sorted by last update, in the
     API (the record and a search) and in the JSON export;
   - in the database, nothing but the edited field and the workflow's bookkeeping changed
     (every other field, the tags, places, partners, sources and metrics are as before), and
     one revision was recorded for each save, by the right user;
   - the draft the editor saved is still not public.

Prints a human summary and, last, `JSON {...}` (read by bench/soak_report.py); exits 1 when a
check failed.
"""

import http.client
import json
import os
import re
import secrets
import string
import sys
import threading
import time
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")

VISIBLE_WITHIN = float(os.environ.get("SOAK_VISIBLE_WITHIN", "10"))
# Answers each worker must give with the new summary before it counts as seen there.
ANSWERS_PER_WORKER = 3
POLLERS = 4
TIMEOUT = 60


# -- a browser, as far as the admin needs one ----------------------------------------------


class Browser:
    """Cookies, CSRF and one fresh connection per request.

    Production sits behind a TLS-terminating balancer: session and CSRF cookies are Secure
    and requests arrive with X-Forwarded-Proto: https. This plays the balancer's part over
    loopback, so the cookies are sent back although the socket is plain HTTP.
    """

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.origin = f"https://{parts.netloc}"
        self.cookies = {}

    def request(self, method, path, fields=None):
        headers = {"X-Forwarded-Proto": "https", "User-Agent": "soak-editor"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            started = time.monotonic()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            elapsed = time.monotonic() - started
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, text, elapsed

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields)


class FormParser(HTMLParser):
    """The fields a browser would submit from the form with the given id (no button yet)."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields = []  # (name, value) in document order
        self.select = None  # [name, multiple, selected values, first option value]
        self.option = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
        elif tag == "select" and name:
            self.select = [name, "multiple" in a, [], None]
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "selected" in a, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data
        if self.option is not None:
            self.option[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # HTML drops one newline straight after <textarea>; browsers send CRLF line ends.
            text = text.removeprefix("\n").replace("\r\n", "\n").replace("\n", "\r\n")
            self.fields.append((name, text))
            self.textarea = None
        elif tag == "option" and self.option is not None:
            self._end_option()
        elif tag == "select" and self.select is not None:
            if self.option is not None:
                self._end_option()
            name, multiple, selected, first = self.select
            if selected:
                self.fields += [(name, value) for value in selected]
            elif not multiple and first is not None:
                self.fields.append((name, first))  # a browser submits the first option
            self.select = None

    def _end_option(self):
        value, selected, text = self.option
        value = text.strip() if value is None else value
        if self.select[3] is None:
            self.select[3] = value
        if selected:
            self.select[2].append(value)
        self.option = None


def form_fields(html, form_id):
    parser = FormParser(form_id)
    parser.feed(html)
    return parser.fields


def replace_field(fields, name, value):
    found = [i for i, (n, _) in enumerate(fields) if n == name]
    if len(found) != 1:
        raise AssertionError(f"the form has {len(found)} fields called {name}")
    fields[found[0]] = (name, value)


def field_value(fields, name):
    return next(value for n, value in fields if n == name)


def error_text(html):
    """The admin's error messages in a page, as plain text."""
    found = re.findall(r'<(?:ul|p) class="errorlist[^"]*"[^>]*>(.*?)</(?:ul|p)>', html, re.S)
    found += re.findall(r'<p class="errornote">(.*?)</p>', html, re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in found]


# -- the record, as the database holds it --------------------------------------------------


def snapshot(pk):
    from reversion.models import Version

    from catalogue.models import Initiative

    initiative = Initiative.objects.get(pk=pk)
    fields = {
        f.attname: getattr(initiative, f.attname)
        for f in Initiative._meta.concrete_fields
        if f.name != "search_vector"
    }
    related = {
        name: sorted(getattr(initiative, name).values_list("pk", flat=True))
        for name in ("drivers", "themes", "outcomes", "barriers", "places")
    }
    related["partnerships"] = sorted(
        initiative.partnerships.values_list("pk", "organisation_id", "role", "description")
    )
    related["sources"] = sorted(
        initiative.sources.values_list(
            "pk", "title", "publisher", "author", "url", "published_on", "accessed_on"
        )
    )
    related["metrics"] = sorted(
        initiative.metrics.values_list(
            "pk", "label", "value", "unit", "direction", "baseline", "period", "source_id"
        )
    )
    versions = Version.objects.get_for_object(initiative).select_related("revision__user")
    latest = versions.first()
    return {
        "fields": fields,
        "related": related,
        "versions": versions.count(),
        "latest_revision": (
            latest.revision.user.username if latest and latest.revision.user else None,
            latest.revision.get_comment() if latest else "",
        ),
    }


def unexpected_changes(before, after, allowed):
    """Names of fields and relations that differ, other than the allowed ones."""
    changed = [
        name
        for name, value in before["fields"].items()
        if after["fields"][name] != value and name not in allowed
    ]
    changed += [
        name for name, value in before["related"].items() if after["related"][name] != value
    ]
    return changed


# -- the run -------------------------------------------------------------------------------


class Failures(list):
    def check(self, condition, message):
        if not condition:
            self.append(message)
            print(f"   FAIL {message}")
        return condition


def log_in(browser, username, password, failures):
    status, _, html, _ = browser.get("/admin/login/?next=/admin/")
    failures.check(status == 200, f"{username}: the login page answered {status}")
    fields = form_fields(html, "login-form")
    replace_field(fields, "username", username)
    replace_field(fields, "password", password)
    status, headers, html, _ = browser.post("/admin/login/?next=/admin/", fields)
    return failures.check(
        status == 302 and headers.get("Location") == "/admin/",
        f"{username}: logging in answered {status} {headers.get('Location')} {error_text(html)}",
    )


def save_change_form(browser, pk, field, new_value, button, failures, who):
    """Open the change form, set one field, press a button; (seconds, redirect target)."""
    path = f"/admin/catalogue/initiative/{pk}/change/"
    status, _, html, _ = browser.get(path)
    if not failures.check(status == 200, f"{who}: the change form answered {status}"):
        return None, None
    fields = form_fields(html, "initiative_form")
    replace_field(fields, field, new_value)
    fields.append(button)
    status, headers, html, seconds = browser.post(path, fields)
    location = headers.get("Location")
    failures.check(
        status == 302, f"{who}: saving answered {status}, not a redirect: {error_text(html)}"
    )
    if location:
        status, _, html, _ = browser.get(location)
        failures.check(
            status == 200 and not error_text(html),
            f"{who}: the page after saving answered {status} {error_text(html)}",
        )
    return seconds, location


def worker_of_polls(access_log):
    """{poll number: worker pid} from the access log."""
    found = {}
    for line in Path(access_log).read_text().splitlines():
        match = re.match(r"<(\d+)> \S+ .*[?&]soak-poll=(\d+)", line)
        if match:
            found[int(match[2])] = int(match[1])
    return found


def poll_public_page(base_url, slug, new_summary, old_summary, access_log, workers, published):
    """Ask for the public page on fresh connections until every worker has shown the new
    summary ANSWERS_PER_WORKER times, or VISIBLE_WITHIN seconds have passed."""
    from django.utils.html import escape

    new_html, old_html = escape(new_summary), escape(old_summary)
    polls = []  # (number, sent, answered, status, state)
    lock = threading.Lock()
    numbers = iter(range(1, 1_000_000))
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            with lock:
                number = next(numbers)
            sent = time.monotonic()
            status, _, html, _ = Browser(base_url).get(f"/initiatives/{slug}/?soak-poll={number}")
            state = "new" if new_html in html else "old" if old_html in html else "neither"
            with lock:
                polls.append((number, sent, time.monotonic(), status, state))
            if time.monotonic() - published > VISIBLE_WITHIN:
                stop.set()

    def enough():
        by_poll = worker_of_polls(access_log)
        with lock:
            seen = [by_poll.get(number) for number, *_, state in polls if state == "new"]
        return all(seen.count(pid) >= ANSWERS_PER_WORKER for pid in workers)

    threads = [threading.Thread(target=poll) for _ in range(POLLERS)]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        time.sleep(0.2)
        if enough():
            stop.set()
    for thread in threads:
        thread.join()
    time.sleep(0.5)  # the last answers' access-log lines
    by_poll = worker_of_polls(access_log)
    return [(by_poll.get(number), *rest) for number, *rest in sorted(polls)]


def main(base_url, workdir, access_log, workers):
    django.setup()
    from catalogue.models import Initiative

    config = json.loads((Path(workdir) / "editors.json").read_text())
    failures = Failures()
    result = {"base_url": base_url}
    marker = "soakcheck" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))

    # 1. The editor saves a draft.
    to_save = config["to_save"]
    before = snapshot(to_save["pk"])
    editor = Browser(base_url)
    print(f"   editor {config['editor']['username']}: saving draft {to_save['slug']}")
    if log_in(editor, config["editor"]["username"], config["editor"]["password"], failures):
        lessons = before["fields"]["lessons"] + f" Added during the soak test ({marker}-draft)."
        seconds, _ = save_change_form(
            editor, to_save["pk"], "lessons", lessons, ("_save", "Save"), failures, "editor"
        )
        result["draft_save_seconds"] = seconds
        after = snapshot(to_save["pk"])
        failures.check(after["fields"]["lessons"] == lessons, "editor: the lessons were not saved")
        failures.check(after["fields"]["status"] == "draft", "editor: the draft changed status")
        lost = unexpected_changes(before, after, {"lessons", "updated_at", "updated_by_id"})
        failures.check(not lost, f"editor: other parts of the record changed: {lost}")
        failures.check(
            after["versions"] == before["versions"] + 1
            and after["latest_revision"][0] == config["editor"]["username"],
            f"editor: revisions {before['versions']} -> {after['versions']}, "
            f"latest by {after['latest_revision'][0]}",
        )
        status, *_ = Browser(base_url).get(f"/initiatives/{to_save['slug']}/?soak-check=draft")
        failures.check(status == 404, f"editor: the draft's public page answered {status}")
        result["draft_public_status"] = status

    # 2. The publisher publishes another draft with a new summary.
    to_publish = config["to_publish"]
    before = snapshot(to_publish["pk"])
    old_summary = before["fields"]["summary"]
    new_summary = f"Published during the soak test ({marker}): {old_summary}"
    publisher = Browser(base_url)
    print(f"   publisher {config['publisher']['username']}: publishing {to_publish['slug']}")
    if not log_in(
        publisher, config["publisher"]["username"], config["publisher"]["password"], failures
    ):
        return finish(result, failures)
    seconds, location = save_change_form(
        publisher,
        to_publish["pk"],
        "summary",
        new_summary,
        ("_transition", "publish"),
        failures,
        "publisher",
    )
    published = time.monotonic()
    result["publish_post_seconds"] = seconds
    result["publish_redirect"] = location

    # 3. Visible on the public page, on every worker.
    polls = poll_public_page(
        base_url, to_publish["slug"], new_summary, old_summary, access_log, workers, published
    )
    result["polls"] = len(polls)
    stale = [p for p in polls if p[4] != "new"]
    new = [p for p in polls if p[4] == "new"]
    result["stale_answers"] = len(stale)
    failures.check(not stale, f"public page: {len(stale)} answers after publishing were not new")
    if new:
        result["visible_after_seconds"] = round(min(p[2] for p in new) - published, 3)
    per_worker = {}
    for pid in workers:
        answered = [p[2] - published for p in new if p[0] == pid]
        per_worker[str(pid)] = {
            "answers": len([p for p in polls if p[0] == pid]),
            "new": len(answered),
            "first_new_after_seconds": round(min(answered), 3) if answered else None,
        }
        failures.check(
            len(answered) >= 1 and min(answered) <= VISIBLE_WITHIN,
            f"public page: worker {pid} did not show the new summary within {VISIBLE_WITHIN} s",
        )
    result["per_worker"] = per_worker

    # 4. In the list, search, API and export.
    client = Browser(base_url)
    href = f'href="/initiatives/{to_publish["slug"]}/"'
    status, _, html, _ = client.get(f"/initiatives/?q={marker}")
    failures.check(status == 200 and href in html, f"search: q={marker} did not list it")
    status, _, html, _ = client.get("/initiatives/?sort=-updated&soak-check=list")
    failures.check(
        status == 200 and href in html, "list: not on the first page sorted by last update"
    )
    status, _, body, _ = client.get(f"/api/v1/initiatives/{to_publish['slug']}/")
    failures.check(
        status == 200 and json.loads(body).get("summary") == new_summary,
        f"API: the record answered {status} without the new summary",
    )
    status, _, body, _ = client.get(f"/api/v1/initiatives/?q={marker}")
    found = [item["slug"] for item in json.loads(body).get("results", [])] if status == 200 else []
    failures.check(found == [to_publish["slug"]], f"API: a search for {marker} found {found}")
    status, _, body, _ = client.get(f"/initiatives/export.json?q={marker}")
    found = [item["slug"] for item in json.loads(body)["initiatives"]] if status == 200 else []
    failures.check(found == [to_publish["slug"]], f"export: a search for {marker} found {found}")
    result["found_in"] = ["search", "list by last update", "API record", "API search", "export"]

    # 5. Nothing else changed; the history has it.
    after = snapshot(to_publish["pk"])
    failures.check(after["fields"]["summary"] == new_summary, "publisher: summary not saved")
    failures.check(after["fields"]["status"] == "published", "publisher: not published")
    allowed = {"summary", "status", "updated_at", "updated_by_id", "published_at"}
    lost = unexpected_changes(before, after, allowed)
    failures.check(not lost, f"publisher: other parts of the record changed: {lost}")
    failures.check(
        after["versions"] == before["versions"] + 1
        and after["latest_revision"][0] == config["publisher"]["username"],
        f"publisher: revisions {before['versions']} -> {after['versions']}, "
        f"latest by {after['latest_revision'][0]}",
    )
    result["revision_comment"] = after["latest_revision"][1]
    result["compared"] = sorted(before["fields"]) + sorted(before["related"])
    result["published_count"] = Initiative.objects.published().count()
    return finish(result, failures)


def finish(result, failures):
    result["failures"] = list(failures)
    result["ok"] = not failures
    print(f"   {'ok' if result['ok'] else f'{len(failures)} failures'}")
    print("JSON " + json.dumps(result, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base_url, workdir, access_log, pids = sys.argv[1:]
    sys.exit(main(base_url, workdir, access_log, [int(pid) for pid in pids.split(",")]))
