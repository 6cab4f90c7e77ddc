"""The chart's dialogs: amending the signed record; prescribing despite an allergy."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import ui

from clinic_ui.widgets import error_text, section_title, staff_action
from models.types import utcnow
from services import consultation
from services.core.errors import AllergyConflict
from services.core.i18n import _

if TYPE_CHECKING:
    from .record import RecordPanel


class AmendDialog:
    """The doctor changes the fields in the form, then gives the reason here; the old values are kept. Closed
    without saving, the form shows the record as signed again."""

    def __init__(self, record: RecordPanel) -> None:
        self.record = record
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-3').mark('amend-dialog'):
            section_title(_('Amend the signed record'))
            ui.label(_('Change the fields in the form first, then give the reason here. The old values are kept.')) \
                .classes('text-sm text-slate-600')
            self.reason = ui.input(_('Reason for the change *')).props('outlined autofocus').mark('amend-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save amendment'), on_click=self.save).props('unelevated no-caps').mark('confirm-amend')
        self.dialog.on('hide', record.refill)
        self.dialog.props('seamless position=bottom')

    def open(self) -> None:
        self.dialog.open()

    async def save(self) -> None:
        visit = self.record.visit
        done = await staff_action(lambda s: consultation.amend(s, visit.actor, visit.id, self.record.typed(),
                                                               self.reason.value, now=utcnow()),
                                  error_label=self.error, success=_('Amendment saved.'))
        if done is not None:
            self.dialog.close()
            await self.record.reshow()


class AllergyOverrideDialog:
    """The medicine matches an allergy: nothing was added. The doctor cancels (nothing is added) or gives the reason
    and prescribes it anyway: ``submit(reason, error_label)`` adds the line again with the reason."""

    def __init__(self, conflict: AllergyConflict, submit: Callable[[str, ui.label], Awaitable[bool]]) -> None:
        self.submit = submit
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-3').mark('override-dialog'):
            section_title(_('{medicine}: allergy').format(medicine=conflict.medicine_name))
            for allergy in conflict.allergies:
                ui.label(f'⚠ {allergy}').classes('text-negative font-medium').mark('override-allergy')
            ui.label(_('Nothing was added. To prescribe it anyway, write why; the pharmacist sees the reason and '
                       'checks it before dispensing.')).classes('text-sm text-slate-600')
            self.reason = ui.textarea(_('Reason for prescribing despite the allergy *')).props('outlined autofocus') \
                .classes('w-full').mark('override-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps').mark('cancel-override')
                ui.button(_('Prescribe anyway'), on_click=self.confirm).props('unelevated no-caps color=negative') \
                    .mark('confirm-override')
        self.dialog.on_value_change(lambda e: None if e.value else self.dialog.delete())  # one per attempt

    def open(self) -> None:
        self.dialog.open()

    async def confirm(self) -> None:
        if await self.submit(self.reason.value or '', self.error):
            self.dialog.close()
