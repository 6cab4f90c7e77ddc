"""Where is everyone: each visit of the day with where the patient is now ("At the lab (L-003)", "Back with
Dr. Lan — results ready", "At the cashier", "Done") and what is still open, live."""
from __future__ import annotations

from datetime import date

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.widgets import data_table, section_title, staff_read, translated_columns
from services import visit_path
from services.access import Actor
from services.core.events import BillingChanged, OrdersChanged, QueueChanged, VisitChanged
from services.core.i18n import N_, _

COLUMNS = [
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient'},
    {'name': 'doctor', 'label': N_('Doctor'), 'field': 'doctor'},
    {'name': 'where', 'label': N_('Where'), 'field': 'where'},
    {'name': 'open', 'label': N_('Still open'), 'field': 'open', 'sortable': False},
]


def place_rows(places: list[visit_path.Place]) -> list[dict]:
    return [{'id': p.visit_id, 'patient': f'{p.patient_name} · {p.patient_code}', 'doctor': p.doctor,
             'where': p.where, 'open': ' · '.join(p.open)} for p in places]


class WhereIsEveryone:
    """Today's visits and where each patient is; follows every step of every station."""

    def __init__(self, actor: Actor, today: date) -> None:
        self.actor, self.today = actor, today
        with ui.column().classes('w-full gap-1').mark('places-panel'):
            self.title = section_title(_('Where is everyone'))
            self.table = data_table(translated_columns(COLUMNS), [],
                                    empty=_('Nobody has checked in today.'), mark='places')
        for kind in (VisitChanged, QueueChanged, OrdersChanged, BillingChanged):
            subscribe(kind, self.refresh)

    async def refresh(self) -> None:
        places = await staff_read(lambda s: visit_path.places(s, self.actor, day=self.today), touch=False)
        if places is not None:
            self.show(places)

    def show(self, places: list[visit_path.Place]) -> None:
        under_way = sum(not p.done for p in places)
        self.title.set_text(_('Where is everyone ({under_way} in the clinic, {done} done)').format(
            under_way=under_way, done=len(places) - under_way))
        rows = place_rows(places)
        if rows != self.table.rows:
            self.table.rows = rows
