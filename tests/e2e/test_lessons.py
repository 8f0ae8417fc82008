"""The course's lessons in the page (issue 15): the header's Lessons menu lists every lesson by
chapter; one click opens its set-up in the right mode (compare mode for a two-part 2-D lesson)
with its explanation; when its epochs are trained the page shows the figure the library
measured beside the claim, in the page's language. Every lesson and every part trains here
for one epoch (the page's quick look, `nnplay.lessons.epochs`); two lessons train their full
epochs and their claims hold; a subset runs in Korean too. One server for the module."""
from __future__ import annotations

import pytest
from helpers import PAGE_WAIT, page_lang
from helpers import page_open_lesson as open_lesson

from nnplay import lessons

pytestmark = pytest.mark.e2e

ALL = lessons.all_lessons()
MODES = ("2d", "image", "sequence", "generative")


def train_until_measured(pg, parts: list[int]) -> list[float]:
    """Press play; -> each part's measured value, once the page shows it."""
    for i in parts:   # every part that is loaded waits for its epochs
        pg.get_by_test_id(f"lesson-waiting-{i}").wait_for(timeout=PAGE_WAIT)
    pg.wait_for_function("() => nnplay.sessions.every((s) => s.info && s.spec && !s.pending)", timeout=PAGE_WAIT)
    pg.get_by_test_id("play").click()
    values = []
    for i in parts:
        shown = pg.get_by_test_id(f"lesson-measured-{i}")
        shown.wait_for(timeout=120_000)
        values.append(float(shown.get_attribute("data-value")))
    return values


def loaded_parts(pg) -> list[int]:
    return pg.evaluate("nnplay.sessions.map((s) => s.lessonPart)")


def test_every_lesson_opens_trains_and_shows_its_measured_claim(page):
    """Each lesson from the menu, one epoch a part, every part (the ones not opened at first
    through their Open button): the mode is the part's, the figure the server measured."""
    menu = page.get_by_test_id("lessons-menu")
    page.get_by_test_id("lessons").click()
    assert menu.is_visible()
    items = menu.locator(".lesson-item")
    assert items.count() == len(ALL)
    assert items.all_inner_texts() == [s.title.en for s in ALL]   # in the course's order
    page.mouse.click(5, 880)          # a click elsewhere closes the menu
    assert not menu.is_visible()
    for lesson in ALL:
        open_lesson(page, lesson.id, epochs=1)
        assert page.get_by_test_id("lesson-title").inner_text() == lesson.title.en
        assert page.get_by_test_id("lesson-text").inner_text() == lesson.text.en
        assert page.get_by_test_id("lesson-claim").inner_text() == lesson.claim.en
        expected = [0, 1] if lesson.compare else [0]
        page.wait_for_function(f"() => nnplay.sessions.length === {len(expected)}", timeout=PAGE_WAIT)
        assert loaded_parts(page) == expected
        values = train_until_measured(page, expected)
        for i in range(len(expected), len(lesson.parts)):   # the remaining parts, one by one
            page.get_by_test_id(f"lesson-open-{i}").click()
            values += train_until_measured(page, [i])
        assert len(values) == len(lesson.parts)
        text = page.get_by_test_id("lesson-measured-0").inner_text()
        assert "measured" in text and "after 1 of the lesson's" in text, text
        mode = page.evaluate("nnplay.sessions[0].info.mode")
        assert mode in MODES and page.evaluate("document.body.dataset.mode") == mode
        spec = page.evaluate("nnplay.sessions[0].spec")
        assert spec["train"]["epochs"] == 1 and spec["data"]["name"] == lesson.spec(loaded_parts(page)[0]).data.name


@pytest.mark.parametrize("lesson_id", ["xor", "vanishing_gradient"])
def test_a_lesson_at_its_own_epochs_shows_its_claim_holds(page, lesson_id):
    lesson = lessons.lesson(lesson_id)
    open_lesson(page, lesson_id, epochs=None)
    assert page.evaluate("document.body.classList.contains('comparing')")
    values = train_until_measured(page, [0, 1])
    for i, (part, value) in enumerate(zip(lesson.parts, values)):
        assert part.holds(value), (part, value)
        shown = page.get_by_test_id(f"lesson-measured-{i}")
        assert "holds" in shown.inner_text() and "after" not in shown.inner_text()
    epochs = page.evaluate("nnplay.sessions.map((s) => s.frame.header.epoch)")
    assert epochs == [lesson.spec(0).train.epochs] * 2   # each paused at the lesson's end


