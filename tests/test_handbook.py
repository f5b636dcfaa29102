"""The MkDocs handbook: it builds strictly, offline, and renders whatever policy it is given."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from html import unescape
from pathlib import Path

import pytest
import yaml

from home_visits.handbook import (
    LIST_TITLES,
    PAGES,
    page_of,
    render_items,
    review_line,
    section_items,
    section_names,
    stop_card,
    tier_lines,
)
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


def test_before_pages_are_tick_lists(site: Path) -> None:
    guidance = load_policy().guidance
    for name, section in (("before", guidance.before), ("what-to-take", guidance.take)):
        html = page(site, name)
        assert html.count('class="task-list-item"') == len(section.items), name
    required = sum(item.required for item in guidance.before.items)
    assert page(site, "before").count('<span class="hv-required">required</span>') == required


def test_printable_sheet_gathers_the_stop_card_the_if_lines_and_what_to_take(site: Path) -> None:
    html = page(site, "printable-checklist")
    guidance = load_policy().guidance
    assert html.count('class="task-list-item"') == len(guidance.take.items)
    text = text_of(html)
    assert all(item.title in text for item in guidance.take.items)
    assert "stylesheets/print.css" in html
    assert 'id="' + guidance.take.items[0].id + '"' not in html  # the anchors stay on the item's own page


def test_rules_are_rendered_from_the_policy(site: Path) -> None:
    text = " ".join(text_of(page(site, name)) for name in ("filing-a-plan", "who-goes", "overdue", "getting-there"))
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
    html = page(site, "overdue")
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
    rules = text_of(page(changed_site, "overdue"))
    assert f"checked in {CHANGED_GRACE} minutes after" in rules
    assert f"30 minutes after it became overdue ({CHANGED_GRACE + 30} minutes after the expected return)" in rules
    assert NEW_TITLE in text_of(page(changed_site, "attendance"))
    distress = load_policy().reason("signs-of-distress")
    assert distress is not None
    routed = (f"Plans for {distress.title.lower()} or with any risk factor ticked are asked of the designated "
              "safeguarding lead first.")
    for name in ("filing-a-plan",):
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


# --- the handbook on a phone (issue 17) ---------------------------------------------------------

#: Words a handbook page may carry in its main content (the article: no navigation, no footer).
PAGE_WORDS = 600
#: "Before you go" is read the night before on a phone: its pages stay shorter still.
BEFORE_PAGES = ("before", "who-goes", "what-to-take")
BEFORE_WORDS = 420


def main_html(html: str) -> str:
    """The page's main content: the article, without the permalink anchors."""
    match = re.search(r'<article class="md-content__inner md-typeset">(.*?)</article>', html, re.S)
    assert match, "no article in the page"
    return re.sub(r'<a class="headerlink".*?</a>', " ", match[1], flags=re.S)


def words(html: str) -> int:
    return len(re.findall(r"[\w'\u2019-]+", text_of(main_html(html))))


def nav_pages() -> list[str]:
    """The pages of mkdocs.yml's nav, in order (file stems)."""

    def walk(entries: object) -> list[str]:
        out: list[str] = []
        for entry in entries if isinstance(entries, list) else [entries]:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            out += walk(value) if isinstance(value, list) else [Path(str(value)).stem]
        return out

    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    return walk(config["nav"])


def boxes(html: str) -> list[tuple[str, str]]:
    """(title, text) of each admonition in the page's main content."""
    found = re.findall(r'<div class="admonition[^"]*">\s*<p class="admonition-title">(.*?)</p>(.*?)</div>',
                       main_html(html), re.S)
    return [(text_of(title).strip(), text_of(body).strip()) for title, body in found]


def test_every_page_fits_a_phone(site: Path) -> None:
    counts = {name.stem: words(name.read_text(encoding="utf-8")) for name in site.glob("*.html")
              if name.stem != "404"}
    too_long = {name: n for name, n in counts.items() if n > PAGE_WORDS}
    assert not too_long, too_long
    assert all(name in counts for name in BEFORE_PAGES), sorted(counts)
    assert {name: counts[name] for name in BEFORE_PAGES if counts[name] > BEFORE_WORDS} == {}


def test_navigation_follows_the_overview(site: Path) -> None:
    steps_html = re.search(r"<ol>(.*?)</ol>", main_html(page(site, "index")), re.S)
    assert steps_html, "the overview has no numbered steps"
    steps: list[str] = []
    for href in re.findall(r'href="([\w-]+)\.html', steps_html[1]):
        if href not in steps:
            steps.append(href)
    nav = nav_pages()
    assert nav[0] == "index" and nav[1 : 1 + len(steps)] == steps, (steps, nav)
    assert sorted(nav) == sorted(PAGES), "every page once in the navigation"


def test_no_box_is_repeated_on_another_page(site: Path) -> None:
    seen: dict[str, str] = {}
    for name in PAGES:
        if name == "printable-checklist":  # the sheet gathers the stop card by design
            continue
        for title, body in boxes(page(site, name)):
            for key in (title, body):
                assert key not in seen or seen[key] == name, (key, seen.get(key), name)
                seen[key] = name


def test_no_page_repeats_its_title_as_a_heading(site: Path) -> None:
    for name in PAGES:
        html = main_html(page(site, name))
        h1 = text_of(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)[1]).strip()  # type: ignore[index]
        others = [text_of(h).strip() for h in re.findall(r"<h[2-6][^>]*>(.*?)</h[2-6]>", html, re.S)]
        assert h1 not in others, name


