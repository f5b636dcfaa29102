"""The MkDocs handbook: it builds strictly, offline, and renders whatever policy it is given."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import yaml

from home_visits.handbook import LIST_TITLES, PAGES, page_of, render_items, section_items, section_names, tier_lines
from home_visits.policy import DEFAULT_POLICY, Policy, load_policy
from home_visits.policy.schema import Guidance

ROOT = Path(__file__).resolve().parents[1]
NEW_REASON = "holiday-club-invite"
NEW_TITLE = "Off school with no word from home"
CHANGED_GRACE = 25


def run_build(out: Path, policy: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` into ``out``, from the default policy or ``policy``."""
    env = {k: v for k, v in os.environ.items() if k != "HOME_VISITS_POLICY"}
    env["NO_MKDOCS_2_WARNING"] = "1"
    if policy:
        env["HOME_VISITS_POLICY"] = str(policy)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def build(out: Path, policy: Path | None = None) -> Path:
    result = run_build(out, policy)
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def page(site: Path, name: str) -> str:
    return (site / f"{name}.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and entities decoded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def changed_policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A school file that extends the default: other grace minutes, a renamed reason and a new one."""
    reasons = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))["reasons"]
    reasons[1]["title"] = NEW_TITLE
    reasons.append({"id": NEW_REASON, "title": "Holiday club invitation", "text": "Asking the family to the club."})
    route = {"who": "the designated safeguarding lead", "approvers": ["dsl"], "reasons": ["signs-of-distress"],
             "risk_factors": ["any"]}
    data = {"extends": "default", "rules": {"grace_minutes": CHANGED_GRACE, "routes": [route]}, "reasons": reasons}
    path = tmp_path_factory.mktemp("policy") / "school.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def changed_site(tmp_path_factory: pytest.TempPathFactory, changed_policy_file: Path) -> Path:
    return build(tmp_path_factory.mktemp("changed"), changed_policy_file)


# --- the page <-> section mapping ---------------------------------------------------------------


def test_every_policy_list_has_exactly_one_page() -> None:
    expected = {"reasons", "alternatives", "risk_factors", "procedure", "code_word", *Guidance.model_fields}
    assert sorted(section_names()) == sorted(expected)
    policy = load_policy()
    assert sum(len(section_items(policy, name)) for name in section_names()) == len(policy.all_items())


def test_every_mapped_page_is_in_the_handbook() -> None:
    assert {p.stem for p in (ROOT / "handbook").glob("*.md")} == set(PAGES)
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert all(f"{name}.md" in nav for name in PAGES)


# --- the default build --------------------------------------------------------------------------


def test_every_item_id_is_an_anchor_on_its_page(site: Path) -> None:
    policy = load_policy()
    for name in section_names():
        html = page(site, page_of(name))
        for item in section_items(policy, name):
            assert html.count(f'id="{item.id}"') == 1, (name, item.id)


def test_pages_show_the_policy_text(site: Path) -> None:
    policy = load_policy()
    for name in section_names():
        text = text_of(page(site, page_of(name)))
        for item in section_items(policy, name):
            assert item.title in text and item.text in text, item.id
        if name not in LIST_TITLES:
            assert getattr(policy.guidance, name).title in text


def test_before_page_is_a_tick_list(site: Path) -> None:
    html = page(site, "before")
    policy = load_policy()
    ticks = len(policy.guidance.before.items) + len(policy.guidance.take.items)
    assert html.count('class="task-list-item"') == ticks
    assert html.count("required on the plan") >= sum(item.required for item in policy.guidance.before.items)


def test_printable_checklist_gathers_the_lists(site: Path) -> None:
    html = page(site, "printable-checklist")
    guidance = load_policy().guidance
    items = [*guidance.before.items, *guidance.take.items, *guidance.arriving.items, *guidance.after.items]
    assert html.count('class="task-list-item"') == len(items)
    text = text_of(html)
    assert all(item.title in text for item in items)
    assert "stylesheets/print.css" in html


