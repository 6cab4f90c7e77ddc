"""Reception's desk: find or register a patient, walk-ins, and today's appointments with check-in, tickets,
reschedule, cancel and "did not come"; details typed online that wait to be checked; where everyone is."""
from __future__ import annotations

from datetime import date
from html import escape

from nicegui import ui

from clinic_ui import appointment_rows
from clinic_ui.live import subscribe
from clinic_ui.pickers import patient_search
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import data_table, on_row, section_title, staff_action, staff_read
from models.types import utcnow
from services import booking, checkin, clinic_settings, patients
from services.access import Actor
from services.core import i18n
from services.core.clock import local_today
from services.core.events import AppointmentChanged, PatientChanged
from services.core.i18n import _

from . import dialogs
from .places import WhereIsEveryone
from .tickets import ticket_url

ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn v-if="props.row.can_check_in" unelevated dense no-caps color="primary" label="{check_in}" class="q-px-sm"
         @click="$parent.$emit('check_in', props.row.id)" />
  <q-btn v-if="props.row.checked_in" flat dense no-caps color="primary" icon="print" label="{ticket}"
         @click="$parent.$emit('ticket', props.row.id)" />
  <q-btn v-if="props.row.can_change" flat dense round icon="more_vert" aria-label="{more}">
    <q-menu auto-close>
      <q-list style="min-width: 11rem">
        <q-item clickable @click="$parent.$emit('reschedule', props.row.id)"><q-item-section>{reschedule}</q-item-section></q-item>
        <q-item clickable @click="$parent.$emit('cancel', props.row.id)"><q-item-section>{cancel}</q-item-section></q-item>
        <q-item clickable @click="$parent.$emit('no_show', props.row.id)"><q-item-section>{no_show}</q-item-section></q-item>
      </q-list>
    </q-menu>
  </q-btn>
</q-td>
'''




def actions_slot() -> str:
    """The buttons of an appointment row, in the reader's language."""
    texts = {'check_in': _('Check in'), 'ticket': _('Ticket'), 'more': _('More'), 'reschedule': _('Reschedule'),
             'cancel': _('Cancel…'), 'no_show': _('Did not come')}
    return ACTIONS_SLOT.format(**{key: escape(text) for key, text in texts.items()})


@staff_page(RECEPTION)
async def reception_page(actor: Actor):
    today = local_today(clinic_settings.current().tz)
    FrontDesk(actor, today)
    title = day_heading(today)
    to_check = ChangesToCheck(actor)
    appointments = TodaysAppointments(actor, title)
    places = WhereIsEveryone(actor, today)
    await appointments.refresh()
    await to_check.refresh()
    await places.refresh()
    subscribe(AppointmentChanged, appointments.refresh)
    subscribe(PatientChanged, to_check.refresh)


class FrontDesk:
    """Find a patient as you type (and open their page), register a new one, or give a walk-in a ticket."""

    def __init__(self, actor: Actor, today: date) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-start gap-3'):
            with ui.column().classes('grow min-w-[18rem] gap-1'):
                patient_search(actor, self.open_patient, today=today, autofocus=True)
            with ui.row().classes('gap-2'):
                ui.button(_('New patient'), icon='person_add', on_click=self.register) \
                    .props('unelevated no-caps size=lg').mark('new-patient')
                ui.button(_('Walk-in'), icon='directions_walk', on_click=self.walk_in) \
                    .props('outline no-caps size=lg').mark('walk-in')

    def open_patient(self, hit: patients.PatientHit) -> None:
        ui.navigate.to(f'/reception/patients/{hit.id}')

    def register(self) -> None:
        ui.navigate.to('/reception/patients/new')

    async def walk_in(self) -> None:
        await dialogs.open_walk_in(self.actor)


def day_heading(today: date) -> ui.label:
    """The day, and the ways to the other reception screens; returns the title that counts the appointments."""
    with ui.row().classes('w-full items-baseline justify-between'):
        title = section_title(_("Today's appointments"))
        with ui.row().classes('items-baseline gap-4'):
            ui.label(i18n.day(today, 'full')).classes('text-slate-600')
            ui.link(_('All appointments'), '/reception/appointments')
            ui.link(_('Queues'), '/reception/queues')
            ui.link(_('Outbox: emails, SMS, Zalo'), '/outbox')
    return title


class ChangesToCheck:
    """Details typed on the booking page wait for reception: how many, and whose pages to open."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.row = ui.row().classes('w-full items-baseline gap-x-3 gap-y-0 rounded bg-amber-50 px-3 py-1') \
            .mark('changes-to-check')

    async def refresh(self) -> None:
        answer = await staff_read(lambda s: patients.patients_with_pending_changes(s, self.actor, limit=5),
                                  touch=False)
        if answer is not None:
            self.show(*answer)

    def show(self, total: int, people: list[patients.PatientWithChanges]) -> None:
        self.row.clear()
        self.row.visible = total > 0
        with self.row:
            ui.label(_('Details typed online to check: {count}').format(count=total)).classes('font-medium')
            for person in people:
                ui.link(f'{person.full_name} · {person.code}', f'/reception/patients/{person.patient_id}')


class TodaysAppointments:
    """Today's appointments, live, each with what reception does to it."""

    def __init__(self, actor: Actor, title: ui.label) -> None:
        self.actor, self.title = actor, title
        columns = [*appointment_rows.columns(), {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False}]
        self.table = data_table(columns, [], empty=_('No appointments today.'), mark='appointments')
        self.table.add_slot('body-cell-actions', actions_slot())
        on_row(self.table, 'check_in', self.check_in)
        on_row(self.table, 'ticket', self.print_ticket)
        on_row(self.table, 'reschedule', self.reschedule)
        on_row(self.table, 'cancel', self.cancel)
        on_row(self.table, 'no_show', self.mark_no_show)

    async def refresh(self) -> None:
        self.show(await appointment_rows.todays_rows(self.actor))

    def show(self, rows: list[dict]) -> None:
        self.title.set_text(_("Today's appointments ({count})").format(count=len(rows)))
        if rows != self.table.rows:
            self.table.rows = rows

    async def check_in(self, row: dict) -> None:
        await dialogs.open_check_in(self.actor, row['id'])

    async def print_ticket(self, row: dict) -> None:
        visit_id = await staff_read(lambda s: checkin.visit_of_appointment(s, self.actor, row['id']))
        if visit_id is not None:
            ui.navigate.to(ticket_url(visit_id), new_tab=True)

    async def reschedule(self, row: dict) -> None:
        await dialogs.open_reschedule(self.actor, row['id'])

    def cancel(self, row: dict) -> None:
        dialogs.open_cancel(self.actor, row['id'], row['patient_name'])

    async def mark_no_show(self, row: dict) -> None:
        await staff_action(lambda s: booking.mark_no_show(s, self.actor, row['id'], now=utcnow()),
                           success=_('{name} marked as not come.').format(name=row['patient_name']))
