"""Search as you type at reception: results follow the typing, and an older text's results never come back over
a newer one's (NiceGUI's simulated user; the browser's debounce is the field's prop, not simulated here)."""
import asyncio
from datetime import date

import pytest
from nicegui import ui
from nicegui.testing import User

from services import patients
from services.core.db import get_db
from services.patients import PatientInput
from tests.conftest import RETRIES
from tests.pages.reception.helpers import signed_in_clinic


@pytest.fixture
def queries(monkeypatch):
    """Every search the page makes, with how many ran at once; a search for a text in ``slow`` takes 0.3 s."""
    record = {'texts': [], 'running': 0, 'most_running': 0, 'slow': set()}
    search = patients.search

    async def watched(session, actor, text, **kwargs):
        record['texts'].append(text)
        record['running'] += 1
        record['most_running'] = max(record['most_running'], record['running'])
        try:
            if text in record['slow']:
                await asyncio.sleep(0.3)
            return await search(session, actor, text, **kwargs)
        finally:
            record['running'] -= 1

    monkeypatch.setattr(patients, 'search', watched)
    return record


def hits_shown(user: User) -> list[str]:
    """The names in the result list, top to bottom."""
    hits = sorted(user.find(marker='patient-hit').elements, key=lambda hit: hit.id)
    return [next(label for label in hit.descendants() if isinstance(label, ui.item_label)).text for hit in hits]


async def test_typing_fast_shows_the_last_texts_results_with_one_query_at_a_time(user: User, queries):
    await signed_in_clinic(user)
    field = user.find(marker='patient-search')
    for letter in 'van duc':  # faster than any query: each letter reaches the server before the last one answered
        field.type(letter)
    await user.should_see('Phạm Văn Đức', retries=RETRIES)
    await asyncio.sleep(0.2)
    await user.should_not_see('Nguyễn Văn An')
    assert queries['texts'][-1] == 'van duc'
    assert len(queries['texts']) <= 3  # not one per letter
    assert queries['most_running'] == 1


async def test_a_slow_answer_for_an_older_text_never_replaces_the_newer_results(user: User, queries):
    await signed_in_clinic(user)
    queries['slow'].add('van')
    field = user.find(marker='patient-search')
    field.type('van')  # finds Nguyễn Văn An and Phạm Văn Đức, in 0.3 s
    await asyncio.sleep(0.05)
    field.type(' duc')  # only Phạm Văn Đức
    await asyncio.sleep(0.5)
    await user.should_see('Phạm Văn Đức', retries=RETRIES)
    await user.should_not_see('Nguyễn Văn An')
    assert queries['texts'] == ['van', 'van duc']
    assert queries['most_running'] == 1


async def test_emptying_the_field_while_a_search_runs_leaves_no_results(user: User, queries):
    await signed_in_clinic(user)
    queries['slow'].add('van')
    field = user.find(marker='patient-search')
    field.type('van')
    await asyncio.sleep(0.05)
    field.clear()
    await asyncio.sleep(0.5)
    await user.should_not_see('Nguyễn Văn An')
    await user.should_not_see(marker='patient-hit')


async def test_percent_typed_is_a_character_and_names_starting_with_the_text_come_first(user: User):
    clinic = await signed_in_clinic(user)
    async with get_db().write() as session:
        await patients.create(session, clinic.reception, PatientInput(full_name='Văn Thị Mai', phone='0977 000 111'),
                              today=date(2026, 11, 23))
    field = user.find(marker='patient-search')
    field.type('%n')  # not "any text, then n"
    await user.should_see('No patient found. Check the spelling, or register a new patient.', retries=RETRIES)
    await user.should_not_see(marker='patient-hit')
    field.clear().type('van')
    await user.should_see('Phạm Văn Đức', retries=RETRIES)
    assert hits_shown(user) == ['Văn Thị Mai', 'Nguyễn Văn An', 'Phạm Văn Đức']


async def test_a_new_text_changes_the_hits_in_place_and_a_click_picks_the_patient_now_shown(user: User):
    """Each keystroke rewrites the rows already drawn (no list built again); a row shows, and picks, its new
    patient."""
    clinic = await signed_in_clinic(user)
    field = user.find(marker='patient-search')
    field.type('van')
    await user.should_see('Phạm Văn Đức', retries=RETRIES)
    rows_before = sorted(user.find(marker='patient-hit').elements, key=lambda hit: hit.id)
    field.clear().type('duc')
    for _ in range(RETRIES):  # (cleared, the list hides until the new text's hits come)
        if user._sees(None, None, 'patient-hit', None) and hits_shown(user) == ['Phạm Văn Đức']:
            break
        await asyncio.sleep(0.1)
    assert hits_shown(user) == ['Phạm Văn Đức']
    assert user.find(marker='patient-hit').elements == {rows_before[0]}  # the same row, its texts changed
    async with get_db().read() as session:
        duc = (await patients.search(session, clinic.reception, 'pham van duc'))[0]
    user.find(marker='patient-hit').click()
    for _ in range(RETRIES):
        if user.back_history[-1] == f'/reception/patients/{duc.id}':
            break
        await asyncio.sleep(0.1)
    assert user.back_history[-1] == f'/reception/patients/{duc.id}'
