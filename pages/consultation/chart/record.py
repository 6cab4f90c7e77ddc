"""The consultation record: saved as a draft a moment after each change, the diagnosis coded from ICD-10, signed,
then changed only as amendments with a reason."""
from __future__ import annotations

import asyncio

from nicegui import background_tasks, ui

from clinic_ui.widgets import error_text, section_title, staff_action
from models import RecordStatus
from models.types import utcnow
from services import consultation, icd10
from services.consultation import RecordInput
from services.core.i18n import N_, _

from .dialogs import AmendDialog
from .visit import OpenVisit

AUTOSAVE_DELAY_S = 1.0
VITALS = (('temperature_c', N_('Temp °C')), ('pulse_bpm', N_('Pulse /min')), ('bp_systolic', N_('BP sys')),
          ('bp_diastolic', N_('BP dia')), ('spo2', N_('SpO2 %')), ('weight_kg', N_('Weight kg')),
          ('height_cm', N_('Height cm')))


def signed(chart: consultation.Chart) -> bool:
    return chart.record is not None and chart.record.status == RecordStatus.SIGNED


class CodeField:
    """The ICD-10 code, with codes found as the doctor types (code or words) under it; a pick fills in the code,
    and the diagnosis when it is still empty."""

    def __init__(self, inputs: dict[str, ui.input]) -> None:
        self.inputs = inputs
        with ui.column().classes('gap-1 md:col-span-2'):
            with ui.row().classes('w-full gap-3 no-wrap items-start'):
                inputs['diagnosis_code'] = ui.input(_('ICD-10 code')).props('outlined').classes('w-36 shrink-0') \
                    .mark('diagnosis-code')
                self.search = ui.input(_('Search ICD-10 (code or words)')).props('outlined clearable') \
                    .classes('grow').mark('icd-search')
            self.hits = ui.column().classes('w-full gap-0')
        self.search.on_value_change(self.find)

    def find(self) -> None:
        text = self.search.value or ''
        found = icd10.search(text, limit=8) if len(text.strip()) >= 2 else []
        self.hits.clear()
        with self.hits:
            for hit in found:
                ui.item(hit.label, on_click=lambda h=hit: self.pick(h)).props('clickable dense') \
                    .classes('w-full rounded hover:bg-teal-50').mark('icd-hit')
            if len(text.strip()) >= 2 and not found:
                ui.label(_('No ICD-10 code matches.')).classes('text-sm text-slate-500')

    def pick(self, hit: icd10.Code) -> None:
        self.inputs['diagnosis_code'].set_value(hit.code)
        if not self.inputs['diagnosis'].value:
            self.inputs['diagnosis'].set_value(hit.description)
        self.search.set_value('')
        self.hits.clear()


