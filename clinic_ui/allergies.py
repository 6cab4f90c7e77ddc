"""A patient's allergies as every station shows them (red when recorded, green only when recorded as "no known
allergies", amber when nobody asked), and the dialog that records them (chart and reception)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from models import AllergySeverity, AllergyStatus
from models.types import utcnow
from services import allergies
from services.access import Actor
from services.allergies import Allergies, AllergyInput
from services.core.i18n import N_, _

from .widgets import error_text, section_title, staff_action, staff_read

# (icon, chip colour, text colour, classes for a plain label) per status
LOOKS = {AllergyStatus.RECORDED: ('warning', 'red-1', 'negative', 'text-negative font-medium'),
         AllergyStatus.NONE: ('check', 'green-1', 'positive', 'text-positive'),
         AllergyStatus.UNKNOWN: ('help_outline', 'amber-1', 'amber-10', 'text-amber-800 font-medium')}
SEVERITIES = {AllergySeverity.MILD.value: N_('Mild'), AllergySeverity.MODERATE.value: N_('Moderate'),
              AllergySeverity.SEVERE.value: N_('Severe'),
              AllergySeverity.LIFE_THREATENING.value: N_('Life-threatening')}  # shown as _(label)


def status_of(shown: Allergies) -> AllergyStatus:
    """How to colour the summary: entries make it red whatever the stored status says."""
    if shown.entries:
        return AllergyStatus.RECORDED
    return AllergyStatus.NONE if shown.status == AllergyStatus.NONE else AllergyStatus.UNKNOWN


class AllergyLine:
    """The summary as a line of text (dialogs) that follows the patient's allergies (``show``)."""

    def __init__(self, shown: Allergies) -> None:
        self.label = ui.label('').mark('allergy-summary')
        self.show(shown)

    def show(self, shown: Allergies) -> None:
        self.label.set_text(shown.summary)
        self.label.classes(replace=LOOKS[status_of(shown)][3])


class AllergyChip:
    """The summary as a chip that follows the patient's allergies (``show``)."""

    def __init__(self, shown: Allergies) -> None:
        self.chip = ui.chip('').props('square').classes('font-medium').mark('allergies')
        self.show(shown)

    def show(self, shown: Allergies) -> None:
        icon, colour, text_colour, __ = LOOKS[status_of(shown)]
        self.chip.set_text(_('{summary} · note: {note}').format(summary=shown.summary, note=shown.note) if shown.note
                           else shown.summary)
        self.chip.props(f'icon={icon} color={colour} text-color={text_colour}')


class AllergyDialog:
    """The patient's allergies: each with "Remove", a form to add one (substance or drug group, reaction,
    severity), and "No known allergies". ``on_changed(allergies)`` runs after each change."""

    def __init__(self, actor: Actor, shown: Allergies,
                 on_changed: Callable[[Allergies], Awaitable[None] | None] | None = None) -> None:
        self.actor, self.patient_id, self.on_changed = actor, shown.patient_id, on_changed
        # the value stays the group's English name (what the service knows); only what is shown is translated
        groups = {label: _(label) for label in (allergies.GROUP_LABELS[g] for g in allergies.DRUG_GROUPS)}
        severities = {value: _(label) for value, label in SEVERITIES.items()}
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-2').mark('allergy-dialog'):
            section_title(_('Allergies'))
            self.summary = ui.label('').mark('allergy-dialog-summary')
            self.entries = ui.column().classes('w-full gap-0')
            with ui.grid().classes('w-full gap-2 grid-cols-2'):
                self.substance = ui.input(_('Substance (e.g. amoxicillin)')).props('outlined dense') \
                    .mark('allergy-substance')
                self.group = ui.select(groups, label=_('or drug group'), with_input=True, new_value_mode='add-unique',
                                       clearable=True).props('outlined dense').mark('allergy-group')
                self.reaction = ui.input(_('Reaction (e.g. rash)')).props('outlined dense').mark('allergy-reaction')
                self.severity = ui.select(severities, value=AllergySeverity.MODERATE.value, label=_('Severity')) \
                    .props('outlined dense').mark('allergy-severity')
            self.error = error_text()
            with ui.row().classes('w-full justify-between gap-2'):
                ui.button(_('No known allergies'), on_click=self.none_known).props('outline no-caps color=positive') \
                    .mark('no-known-allergies')
                with ui.row().classes('gap-2'):
                    ui.button(_('Close'), on_click=self.dialog.close).props('flat no-caps')
                    ui.button(_('Add allergy'), icon='add', on_click=self.add).props('unelevated no-caps') \
                        .mark('add-allergy')
        self.show(shown)
        self.dialog.on_value_change(lambda e: None if e.value else self.dialog.delete())  # one per opening

    def open(self) -> None:
        self.dialog.open()

    def show(self, shown: Allergies) -> None:
        self.summary.set_text(shown.summary)
        self.summary.classes(replace=LOOKS[status_of(shown)][3])
        self.entries.clear()
        with self.entries:
            for entry in shown.entries:
                with ui.row().classes('w-full items-center justify-between border-b py-1').mark('allergy-entry'):
                    ui.label(entry.text)
                    ui.button(_('Remove'), on_click=lambda e=entry: self.remove(e.id)) \
                        .props('flat dense no-caps color=negative').mark('remove-allergy')

    async def changed(self, result) -> None:
        if result is None:
            return
        shown = result if isinstance(result, Allergies) else await self.reread()
        if shown is None:
            return
        if self.on_changed is not None:  # first: showing the list again deletes the button that was clicked
            done = self.on_changed(shown)
            if done is not None:
                await done
        self.show(shown)

    async def reread(self) -> Allergies | None:
        return await staff_read(lambda s: allergies.patient_allergies(s, self.actor, self.patient_id))

    async def add(self) -> None:
        data = AllergyInput(self.substance.value or '', self.group.value or '', self.reaction.value or '',
                            self.severity.value or AllergySeverity.MODERATE.value)
        added = await staff_action(lambda s: allergies.add_allergy(s, self.actor, self.patient_id, data,
                                                                   now=utcnow()),
                                   error_label=self.error, success=_('Allergy recorded.'))
        if added is not None:
            for field in (self.substance, self.group, self.reaction):
                field.set_value(None if field is self.group else '')
        await self.changed(added)

    async def remove(self, allergy_id: int) -> None:
        await self.changed(await staff_action(lambda s: allergies.remove_allergy(s, self.actor, allergy_id,
                                                                                 now=utcnow()),
                                              error_label=self.error, success=_('Allergy removed.')))

    async def none_known(self) -> None:
        await self.changed(await staff_action(lambda s: allergies.record_no_known_allergies(
            s, self.actor, self.patient_id, now=utcnow()), error_label=self.error,
            success=_('Recorded: no known allergies.')))
