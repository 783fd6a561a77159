"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against pytest-django's live_server.

When they run:
- `python3 dev.py test tests/browser -m browser`: always. Without Chromium or
  Playwright they are skipped with a hint, except in CI (CI=true), where they fail.
- `python3 dev.py test` (everything): locally, whenever Chromium and Playwright are
  present; in CI they are left to CI's own browser step, so they run once, not
  once per database.

The `audit` fixture checks a page with axe-core (WCAG 2.0 and 2.1, levels A and AA), installed
from tests/browser/package-lock.json by `npm ci --prefix tests/browser --no-audit --no-fund`.
Without it an audit is skipped with that hint, except in CI, where it fails.

Playwright's sync API runs an event loop in the test thread, and Django refuses
ORM calls from a thread with a running loop unless told it is safe; it is, here,
because each test drives the browser and the database in turn, never at once.
Set only for these tests, in their own folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# Debian's Chromium; CHROMIUM_PATH points elsewhere on other systems.
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_INSTALL_HINT = "install axe-core with `npm ci --prefix tests/browser --no-audit --no-fund` (node 20 and npm)"
# The success criteria audited: WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
INSTALL_HINT = (
    "install Chromium with `sudo apt-get install -y chromium`; `python3 dev.py test` installs playwright and "
    "pytest-playwright from requirements-dev.txt (never run `playwright install`: the tests use Debian's browser)"
)


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian's chromium package)")
    if importlib.util.find_spec("playwright") is None or importlib.util.find_spec("pytest_playwright") is None:
        missing.append("the playwright and pytest-playwright Python packages")
    return missing


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _explicitly_selected(config: pytest.Config) -> bool:
    """True when the run asked for the browser tests by marker (`-m browser`)."""
    expression = (config.getoption("markexpr", default="") or "").replace(" ", "")
    return "browser" in expression and "notbrowser" not in expression


def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright 0.10's base_url fixture trips a pytest 9 deprecation warning; nothing to act on here.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    if not ours:
        return
    # Run them last (after pytest-django has put transactional tests after the others): the live
    # server needs committed data, so the database is emptied after each of them.
    chosen = set(ours)
    items[:] = [item for item in items if item not in chosen] + ours
    missing = _missing()
    if _in_ci() and not _explicitly_selected(config):
        reason = "CI runs the browser tests once, in their own step (`bash .ci/run`)"
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))
        return
    if missing:
        message = f"The browser tests need {' and '.join(missing)}. To run them, {INSTALL_HINT}."
        if _in_ci():
            raise pytest.UsageError(f"FAIL: {message}")
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium, quietly: no downloads, no sync, no first-run pages."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "en-CA"}


def _axe_report(violations: list[dict], where: str) -> str:
    lines = [f"axe-core found {len(violations)} accessibility violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact') or 'no impact given'}): {v['help']}")
        for node in v["nodes"]:
            lines.append(f"    {json.dumps(node['target'])}")
    return "\n".join(lines)


@pytest.fixture
def audit() -> Callable[..., None]:
    """`audit(page)`: the page at its address, checked by axe-core; fails the test listing each violation.

    The reviewer pages and the API docs send a Content-Security-Policy that refuses any script
    without the response's nonce, axe's included. The policy stays as it is for users and for the
    page under test (so the tests still notice a script of ours that the policy would refuse): the
    audit opens the same address in a context of its own, launched with Playwright's
    `bypass_csp=True`, with the page's viewport and cookies, and injects axe there. `ready` is a
    selector to wait for first, for a page that draws itself with script (the API docs); `prepare`
    does what a person would do before the audit (open a dialogue, press a button).
    """
    if not AXE.exists():
        message = f"The accessibility audit needs {AXE.relative_to(HERE.parents[1])}: {AXE_INSTALL_HINT}."
        if _in_ci():
            pytest.fail(f"FAIL: {message}")
        pytest.skip(message)

    def run(page, *, ready: str | None = None, prepare: Callable | None = None) -> None:
        viewport = page.viewport_size
        context = page.context.browser.new_context(
            bypass_csp=True,  # for the audit's own context only; see above
            viewport=viewport,
            locale="en-CA",
            storage_state=page.context.storage_state(),
        )
        try:
            checked = context.new_page()
            checked.goto(page.url)
            if ready:
                checked.locator(ready).first.wait_for(timeout=15_000)
            if prepare:
                prepare(checked)
            checked.add_script_tag(path=AXE)
            result = checked.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                WCAG_TAGS,
            )
        finally:
            context.close()
        violations = result["violations"]
        where = f"{page.url} at {viewport['width']}×{viewport['height']}" if viewport else page.url
        assert not violations, _axe_report(violations, where)

    return run
