"""The pages in headless Chromium, with data logged through the real mlflow client.

Screenshots of each page (1280x800) are written to a temporary directory, or to
``$SCREENSHOTS_DIR``: ``make screenshots`` refreshes ``docs/screenshots/`` for the docs.
"""

from __future__ import annotations

import re
import typing as t

import pytest

from tests.browser.conftest import follow, login
from tests.conftest import Project
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def logged(mlflow_env: str) -> dict[str, str]:
    """Experiment ``fraud-detection`` with three runs logged by the developer's mlflow client."""
    import mlflow

    mlflow.set_experiment("fraud-detection")
    runs = {}
    for name, lr, accs in [
        ("baseline", "0.1", [0.30, 0.35, 0.40, 0.42, 0.45]),
        ("tuned", "0.01", [0.50, 0.62, 0.71, 0.78, 0.81]),
        ("deeper", "0.01", [0.55, 0.66, 0.74, 0.80, 0.86]),
    ]:
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_params({"lr": lr, "depth": "6" if name == "deeper" else "3"})
            for step, acc in enumerate(accs):
                mlflow.log_metrics({"acc": acc, "loss": 1 - acc}, step=step)
            mlflow.log_text(f"notes for {name}\n", "notes/readme.txt")
            runs[name] = run.info.run_id
    mlflow.set_experiment("churn-baseline")
    with mlflow.start_run(run_name="logreg"):
        mlflow.log_metric("auc", 0.74)
    mlflow.set_experiment("fraud-detection")
    return runs