class RecordPanel:
    """The record form. What is typed is saved as a draft a moment later; what the page loads or a live update
    brings never replaces it (the form is refilled only after signing or amending)."""

    def __init__(self, visit: OpenVisit) -> None:
        self.visit = visit
        self.inputs: dict[str, ui.input] = {}
        self.autosave: asyncio.Task | None = None
        self.filling = False
        with ui.card().classes('w-full gap-3') as self.card:
            with ui.row().classes('w-full items-center justify-between'):
                self.title = section_title(_('Consultation record'))
                self.save_state = ui.label('').classes('text-sm text-slate-500').mark('save-state')
            self._form()
            self.error = error_text()
            with ui.row().classes('gap-2'):
                self.sign_button = ui.button(_('Sign record'), icon='draw', on_click=self.sign) \
                    .props('outline no-caps').mark('sign-record')
                self.amend_button = ui.button(_('Amend…'), icon='edit_note', on_click=self.amend) \
                    .props('outline no-caps').mark('amend')
            self.amendments = ui.column().classes('w-full gap-1')
        self.refill()  # at once: the rest of the page loads with the saved record already in place
        for element in self.inputs.values():
            element.on_value_change(self.changed)

    def _form(self) -> None:
        inputs = self.inputs
        with ui.grid().classes('w-full gap-3 grid-cols-1 md:grid-cols-2'):
            inputs['reason'] = ui.input(_('Reason for visit *')).props('outlined').classes('md:col-span-2') \
                .mark('reason')
            inputs['symptoms'] = ui.textarea(_('Symptoms')).props('outlined autogrow').classes('md:col-span-2') \
                .mark('symptoms')
        ui.label(_('Vitals')).classes('text-sm font-medium text-slate-700')
        # seven in a row only when the record's column is wide enough for their labels (not beside the history on
        # a tablet), whatever the screen
        with ui.element('div').classes('w-full @container'), \
                ui.grid().classes('w-full gap-2 grid-cols-2 @sm:grid-cols-4 @4xl:grid-cols-7'):
            for name, label in VITALS:
                inputs[name] = ui.input(_(label)).props('outlined dense inputmode=decimal').mark(name)
        with ui.grid().classes('w-full gap-3 grid-cols-1 md:grid-cols-2'):
            inputs['preliminary_diagnosis'] = ui.input(_('Preliminary diagnosis')).props('outlined') \
                .classes('md:col-span-2').mark('preliminary')
            self.codes = CodeField(inputs)
            inputs['diagnosis'] = ui.input(_('Final diagnosis')).props('outlined').classes('md:col-span-2') \
                .mark('diagnosis')
            inputs['advice'] = ui.textarea(_('Advice')).props('outlined autogrow').mark('advice')
            inputs['notes'] = ui.textarea(_('Notes')).props('outlined autogrow').mark('notes')

    def typed(self) -> RecordInput:
        return RecordInput(**{name: str(element.value or '') for name, element in self.inputs.items()})

    def refill(self) -> None:
        """The record as last read, and what may be done with it."""
        chart = self.visit.chart
        self.filling = True  # what the form is given is no change to save
        try:
            data = RecordInput.of(chart.record)
            for name, element in self.inputs.items():
                element.set_value(getattr(data, name))
        finally:
            self.filling = False
        self._show_state(chart)
        self._show_amendments(chart.amendments)

    def _show_state(self, chart: consultation.Chart) -> None:
        tz = self.visit.tz
        writable = chart.can_edit and chart.editable and not signed(chart)
        for element in self.inputs.values():
            if writable:
                element.props(remove='readonly')
            else:
                element.props('readonly')
        self.codes.search.set_visibility(writable)
        self.sign_button.set_visibility(writable)
        self.amend_button.set_visibility(chart.can_edit and signed(chart))
        if signed(chart):
            self.title.set_text(_('Consultation record · signed {when}').format(
                when=f'{chart.record.signed_at.astimezone(tz):%d/%m/%Y %H:%M}'))
            self.save_state.set_text(_('Signed: changes only as amendments'))
        elif chart.record is not None:
            self.save_state.set_text(_('Draft saved {time}').format(
                time=f'{chart.record.updated_at.astimezone(tz):%H:%M:%S}'))

    def _show_amendments(self, amendments: list[consultation.AmendmentView]) -> None:
        self.amendments.clear()
        with self.amendments:
            if amendments:
                ui.label(_('Amendments')).classes('text-sm font-medium text-slate-700 mt-2')
            for a in amendments:
                ui.label(f'{a.at.astimezone(self.visit.tz):%d/%m/%Y %H:%M} · {a.by} · {_(a.field)}: "{a.old_value}" → '
                         f'"{a.new_value}" ({a.reason})').classes('text-sm text-slate-600').mark('amendment')

    def changed(self) -> None:
        chart = self.visit.chart
        if self.filling or not chart.editable or not chart.can_edit or signed(chart):
            return
        self.save_state.set_text(_('Saving…'))
        self._cancel_autosave()
        self.autosave = background_tasks.create(self._save_later(), name='chart autosave')

    async def _save_later(self) -> None:
        await asyncio.sleep(AUTOSAVE_DELAY_S)
        self.autosave = None
        await self.save_draft()

    def _cancel_autosave(self) -> bool:
        """Stop a save still waiting; True if there was one."""
        if self.autosave is None:
            return False
        self.autosave.cancel()
        self.autosave = None
        return True

    async def save_draft(self) -> None:
        chart = self.visit.chart
        if not chart.editable or signed(chart):
            return
        with self.card:  # also when the autosave runs: the message needs the page
            record = await staff_action(lambda s: consultation.save_draft(s, self.visit.actor, self.visit.id,
                                                                          self.typed(), now=utcnow()),
                                        error_label=self.error)
        if record is not None:
            chart.record = record
            self.save_state.set_text(_('Draft saved {time}').format(
                time=f'{record.updated_at.astimezone(self.visit.tz):%H:%M:%S}'))
        else:
            self.save_state.set_text(_('Not saved: see the message below'))

    async def flush(self) -> None:
        """Save what is typed now rather than in a moment (before the patient moves on)."""
        if self._cancel_autosave():
            await self.save_draft()

    async def sign(self) -> None:
        self._cancel_autosave()
        record = await staff_action(lambda s: consultation.sign(s, self.visit.actor, self.visit.id, self.typed(),
                                                                now=utcnow()),
                                    error_label=self.error, success=_('Record signed.'))
        if record is not None:
            await self.reshow()

    def amend(self) -> None:
        """Open the form for changes; the dialog asks for the reason."""
        for element in self.inputs.values():
            element.props(remove='readonly')
        AmendDialog(self).open()

    async def reshow(self) -> None:
        """After signing or amending: the whole chart again, the record form included."""
        if await self.visit.refresh():
            self.refill()
