"""Administration, the catalog: the dialog that creates or edits a specialty, a room, a service or a medicine.

``Save`` runs one service action, and so does ``Deactivate`` / ``Reactivate`` where the item has it. Amounts are
shown as people type them and read back by the one money parser."""
from __future__ import annotations

from typing import Any

from nicegui import ui

from clinic_ui.widgets import amount_text, error_text, staff_action, staff_read
from models import Medicine, Room, RoomKind, Service, ServiceKind, Specialty
from models.types import utcnow
from services import catalog, clinic_settings
from services.access import Actor
from services.allergies import DRUG_GROUPS, group_label
from services.core import i18n
from services.core.i18n import N_, _
from services.core.money import parse_money

KIND_LABELS = {'consultation': N_('Consultation'), 'lab': N_('Lab'), 'imaging': N_('Imaging'),
               'procedure': N_('Procedure'), 'pharmacy': N_('Pharmacy'), 'cashier': N_('Cashier')}
DRUG_GROUP_LABELS = [group_label(group) for group in DRUG_GROUPS]


def kind_label(kind: RoomKind | ServiceKind) -> str:
    """What a room or a service is for, as the reader says it."""
    return _(KIND_LABELS.get(kind.value, kind.value))


def room_kinds() -> dict[str, str]:
    return {kind.value: kind_label(kind) for kind in RoomKind}


def service_kinds() -> dict[str, str]:
    return {kind.value: kind_label(kind) for kind in ServiceKind}


def _input(label: str, value: object = '', mark: str = '', classes: str = 'w-full') -> ui.input:
    field = ui.input(label, value='' if value is None else str(value)).props('outlined dense').classes(classes)
    return field.mark(mark) if mark else field


class CatalogForm:
    """The dialog; a subclass makes its fields (``fields``) and names its actions (``save_item``, and
    ``set_item_active`` unless its items are never deactivated)."""
    new_title = ''
    deactivates = True
    mark_prefix = ''  # the name inputs in other languages are marked ``<prefix>-name-<language code>``

    def __init__(self, actor: Actor, item: Any = None) -> None:
        self.actor = actor
        self.item = item
        self.settings = clinic_settings.current()
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('catalog-dialog'):
            ui.label(self.title(item) if item else _(self.new_title)).classes('text-xl font-semibold')
            self.fields(item)
            self.error = error_text()
            with ui.row().classes('w-full items-center'):
                if item is not None and self.deactivates:
                    ui.button(_('Reactivate') if not item.is_active else _('Deactivate'),
                              on_click=self.toggle_active) \
                        .props('flat no-caps color=grey-8').mark('catalog-toggle')
                ui.space()
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.save).props('unelevated no-caps').mark('catalog-save')
        self.dialog.on_value_change(lambda e: None if e.value else self.dialog.delete())  # closed: gone
        self.dialog.open()

    def title(self, item: Any) -> str:
        return i18n.pick(item.name, getattr(item, 'name_translations', None))

    def fields(self, item: Any) -> None:
        raise NotImplementedError

    async def save_item(self, session) -> Any:
        raise NotImplementedError

    async def set_item_active(self, session, item_id: int, active: bool) -> Any:
        raise NotImplementedError

    @property
    def item_id(self) -> int | None:
        return self.item.id if self.item else None

    def value(self, name: str, new: object = '') -> Any:
        """The item's ``name`` as the form shows it; ``new`` for a new item."""
        return getattr(self.item, name) if self.item else new

    def name_inputs(self) -> None:
        """The name in each language other than the clinic's (optional): read by those who work in it."""
        saved = (self.item.name_translations if self.item else None) or {}
        clinic_language = i18n.normalize(self.settings.language) or i18n.SOURCE
        self.translations = {code: _input(_('Name in {language}').format(language=language), saved.get(code, ''),
                                          f'{self.mark_prefix}-name-{code}')
                             for code, language in i18n.LANGUAGES.items() if code != clinic_language}

    def name_translations(self) -> dict[str, str]:
        """The names typed in other languages, with those of languages not shown kept as they were."""
        saved = (self.item.name_translations if self.item else None) or {}
        return {**saved, **{code: field.value or '' for code, field in self.translations.items()}}

    def price_input(self, label: str, mark: str) -> ui.input:
        """A price as people type it, in the clinic's currency."""
        shown = amount_text(self.item.price) if self.item else ''
        return ui.input(_('{label} ({currency})').format(label=label, currency=self.settings.currency), value=shown) \
            .props('outlined dense inputmode=decimal').classes('grow').mark(mark)

    def price(self, field: ui.input) -> int:
        return parse_money(field.value, self.settings.currency_exponent, 'price')

    async def save(self) -> None:
        if await staff_action(self.save_item, error_label=self.error, success=_('Saved.')) is not None:
            self.dialog.close()

    async def toggle_active(self) -> None:
        active = not self.item.is_active
        if await staff_action(lambda s: self.set_item_active(s, self.item.id, active), error_label=self.error,
                              success=_('Reactivated.') if active else _('Deactivated.')) is not None:
            self.dialog.close()