def test_rules_are_rendered_from_the_policy(site: Path) -> None:
    text = text_of(page(site, "filing-a-plan"))
    assert "Two staff are required when: on your first visit inside a home" in text
    assert "on an early-morning visit (before 07:30)" in text
    assert "when the risk assessment identifies a risk" in text
    assert "on an evening visit (after 17:00)" in text
    assert "starts at or after 17:00, or is expected to end after 17:00, is an evening visit" in text
    assert "checked in 15 minutes after your expected return" in text
    assert "As soon as the visit is overdue (15 minutes after the expected return): the responsible contact" in text
    assert "30 minutes after it became overdue (45 minutes after the expected return): the senior leaders" in text
    assert "when the office closes at 17:30" in text
    assert "Public transport must not be used" in text
    html = page(site, "filing-a-plan")
    ids = [item.id for item in load_policy().escalation.procedure]
    positions = [html.index(f'id="{item_id}"') for item_id in ids]
    assert positions == sorted(positions)


def test_index_says_alerts_are_no_substitute_for_999(site: Path) -> None:
    text = text_of(page(site, "index"))
    assert "no substitute for 999 or an accredited lone-worker service" in text
    assert load_policy().version in text


def test_calendar_page_gives_both_links_and_revocation(site: Path) -> None:
    text = text_of(page(site, "slt-calendar"))
    for needle in ("webcal", "https", "Subscribe from web", "From URL", "New Calendar Subscription", "revoke"):
        assert needle in text


def test_no_request_goes_to_a_third_party_host(site: Path) -> None:
    pattern = re.compile(r"""(?:src|href|srcset|action|content)\s*=\s*["']\s*((?:https?:)?//[^"']*)""", re.I)
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        assert not pattern.findall(html), (html_file.name, pattern.findall(html))
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css.read_text(encoding="utf-8")), css.name
    assert (site / "javascripts" / "iframe-worker" / "shim.js").is_file()


# --- a school's own policy ----------------------------------------------------------------------


def test_changed_policy_changes_the_handbook(site: Path, changed_site: Path) -> None:
    old_title = load_policy().reasons[1].title
    new = text_of(page(changed_site, "right-step"))
    assert NEW_TITLE in new and old_title not in new
    assert f'id="{NEW_REASON}"' in page(changed_site, "right-step")
    assert f'id="{NEW_REASON}"' not in page(site, "right-step")
    rules = text_of(page(changed_site, "filing-a-plan"))
    assert f"checked in {CHANGED_GRACE} minutes after" in rules
    assert f"30 minutes after it became overdue ({CHANGED_GRACE + 30} minutes after the expected return)" in rules
    assert NEW_TITLE in text_of(page(changed_site, "attendance"))
    distress = load_policy().reason("signs-of-distress")
    assert distress is not None
    routed = (f"Plans for {distress.title.lower()} or with any risk factor ticked are asked of the designated "
              "safeguarding lead first.")
    for name in ("before", "filing-a-plan"):
        assert routed in text_of(page(changed_site, name)), name
        shipped = text_of(page(site, name))  # the shipped route: the DSL, for distress and child protection
        assert routed not in shipped and f"Plans for {distress.title.lower()} or with " in shipped, name
        assert "are asked of the designated safeguarding lead first" in shipped, name


def test_changed_policy_items_all_anchored(changed_site: Path, changed_policy_file: Path) -> None:
    policy = load_policy(changed_policy_file)
    for name in section_names():
        html = page(changed_site, page_of(name))
        assert all(f'id="{item.id}"' in html for item in section_items(policy, name))


def test_broken_policy_stops_the_build_with_its_message(tmp_path: Path) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text("extends: default\nrules:\n  grace_minutes: soon\n", encoding="utf-8")
    result = run_build(tmp_path / "out", policy)
    assert result.returncode != 0
    assert f"{policy}, line 3: rules.grace_minutes" in result.stderr
    assert "Traceback" not in result.stderr


# --- the rendering helpers ----------------------------------------------------------------------


def test_render_items_escapes_and_anchors() -> None:
    policy: Policy = load_policy()
    item = policy.reasons[0].model_copy(update={"title": "Tom & Jerry <script>", "text": "A < B"})
    html = render_items([item])
    assert f'id="{item.id}"' in html and "<script>" not in html and "Tom &amp; Jerry" in html
    assert 'id="' not in render_items([item], anchor=False)


def test_tier_lines_add_the_grace_minutes() -> None:
    lines = tier_lines(load_policy())
    assert lines[0].startswith("- **As soon as the visit is overdue** (15 minutes")
    assert "the senior leaders who authorise visits and the second member of staff" in lines[1]