def test_developer_journey(
    browser: t.Any, live_server: LiveServer, project: Project, logged: dict[str, str],
    shot: t.Callable[[t.Any, str], None],
) -> None:
    page = login(browser, live_server, "alpha-developer")
    base = f"{live_server.url}/projects/{project.id}/-/ml"

    # The experiments page lists the experiment the mlflow client created.
    page.goto(f"{base}/experiments")
    link = page.get_by_role("link", name="fraud-detection", exact=True)
    assert link.is_visible()
    row = page.locator("tr", has=link)
    assert row.locator("td.mr-num").inner_text() == "3"
    assert page.get_by_role("button", name="Delete experiment fraud-detection").is_visible()
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.mr-tabs')).borderBottomStyle"
    ) == "solid", "the plugin's stylesheet did not load"
    shot(page, "experiments")

    # The experiment page filters with the search_runs language.
    follow(page, link)
    names = page.locator("table.mr-candidates tbody th[scope=row] a")
    assert sorted(names.all_inner_texts()) == ["baseline", "deeper", "tuned"]
    page.get_by_label("Filter candidates").fill("metrics.acc > 0.5")
    follow(page, page.get_by_role("button", name="Apply"))
    assert sorted(names.all_inner_texts()) == ["deeper", "tuned"]
    assert page.locator("svg.bar-chart rect.bar").count() == 2
    shot(page, "experiment")

    # A bad filter shows the parser's message, not a server error.
    page.get_by_label("Filter candidates").fill("metrics.acc >")
    follow(page, page.get_by_role("button", name="Apply"))
    assert page.get_by_role("alert").inner_text().startswith("Invalid filter or sort")
    shot(page, "experiment_filter_error")
    page.go_back()
    page.wait_for_load_state()

    # Compare two candidates and show only what differs.
    button = page.get_by_role("button", name="Compare selected")
    assert button.is_disabled()
    page.get_by_label("Select tuned to compare").check()
    page.get_by_label("Select deeper to compare").check()
    assert button.is_enabled()
    follow(page, button)
    assert page.get_by_role("heading", level=1).inner_text() == "Compare 2 candidates"
    same = page.locator("tr.mr-same", has_text="lr")
    differs = page.locator("tr.mr-differs", has_text="depth")
    assert same.is_visible()
    assert differs.is_visible()
    assert page.locator("svg.line-chart g.series path").count() >= 4  # acc and loss, 2 each
    page.get_by_label("Only differences").check()
    assert same.is_hidden()
    assert differs.is_visible()
    assert "only_diff=1" in page.url
    shot(page, "compare")
    page.get_by_label("Only differences").uncheck()
    assert same.is_visible()

    # The candidate page draws each metric history through its logged points.
    page.goto(f"{base}/candidates/{logged['deeper']}")
    chart = page.locator("figure[data-metric='acc'] svg.line-chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 100
    path = chart.locator("path")
    assert path.get_attribute("data-points") == "5"
    assert len(re.findall(r"[ML]\d", path.get_attribute("d") or "")) == 5
    assert page.get_by_role("link", name="notes/").is_visible()
    shot(page, "candidate")

    # Promotion validates the version, then creates it and lands on its page.
    page.get_by_label("Model", exact=True).fill("fraud-detection")
    page.get_by_label("Version", exact=True).fill("v1.2")
    follow(page, page.get_by_role("button", name="Promote"))
    assert "a 'v' prefix is not allowed" in page.get_by_role("alert").inner_text()
    page.get_by_label("Version", exact=True).fill("1.2.0")
    follow(page, page.get_by_role("button", name="Promote"))
    assert re.search(r"/models/\d+/versions/1\.2\.0$", page.url)
    assert "1.2.0" in page.get_by_role("heading", level=1).inner_text()
    assert 'load_model("models:/fraud-detection@1.2.0")' in page.locator("pre").first.inner_text()
    shot(page, "model_version")

    # What the mlflow client changes on the model shows on its page.
    from mlflow import MlflowClient

    MlflowClient().update_registered_model(
        "fraud-detection",
        description="Scores card payments for **fraud**.\n\n- trained on `payments-2024`\n"
        "- owner: risk team <script>alert(1)</script>",
    )
    MlflowClient().set_registered_model_alias("fraud-detection", "champion", "1")
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    follow(page, breadcrumb.get_by_role("link", name="fraud-detection"))
    versions = page.locator("table", has=page.get_by_role("columnheader", name="MLflow version"))
    assert versions.get_by_role("link", name="1.2.0").is_visible()
    assert versions.get_by_text("@champion").is_visible()
    description = page.locator(".mr-markdown")
    assert description.locator("strong").inner_text() == "fraud"
    assert "<script>alert(1)</script>" in description.inner_text()  # shown as text, not run
    shot(page, "model")
    page.goto(f"{base}/models")
    model_row = page.get_by_role("row", name=re.compile("^fraud-detection 1.2.0"))
    assert model_row.get_by_role("rowheader").get_by_role("link").inner_text() == "fraud-detection"
    shot(page, "models")
    page.context.close()


def test_reporter_sees_no_write_controls_and_forged_posts_get_403(
    browser: t.Any, live_server: LiveServer, project: Project, logged: dict[str, str],
) -> None:
    base = f"{live_server.url}/projects/{project.id}/-/ml"
    developer = login(browser, live_server, "alpha-developer")
    developer.goto(f"{base}/experiments")
    token = developer.locator("input[name=mr_csrf_token]").first.get_attribute("value")
    developer.context.close()

    page = login(browser, live_server, "alpha-reporter")
    page.goto(f"{base}/experiments")
    assert page.get_by_role("link", name="fraud-detection", exact=True).is_visible()
    assert page.get_by_role("button", name=re.compile("Delete")).count() == 0
    assert page.locator("form[method=post]").count() == 1  # only the host's sign-out form
    page.goto(f"{base}/candidates/{logged['tuned']}")
    assert page.get_by_role("heading", name="Promote to model version").count() == 0
    assert page.get_by_role("button", name="Promote").count() == 0

    experiment = page.get_by_role("link", name="fraud-detection").first.get_attribute("href")
    assert experiment is not None
    delete = page.request.post(
        f"{live_server.url}{experiment}/delete", form={"mr_csrf_token": token or ""}
    )
    assert delete.status == 403
    promote = page.request.post(
        f"{base}/candidates/{logged['tuned']}/promote",
        form={"mr_csrf_token": token or "", "model_name": "fraud-detection", "semver": "9.9.9"},
    )
    assert promote.status == 403
    page.goto(f"{base}/experiments")
    assert page.get_by_role("link", name="fraud-detection", exact=True).is_visible()
    page.goto(f"{base}/models")
    assert "No models yet" in page.locator(".mr-empty").inner_text()
    page.context.close()
