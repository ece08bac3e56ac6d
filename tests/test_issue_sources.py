"""Where issue text comes from: a file, stdin, --text, or the GitHub REST API (a local stand-in here)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from agent.core.errors import TaskError
from tasks.issues import read_issue
from tests.cli_helpers import run_agent

ISSUES = {
    "/repos/acme/widgets/issues/7": {
        "title": "Race condition in cache refresh",
        "body": "Two threads refresh at once and one gets stale data.",
        "labels": [{"name": "bug"}, {"name": "concurrency"}],
    },
    "/repos/acme/widgets/issues/8": {"title": "", "body": None, "labels": []},
}


class GitHubStandIn(BaseHTTPRequestHandler):
    seen_auth: ClassVar[list[str | None]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        GitHubStandIn.seen_auth.append(self.headers.get("Authorization"))
        issue = ISSUES.get(self.path)
        body = json.dumps(issue if issue else {"message": "Not Found"}).encode()
        self.send_response(200 if issue else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def github():
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHubStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    GitHubStandIn.seen_auth = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("spec", ["acme/widgets#7", "https://github.com/acme/widgets/issues/7"])
def test_github_issue_by_short_form_and_url(github, spec):
    issue = read_issue(spec, env={"GITHUB_API_URL": github, "GITHUB_TOKEN": "tok"})
    assert (issue.title, issue.labels, issue.source) == (
        "Race condition in cache refresh",
        ["bug", "concurrency"],
        "github:acme/widgets#7",
    )
    assert GitHubStandIn.seen_auth == ["Bearer tok"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("acme/widgets#404", "GitHub issue acme/widgets#404 not found"),
        ("acme/widgets#8", "GitHub issue acme/widgets#8 is empty"),
    ],
)
def test_github_errors_are_task_errors(github, spec, message):
    with pytest.raises(TaskError, match=message):
        read_issue(spec, env={"GITHUB_API_URL": github})


def test_plan_uses_github_labels(tmp_path, github):
    done = run_agent(tmp_path, "plan", "acme/widgets#7", "--json", env={"GITHUB_API_URL": github})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["task_type"] == "complex_bug"


def test_issue_from_stdin(tmp_path):
    done = run_agent(tmp_path, "plan", "-", "--json", stdin="Please add support for TOML output\n")
    assert json.loads(done.stdout)["task_type"] == "feature"


def test_text_title_is_the_markdown_heading():
    issue = read_issue(None, text="# Crash on empty input\n\nSteps: run it with ''.")
    assert (issue.title, issue.body) == ("Crash on empty input", "Steps: run it with ''.")
