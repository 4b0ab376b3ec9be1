"""An accessibility smoke check of every page: labelled inputs, heading order, table headers."""

from __future__ import annotations

import typing as t
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_model_registry.services import registry as registry_service
from tests.conftest import Project
from tests.test_web_factories import (
    login,
    make_candidate,
    make_experiment,
    project_ctx,
    store_artifact,
    web,
)

_UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class A11yChecker(HTMLParser):
    """Collects what the smoke check needs while parsing one page."""

    def __init__(self) -> None:
        super().__init__()
        self.label_targets: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []
        self.headings: list[int] = []
        self.table_headers: list[dict[str, str | None]] = []
        self.tables = 0
        self.svgs: list[dict[str, str | None]] = []
        self.buttons: list[tuple[dict[str, str | None], str]] = []
        self._label_depth = 0
        self._button: dict[str, str | None] | None = None
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_targets.add(t.cast(str, a["for"]))
        elif tag in ("input", "select", "textarea"):
            if tag != "input" or (a.get("type") or "text") not in _UNLABELLED_TYPES:
                self.controls.append((tag, a, self._label_depth > 0))
        elif len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "th":
            self.table_headers.append(a)
        elif tag == "table":
            self.tables += 1
        elif tag == "svg":
            self.svgs.append(a)
        elif tag == "button":
            self._button, self._button_text = a, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1
        elif tag == "button" and self._button is not None:
            self.buttons.append((self._button, self._button_text.strip()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data

    def problems(self) -> list[str]:
        found = []
        for tag, attrs, wrapped in self.controls:
            labelled = (
                wrapped
                or attrs.get("id") in self.label_targets
                or attrs.get("aria-label")
                or attrs.get("aria-labelledby")
            )
            if not labelled:
                found.append(f"unlabelled <{tag} name={attrs.get('name')!r}>")
        if self.headings[:1] != [1]:
            found.append(f"the first heading is not h1: {self.headings}")
        if self.headings.count(1) != 1:
            found.append(f"not exactly one h1: {self.headings}")
        for before, after in zip(self.headings, self.headings[1:], strict=False):
            if after > before + 1:
                found.append(f"heading level skips from h{before} to h{after}")
        for attrs in self.table_headers:
            if attrs.get("scope") not in ("col", "row", "colgroup", "rowgroup"):
                found.append(f"<th> without scope: {attrs}")
        if self.tables and not self.table_headers:
            found.append("tables without header cells")
        for attrs in self.svgs:
            if attrs.get("role") != "img" or not attrs.get("aria-label"):
                found.append(f"chart without role=img and a label: {attrs}")
        for attrs, label in self.buttons:
            if not label and not attrs.get("aria-label"):
                found.append(f"button without a name: {attrs}")
        return found


def check(html: str) -> list[str]:
    checker = A11yChecker()
    checker.feed(html)
    return checker.problems()


@pytest.fixture
def urls(app: Flask, project: Project) -> dict[str, str]:
    iid = make_experiment(app, project.id, "a11y")
    runs = [
        make_candidate(app, project.id, iid, f"r{i}", params={"lr": str(i)},
                       metrics={"acc": [0.1 * i, 0.2 * i]}, tags={"t": "v"})
        for i in range(3)
    ]
    store_artifact(app, project.id, runs[0], "model/MLmodel", b"x")
    with project_ctx(app, project.id) as ctx:
        model = registry_service.create_model(ctx, "a11y", description="A *model*.\n\n- one")
        registry_service.promote_candidate(ctx, model, runs[0], semver="1.0.0")
        registry_service.set_alias(ctx, "a11y", "champion", "1")
        model_id = model.id
    return {
        "experiments": web(project.id, "/experiments"),
        "experiment": web(project.id, f"/experiments/{iid}"),
        "experiment_error": web(project.id, f"/experiments/{iid}?filter=metrics.acc+%3E"),
        "candidate": web(project.id, f"/candidates/{runs[0]}"),
        "candidate_folder": web(project.id, f"/candidates/{runs[0]}?path=model"),
        "compare": web(project.id, f"/compare?ids={runs[0]},{runs[1]},{runs[2]}"),
        "models": web(project.id, "/models"),
        "model": web(project.id, f"/models/{model_id}"),
        "version": web(project.id, f"/models/{model_id}/versions/1.0.0"),
        "not_found": web(project.id, "/models/999999"),
    }


@pytest.mark.parametrize("role", ["developer", "reporter"])
def test_pages_pass_the_accessibility_smoke_check(
    client: FlaskClient, urls: dict[str, str], role: str
) -> None:
    login(client, f"alpha-{role}")
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code in (200, 400, 404), name
        problems = check(response.get_data(as_text=True))
        assert problems == [], f"{name}: {problems}"


def test_empty_pages_pass_the_accessibility_smoke_check(
    client: FlaskClient, project: Project
) -> None:
    login(client, "alpha-developer")
    for path in ("/experiments", "/models"):
        assert check(client.get(web(project.id, path)).get_data(as_text=True)) == []


def test_the_checker_finds_problems() -> None:
    bad = (
        "<h2>x</h2><h4>y</h4><input name=q><table><tr><th>a</th></tr></table>"
        "<svg></svg><button></button>"
    )
    problems = check(bad)
    assert any("unlabelled <input name='q'>" in p for p in problems)
    assert any("first heading is not h1" in p for p in problems)
    assert any("skips from h2 to h4" in p for p in problems)
    assert any("<th> without scope" in p for p in problems)
    assert any("chart without role=img" in p for p in problems)
    assert any("button without a name" in p for p in problems)
