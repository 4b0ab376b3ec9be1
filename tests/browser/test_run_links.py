"""The links the mlflow client prints after a run, opened in headless Chromium.

The run is logged by the real mlflow client against a live server; the links are read from
what the client printed, not rebuilt here.
"""

from __future__ import annotations

import re
import typing as t

import pytest

from tests.browser.conftest import VIEWPORT, login
from tests.conftest import Project
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.live]


class Printed(t.NamedTuple):
    """A run logged by the mlflow client and the links it printed for it."""

    experiment_id: str
    run_id: str
    run_link: str
    experiment_link: str


def _printed_link(output: str, label: str) -> str:
    found = re.findall(rf"{label} at: (\S+)", output)
    assert len(found) == 1, f"the client printed no single '{label}' link:\n{output}"
    return t.cast(str, found[0])


@pytest.fixture
def printed(
    mlflow_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Printed:
    import mlflow

    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    experiment = mlflow.set_experiment("printed-links")
    capsys.readouterr()
    with mlflow.start_run(run_name="linked") as run:
        mlflow.log_metric("acc", 0.9)
    output = capsys.readouterr().out
    return Printed(
        experiment_id=experiment.experiment_id,
        run_id=run.info.run_id,
        run_link=_printed_link(output, "View run linked"),
        experiment_link=_printed_link(output, "View experiment"),
    )


def _lands_on(page: t.Any, link: str, url: str | re.Pattern[str]) -> None:
    """Open ``link`` and wait until the browser is at ``url``."""
    page.goto(link)
    page.wait_for_url(url)


def test_printed_links_lead_to_the_candidate_and_the_experiment(
    browser: t.Any, live_server: LiveServer, project: Project, printed: Printed
) -> None:
    tracking_uri = live_server.tracking_uri(project.id)
    experiment = f"{tracking_uri}/#/experiments/{printed.experiment_id}"
    assert printed.experiment_link == experiment
    assert printed.run_link == f"{experiment}/runs/{printed.run_id}"
    base = f"{live_server.url}/projects/{project.id}/-/ml"

    page = login(browser, live_server, "alpha-reporter")
    _lands_on(page, printed.run_link, f"{base}/candidates/{printed.run_id}")
    assert "linked" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_text(printed.run_id).first.is_visible()

    _lands_on(page, printed.experiment_link, f"{base}/experiments/{printed.experiment_id}")
    assert page.get_by_role("link", name="linked", exact=True).is_visible()

    # The client may add the workspace after the fragment's path.
    _lands_on(page, printed.run_link + "?workspace=team",
              f"{base}/candidates/{printed.run_id}")
    page.context.close()


def test_model_links_and_unknown_fragments(
    browser: t.Any, live_server: LiveServer, project: Project, printed: Printed
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient()
    client.create_registered_model("linked model")
    client.create_model_version("linked model", f"runs:/{printed.run_id}",
                                run_id=printed.run_id, tags={"model_registry.version": "0.3.0"})
    tracking_uri = live_server.tracking_uri(project.id)
    base = f"{live_server.url}/projects/{project.id}/-/ml"

    page = login(browser, live_server, "alpha-reporter")
    _lands_on(page, f"{tracking_uri}/#/models/linked%20model/versions/1",
              re.compile(re.escape(base) + r"/models/\d+/versions/0\.3\.0$"))
    assert "0.3.0" in page.get_by_role("heading", level=1).inner_text()
    _lands_on(page, f"{tracking_uri}/#/models/linked%20model",
              re.compile(re.escape(base) + r"/models/\d+$"))
    assert "linked model" in page.get_by_role("heading", level=1).inner_text()
    for fragment in ("", "#/", "#/no/such/page", "#/experiments/x"):
        _lands_on(page, f"{tracking_uri}/{fragment}", f"{base}/experiments")
    page.context.close()


def test_a_printed_link_opened_signed_out_asks_for_the_login(
    browser: t.Any, live_server: LiveServer, project: Project, printed: Printed
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(printed.run_link)
    page.wait_for_url(re.compile(r"/login\?"))
    assert f"/candidates/{printed.run_id}" in page.url.replace("%2F", "/")
    context.close()