def test_every_lesson_reads_in_korean(page):
    """The menu, and each lesson's title, text, claim and part labels, in Korean (those four
    also train and show their measured figure in Korean, below)."""
    page_lang(page, "ko")
    page.get_by_test_id("lessons").click()
    items = page.get_by_test_id("lessons-menu").locator(".lesson-item")
    assert items.all_inner_texts() == [s.title.ko for s in ALL]
    page.mouse.click(5, 880)
    for lesson in ALL:
        open_lesson(page, lesson.id, epochs=1)
        assert page.get_by_test_id("lesson-title").inner_text() == lesson.title.ko
        assert page.get_by_test_id("lesson-text").inner_text() == lesson.text.ko
        assert page.get_by_test_id("lesson-claim").inner_text() == lesson.claim.ko
        for i, part in enumerate(lesson.parts):
            assert part.label.ko in page.get_by_test_id(f"lesson-part-{i}").inner_text()


@pytest.mark.parametrize("lesson_id", ["xor", "digits_cnn", "adding_problem", "vae"])
def test_lessons_in_korean(page, lesson_id):
    """2-D (compare), image, sequences and generative lessons, read and measured in Korean."""
    lesson = lessons.lesson(lesson_id)
    page_lang(page, "ko")
    assert page.get_by_test_id("lessons").inner_text() == "수업"
    open_lesson(page, lesson_id, epochs=1)
    assert page.get_by_test_id("lesson-title").inner_text() == lesson.title.ko
    assert page.get_by_test_id("lesson-text").inner_text() == lesson.text.ko
    assert page.get_by_test_id("lesson-claim").inner_text() == lesson.claim.ko
    parts = [0, 1] if lesson.compare else [0]
    train_until_measured(page, parts)
    text = page.get_by_test_id("lesson-measured-0").inner_text()
    assert "측정값" in text and "에포크 중 1 에포크 뒤" in text, text
    assert lesson.parts[0].label.ko in page.get_by_test_id("lesson-part-0").inner_text()
    page_lang(page, "en")                 # the open lesson follows the language
    assert page.get_by_test_id("lesson-title").inner_text() == lesson.title.en
    assert "measured" in page.get_by_test_id("lesson-measured-0").inner_text()


def test_a_lesson_link_reopens_the_lesson(page):
    open_lesson(page, "dropout", epochs=None)
    page.wait_for_function("() => location.hash.includes('~lesson=dropout')", timeout=PAGE_WAIT)
    page.reload()
    page.get_by_test_id("lesson-panel").wait_for(state="visible", timeout=PAGE_WAIT)
    assert page.get_by_test_id("lesson-title").inner_text() == lessons.lesson("dropout").title.en
    page.wait_for_function("() => nnplay.sessions.length === 2 && nnplay.sessions.every((s) => s.spec)", timeout=PAGE_WAIT)
    specs = page.evaluate("nnplay.sessions.map((s) => s.spec)")
    assert specs == [lessons.lesson("dropout").spec(i).to_dict() for i in (0, 1)]
    page.get_by_test_id("lesson-close").click()
    assert "~lesson" not in page.evaluate("location.hash")


def test_leaving_a_lesson_and_switching_mode(page):
    open_lesson(page, "digits_cnn", epochs=1)
    page.wait_for_function("() => nnplay.sessions[0].info.mode === 'image'", timeout=PAGE_WAIT)
    page.get_by_test_id("mode-2d").click()          # another mode leaves the lesson
    assert not page.get_by_test_id("lesson-panel").is_visible()
    page.wait_for_function("() => nnplay.sessions[0].info.mode === '2d'", timeout=PAGE_WAIT)
    open_lesson(page, "spiral", epochs=1)
    page.get_by_test_id("lesson-close").click()
    assert not page.get_by_test_id("lesson-panel").is_visible()
    assert page.evaluate("nnplay.lessons.current") is None


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_screenshots_of_the_menu_and_a_lesson(page, shot, lang):
    page_lang(page, lang)
    page.get_by_test_id("lessons").click()
    shot(page, f"lessons-menu-{lang}")
    page.mouse.click(5, 880)
    open_lesson(page, "vanishing_gradient", epochs=None)
    train_until_measured(page, [0, 1])
    shot(page, f"lesson-vanishing-{lang}")