class SpecialtyForm(CatalogForm):
    """A specialty; ``Deactivate`` first says what depends on it (doctors left without an active specialty,
    upcoming appointments), and a second click deactivates it anyway."""
    new_title = N_('New specialty')
    mark_prefix = 'specialty'
    warned = False

    def fields(self, item: Specialty | None) -> None:
        self.name = _input(_('Name'), self.value('name'), 'specialty-name')
        self.name_inputs()
        self.keywords = ui.textarea(_('Complaints that lead here (comma-separated, e.g. fever, cough)'),
                                    value=self.value('keywords')).props('outlined dense autogrow') \
            .classes('w-full').mark('specialty-keywords')
        self.description = _input(_('Description (optional)'), self.value('description'))

    async def save_item(self, session) -> Specialty:
        return await catalog.save_specialty(session, self.actor, self.item_id, name=self.name.value,
                                            description=self.description.value, keywords=self.keywords.value,
                                            name_translations=self.name_translations())

    async def toggle_active(self) -> None:
        if self.item.is_active and not self.warned:
            warning = await staff_read(lambda s: catalog.specialty_deactivation_warning(s, self.actor, self.item.id,
                                                                                       now=utcnow()))
            if warning is None:
                return
            if warning:
                self.warned = True
                self.error.set_text(_('Before you deactivate it: {warning} Click "Deactivate" again to deactivate '
                                      'it anyway.').format(warning=warning))
                return
        await super().toggle_active()

    async def set_item_active(self, session, specialty_id: int, active: bool) -> Specialty:
        return await catalog.set_specialty_active(session, self.actor, specialty_id, active, now=utcnow())


class RoomForm(CatalogForm):
    new_title = N_('New room')
    mark_prefix = 'room'

    def title(self, item: Room) -> str:
        return _('Room {code}').format(code=item.code)

    def fields(self, item: Room | None) -> None:
        self.code = _input(_('Code (on tickets and the board, e.g. R101)'), self.value('code'), 'room-code')
        self.name = _input(_('Name (e.g. Consultation room 1)'), self.value('name'), 'room-name')
        self.name_inputs()
        self.kind = ui.select(room_kinds(), label=_('Used for'),
                              value=self.value('kind', RoomKind.CONSULTATION).value) \
            .props('outlined dense').classes('w-full').mark('room-kind')
        self.floor = _input(_('Floor (optional)'), self.value('floor'))

    async def save_item(self, session) -> Room:
        return await catalog.save_room(session, self.actor, self.item_id, code=self.code.value, name=self.name.value,
                                       kind=self.kind.value or '', floor=self.floor.value,
                                       name_translations=self.name_translations())

    async def set_item_active(self, session, room_id: int, active: bool) -> Room:
        return await catalog.set_room_active(session, self.actor, room_id, active)


