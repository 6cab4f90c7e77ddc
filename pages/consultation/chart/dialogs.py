"""The chart's dialog: amending the signed record."""
from __future__ import annotations

from typing import TYPE_CHECKING

from nicegui import ui

from clinic_ui.widgets import error_text, section_title, staff_action
from models.types import utcnow
from services import consultation

if TYPE_CHECKING:
    from .record import RecordPanel


class AmendDialog:
    """The doctor changes the fields in the form, then gives the reason here; the old values are kept. Closed
    without saving, the form shows the record as signed again."""

    def __init__(self, record: RecordPanel) -> None:
        self.record = record
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-3').mark('amend-dialog'):
            section_title('Amend the signed record')
            ui.label('Change the fields in the form first, then give the reason here. The old values are kept.') \
                .classes('text-sm text-slate-600')
            self.reason = ui.input('Reason for the change *').props('outlined autofocus').mark('amend-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=self.dialog.close).props('flat no-caps')
                ui.button('Save amendment', on_click=self.save).props('unelevated no-caps').mark('confirm-amend')
        self.dialog.on('hide', record.refill)
        self.dialog.props('seamless position=bottom')

    def open(self) -> None:
        self.dialog.open()

    async def save(self) -> None:
        visit = self.record.visit
        done = await staff_action(lambda s: consultation.amend(s, visit.actor, visit.id, self.record.typed(),
                                                               self.reason.value, now=utcnow()),
                                  error_label=self.error, success='Amendment saved.')
        if done is not None:
            self.dialog.close()
            await self.record.reshow()