def _stop_card(html: str) -> str:
    match = re.search(r'<div class="admonition danger hv-stop"[^>]*>(.*?)</div>', main_html(html), re.S)
    assert match, "no stop card"
    return text_of(match[1])


def test_the_stop_card_tops_arriving_and_the_printable(site: Path) -> None:
    policy = load_policy()
    stop = policy.guidance.stop
    assert stop is not None and policy.school.office_phone and policy.rules.code_word
    for name in ("arriving", "printable-checklist"):
        html = main_html(page(site, name))
        assert html.index("hv-stop") < html.index("<h2"), f"the stop card is not at the top of {name}"
        card = _stop_card(page(site, name))
        for item in stop.items:
            assert item.text in card, (name, item.id)
        assert "999" in card and policy.school.office_phone in card, name
        assert f"\u201c{policy.rules.code_word.phrase}\u201d" in card, name
        assert "police" in card and "do not go in" in card.lower(), name
    assert 'href="tel:01632960000"' in page(site, "arriving")


def test_the_printable_says_what_to_do_not_just_titles(site: Path) -> None:
    policy = load_policy()
    text = text_of(main_html(page(site, "printable-checklist")))
    lines = [item for item in policy.all_items() if item.when]
    assert len(lines) >= 8
    for item in lines:
        assert f"If {item.when}: {item.text}" in text, item.id
    sections = {name for name in section_names() for item in section_items(policy, name) if item.when}
    assert {"aggression", "children_alone"} <= sections
    assert f"{policy.rules.grace_minutes} minutes after your expected return" in text


def test_a_one_makes_no_plurals(tmp_path: Path) -> None:
    policy = tmp_path / "ones.yaml"
    policy.write_text(
        "extends: default\nrules:\n  grace_minutes: 1\n  reminder_window_days: 1\n  retention_years: 1\n"
        "escalation:\n  tiers:\n    - {after_minutes: 0, notify: [office]}\n"
        "    - {after_minutes: 1, notify: [approvers]}\n",
        encoding="utf-8",
    )
    site = build(tmp_path / "ones", policy)
    text = " ".join(text_of(main_html(page(site, name))) for name in PAGES)
    assert not re.findall(r"\b1 (?:minutes|years|days|school days)\b", text)
    assert "1 minute after your expected return" in text and "1 year" in text


def test_the_policy_review_date_is_shown(site: Path) -> None:
    policy = load_policy()
    assert policy.review_by is not None
    assert f"{policy.review_by:%-d %B %Y}" in text_of(main_html(page(site, "index")))


def test_the_seed_points_are_carried() -> None:
    policy = load_policy()
    before = {item.id: item for item in policy.guidance.before.items}
    for item_id in ("before-five-steps", "before-confidentiality", "before-lone-working", "before-pupil-resources",
                    "before-leave-behind"):
        assert item_id in before and not before[item_id].required, item_id
    assert "arrive-comfort" in {item.id for item in policy.guidance.arriving.items}


def test_an_overdue_review_is_said_plainly() -> None:
    policy = load_policy()
    assert policy.review_by is not None
    assert "Next review due by" in review_line(policy, today=policy.review_by)
    late = review_line(policy, today=date(policy.review_by.year + 1, 1, 1))
    assert "was due for review by" in late and "ask whoever maintains it" in late


def test_the_stop_card_without_the_optional_parts() -> None:
    policy = load_policy()
    bare = policy.model_copy(update={
        "school": policy.school.model_copy(update={"office_phone": None}),
        "rules": policy.rules.model_copy(update={"code_word": None}),
        "guidance": policy.guidance.model_copy(update={"stop": None}),
    })
    card = stop_card(bare)
    assert "Call 999" in card and "The office" not in card and "cannot say so" not in card
    no_phrase = policy.model_copy(update={"rules": policy.rules.model_copy(
        update={"code_word": policy.rules.code_word.model_copy(update={"phrase": None})})})  # type: ignore[union-attr]
    assert 'href="things-go-wrong.html#code-word"' in stop_card(no_phrase)


def test_the_schools_choice_of_joint_or_lone_visits_is_stated_plainly() -> None:
    from home_visits.handbook.texts import two_staff_lines

    policy = load_policy()
    default = " ".join(two_staff_lines(policy))
    assert "This school allows a lone visit" in default and "written reason" in default
    always = policy.model_copy(update={"rules": policy.rules.model_copy(update={"two_staff": ["always"]})})
    joint = " ".join(two_staff_lines(always))
    assert "This school's choice: every home visit is a joint visit" in joint
    assert "lone visit" not in joint and "Two staff are required when" not in joint


def test_the_rules_the_school_chose_itself_say_so_and_where_to_change_them(site: Path) -> None:
    from home_visits.handbook.texts import choices_table

    table = choices_table(load_policy())
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    for rule, key in (("No lone visit in the evening", "rules.evening"),
                      ("Longest visit", "rules.longest_visit_minutes"),
                      ("The early morning counts as evening", "rules.night.before"),
                      ("Records kept for", "rules.retention_years")):
        assert f"`{key}`" in rows[rule], rows[rule]
    assert "after 17:00" in rows["No lone visit in the evening"] and "120 minutes" in rows["Longest visit"]
    overview = text_of(page(site, "index"))
    assert "The school's choice" in overview and "rules.retention_years" in overview and "7 years" in overview