class ServiceForm(CatalogForm):
    """A service with its price and duration; ``specialties`` are the choices for its specialty."""
    new_title = N_('New service')
    mark_prefix = 'service'

    def __init__(self, actor: Actor, item: Service | None, specialties: dict[int, str]) -> None:
        self.specialties = specialties
        super().__init__(actor, item)

    def fields(self, item: Service | None) -> None:
        self.code = _input(_('Code (e.g. CONS-GEN)'), self.value('code'), 'service-code')
        self.name = _input(_('Name'), self.value('name'), 'service-name')
        self.name_inputs()
        self.kind = ui.select(service_kinds(), label=_('Kind'),
                              value=self.value('kind', ServiceKind.CONSULTATION).value) \
            .props('outlined dense').classes('w-full').mark('service-kind')
        self.specialty = ui.select({0: '—', **self.specialties}, label=_('Specialty (optional)'),
                                   value=self.value('specialty_id') or 0) \
            .props('outlined dense').classes('w-full').mark('service-specialty')
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.duration = ui.input(_('Duration (minutes)'), value=str(self.value('duration_minutes', 15))) \
                .props('outlined dense inputmode=numeric').classes('grow').mark('service-duration')
            self.price_field = self.price_input(_('Price'), 'service-price')
        if item:
            ui.label(_('A new price applies from now on; invoices already made keep their prices.')) \
                .classes('text-xs text-slate-600')
        self.description = _input(_('Description (optional)'), self.value('description'))

    async def save_item(self, session) -> Service:
        return await catalog.save_service(session, self.actor, self.item_id, code=self.code.value,
                                          name=self.name.value, kind=self.kind.value or '',
                                          duration_minutes=(self.duration.value or '').strip() or None,
                                          price=self.price(self.price_field), specialty_id=self.specialty.value or None,
                                          description=self.description.value,
                                          name_translations=self.name_translations())

    async def set_item_active(self, session, service_id: int, active: bool) -> Service:
        return await catalog.set_service_active(session, self.actor, service_id, active)


class MedicineForm(CatalogForm):
    new_title = N_('New medicine')

    def fields(self, item: Medicine | None) -> None:
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.code = _input(_('Code'), self.value('code'), 'medicine-code', 'w-32')
            self.name = _input(_('Name (e.g. Paracetamol 500 mg)'), self.value('name'), 'medicine-name', 'grow')
        self.generic = _input(_('Generic name (optional)'), self.value('generic_name'))
        group = group_label(self.value('drug_group')) or None
        options = list(dict.fromkeys([*DRUG_GROUP_LABELS, *([group] if group else [])]))  # a typed group too
        self.drug_group = ui.select(options, value=group,
                                    label=_('Drug group (for allergy checks; choose or type)'), with_input=True,
                                    new_value_mode='add-unique', clearable=True) \
            .props('outlined dense').classes('w-full').mark('medicine-group')
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.form = _input(_('Form'), self.value('form', 'tablet'), classes='grow')
            self.strength = _input(_('Strength'), self.value('strength'), classes='grow')
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.unit = _input(_('Unit counted and sold'), self.value('unit', 'tablet'), 'medicine-unit', 'grow')
            self.price_field = self.price_input(_('Price per unit'), 'medicine-price')
            self.reorder = ui.input(_('Reorder level'), value=str(self.value('reorder_level', 0))) \
                .props('outlined dense inputmode=numeric').classes('w-32').mark('medicine-reorder')
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.per_pack = ui.input(_('Pack size (units inside one unit sold)'),
                                     value=str(self.value('units_per_pack', 1))) \
                .props('outlined dense inputmode=numeric').classes('grow').mark('medicine-per-pack')
            self.base_unit = _input(_('Unit inside the pack (e.g. tablet)'), self.value('base_unit'),
                                    'medicine-base-unit', 'grow')
        ui.label(_('Sold per blister of 10 tablets: unit sold "blister", pack size 10, unit inside "tablet". Sold '
                   'per tablet: pack size 1. This lets the pharmacy give an equivalent medicine sold in another '
                   'pack (same generic name and strength).')).classes('text-xs text-slate-600')

    async def save_item(self, session) -> Medicine:
        return await catalog.save_medicine(session, self.actor, self.item_id, code=self.code.value,
                                           name=self.name.value, unit=self.unit.value,
                                           price=self.price(self.price_field),
                                           reorder_level=(self.reorder.value or '').strip(),
                                           generic_name=self.generic.value, form=self.form.value,
                                           strength=self.strength.value, drug_group=self.drug_group.value or '',
                                           units_per_pack=(self.per_pack.value or '').strip(),
                                           base_unit=self.base_unit.value or '')

    async def set_item_active(self, session, medicine_id: int, active: bool) -> Medicine:
        return await catalog.set_medicine_active(session, self.actor, medicine_id, active)
