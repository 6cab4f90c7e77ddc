"""Merging two records of one person, from the patient's page: choose the other record (a likely duplicate, or
found by search), see both side by side with a choice per differing detail and what will move, confirm."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.pickers import patient_search
from clinic_ui.widgets import error_text, staff_action, staff_read
from models import Patient
from models.types import utcnow
from services import patient_merge, patients, phones
from services.access import Actor
from services.core.i18n import _
from services.patient_merge import KEEP, OTHER, MergePreview, MergeSide
from services.patients import PatientHit, PatientInput


async def open_merge(actor: Actor, patient: Patient, *, today) -> None:
    """Choose the other record of this person; the record of this page is kept."""
    data = PatientInput(full_name=patient.full_name, phone=patient.phone or '', date_of_birth=patient.date_of_birth)
    twins = await staff_read(lambda s: patients.likely_duplicates(s, actor, data, exclude_id=patient.id))
    if twins is None:
        return
    ChooseOther(actor, patient, twins, today=today)


class ChooseOther:
    """The likely duplicates of this patient, and a search for any other record."""

    def __init__(self, actor: Actor, patient: Patient, twins: list[PatientHit], *, today) -> None:
        self.actor, self.patient = actor, patient
        with ui.dialog() as self.dialog, ui.card().classes('w-[40rem] max-w-full gap-3').mark('merge-choose'):
            ui.label(_('Merge {name} ({code}) with another record').format(
                name=patient.full_name, code=patient.code)).classes('text-lg font-semibold')
            ui.label(_('Choose the other record of the same person. {code} is kept; everything of the other record '
                       'moves to it.').format(code=patient.code)).classes('text-sm text-slate-600')
            if twins:
                ui.label(_('Likely the same person (same name and birth date, or same phone):')) \
                    .classes('font-medium')
                with ui.list().props('bordered separator').classes('w-full rounded'):
                    for twin in twins:
                        born = twin.date_of_birth.strftime('%d/%m/%Y') if twin.date_of_birth else ''
                        with ui.item(on_click=lambda t=twin: self.pick(t)).props('clickable').mark('merge-twin'):
                            with ui.item_section():
                                ui.item_label(twin.full_name).classes('font-medium')
                                ui.item_label(' · '.join(p for p in (twin.code, born, phones.shown(twin.phone)) if p)) \
                                    .props('caption')
            patient_search(actor, self.pick, today=today, label=_('Or find the other record: name, phone, code (P…)'))
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Close'), on_click=self.dialog.close).props('flat no-caps')
        self.dialog.open()

    async def pick(self, hit: PatientHit) -> None:
        shown = await show_preview(self.actor, self.patient.id, hit.id)
        if shown:
            self.dialog.close()


async def show_preview(actor: Actor, keep_id: int, other_id: int) -> bool:
    preview = await staff_action(lambda s: patient_merge.merge_preview(s, actor, keep_id, other_id))
    if preview is None:
        return False
    MergeDialog(actor, preview)
    return True


def _side_heading(preview: MergePreview, side: MergeSide, title: str, has: str) -> None:
    """Whose record, since when, and what it has (``has``: a sentence with {counts} and {code}, the kept one's)."""
    with ui.column().classes('gap-0 self-start'):
        ui.label(title).classes('text-xs uppercase tracking-wide text-slate-500')
        ui.label(f'{side.full_name} · {side.code}').classes('font-semibold')
        ui.label(_('Registered {date}').format(date=side.created_at.strftime('%d/%m/%Y'))) \
            .classes('text-xs text-slate-500')
        counts = [f'{preview.count_label(key)}: {count}' for key, count in side.counts.items() if count]
        ui.label(has.format(counts=' · '.join(counts) if counts else _('nothing yet'), code=preview.keep.code)) \
            .classes('text-sm text-slate-700 mt-1').mark('merge-counts')


class MergeDialog:
    """Both records side by side: a choice per detail that differs, the allergies united, what moves, confirm."""

    def __init__(self, actor: Actor, preview: MergePreview) -> None:
        self.actor, self.preview = actor, preview
        keep, other = preview.keep, preview.other
        self.choices: dict[str, ui.radio] = {}
        with ui.dialog() as self.dialog, \
                ui.card().classes('w-[64rem] max-w-full gap-2').mark('merge-preview'):
            with ui.row().classes('w-full items-center justify-between no-wrap'):
                ui.label(_('Merge {other} into {keep}').format(other=other.code, keep=keep.code)) \
                    .classes('text-lg font-semibold')
                ui.button(_('Keep {code} instead').format(code=other.code), icon='swap_horiz', on_click=self.swap) \
                    .props('flat dense no-caps').mark('merge-swap')
            with ui.column().classes('w-full max-h-[60vh] overflow-y-auto gap-0'):
                with ui.grid().classes('w-full gap-x-4 gap-y-1 items-center grid-cols-[9rem_1fr_1fr]'):
                    ui.label('')
                    _side_heading(preview, keep, _('Kept'), _('Has: {counts}'))
                    _side_heading(preview, other, _('Merged into it, then hidden'),
                                  _('Moves to {code}: {counts}'))
                    for field in patient_merge.FIELDS:
                        self._field_row(field)
                    ui.label(_('Allergies')).classes('font-medium')
                    with ui.column().classes('col-span-2 gap-0'):
                        united = keep.allergies + [a for a in other.allergies if a not in keep.allergies]
                        ui.label(', '.join(united) or _('(none)')).mark('merge-allergies')
                        ui.label(_('Allergies are never chosen: both records\' allergies are kept.')) \
                            .classes('text-xs text-slate-500')
            if preview.refusal:
                ui.label(preview.refusal).classes('text-negative font-medium').mark('merge-refusal')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                confirm = ui.button(_('Merge into {code}').format(code=keep.code), icon='call_merge',
                                    on_click=self.merge).props('unelevated no-caps color=negative') \
                    .mark('merge-confirm')
                confirm.enabled = not preview.refusal
        self.dialog.open()

    def _field_row(self, field: str) -> None:
        keep, other = self.preview.keep.values[field], self.preview.other.values[field]
        ui.label(self.preview.label(field)).classes('font-medium')
        if field not in self.preview.differing:
            ui.label(keep or '—').classes('text-slate-600 break-words')
            ui.label(other or '—').classes('text-slate-600 break-words')
            return
        default = OTHER if not keep and other else KEEP
        self.choices[field] = ui.radio({KEEP: keep or _('(none)'), OTHER: other or _('(none)')}, value=default) \
            .props('inline dense').classes('col-span-2 grid grid-cols-2 gap-x-4 bg-amber-50 rounded') \
            .mark(f'merge-choice-{field}')

    async def swap(self) -> None:
        if await show_preview(self.actor, self.preview.other.id, self.preview.keep.id):
            self.dialog.close()

    async def merge(self) -> None:
        keep, other = self.preview.keep, self.preview.other
        choices = {field: radio.value for field, radio in self.choices.items()}
        survivor = await staff_action(
            lambda s: patient_merge.merge_patients(s, self.actor, keep.id, other.id, choices, now=utcnow()),
            error_label=self.error,
            success=_('Merged: {other} is now part of {keep}.').format(other=other.code, keep=keep.code))
        if survivor is not None:
            self.dialog.close()
            ui.navigate.to(f'/reception/patients/{survivor.id}')
