"""The catalog: specialties (with the complaint keywords that lead to them), rooms, the service price list and
the medicines list.

Nothing is deleted: rooms, services and medicines are deactivated (history keeps pointing at them). Prices are
in minor units of the clinic currency. A price change applies from now on: invoice lines keep the unit price
they were billed at (``invoice_items.unit_price``), so past invoices never change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Doctor,
    DoctorSpecialty,
    Medicine,
    Role,
    Room,
    RoomKind,
    Service,
    ServiceKind,
    Specialty,
    WorkingHours,
)

from . import audit
from .access import Actor, require
from .allergies import DRUG_GROUPS, group_key
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import CatalogChanged, publish
from .core.i18n import _, ngettext
from .core.money import MAX_AMOUNT
from .text import clean_name, search_key

CODE_RE = re.compile(r'^[A-Z0-9][A-Z0-9._-]{0,19}$')
MAX_DURATION = 8 * 60
_LOCK = 'catalog'
ACTIVE_APPOINTMENTS = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)  # booked, not yet come


@dataclass(frozen=True)
class Page:
    rows: list
    total: int


# ---------------------------------------------------------------- shared checks

def _code(code: str) -> str:
    code = (code or '').strip().upper()
    if not CODE_RE.match(code):
        raise ValidationError(_('The code needs 1 to 20 characters: letters A–Z, digits, dot, dash or underscore '
                              '(e.g. R101, CONS-GEN).'), 'code')
    return code


def _name(name: str, limit: int, label: str = 'name') -> str:
    name = clean_name(name or '')
    if not name:
        raise ValidationError(_('Please enter the unit.') if label == 'unit' else _('Please enter the name.'), label)
    if len(name) > limit:
        raise ValidationError(_too_long(label, limit), label)
    return name


def _optional(text: str, limit: int, label: str) -> str:
    text = (text or '').strip()
    if len(text) > limit:
        raise ValidationError(_too_long(label, limit), label)
    return text


def _too_long(label: str, limit: int) -> str:
    """The refusal of a too long field, one whole sentence per field (``label``: the field, in English)."""
    sentences = {'name': _('The name can have at most {limit} characters.'),
                 'unit': _('The unit can have at most {limit} characters.'),
                 'description': _('The description can have at most {limit} characters.'),
                 'floor': _('The floor can have at most {limit} characters.'),
                 'generic name': _('The generic name can have at most {limit} characters.'),
                 'form': _('The form can have at most {limit} characters.'),
                 'strength': _('The strength can have at most {limit} characters.'),
                 'drug group': _('The drug group can have at most {limit} characters.')}
    return sentences.get(label, _('This text can have at most {limit} characters.')).format(limit=limit)


def _name_translations(translations: dict[str, str] | None, limit: int) -> dict[str, str]:
    """The name in other languages, by language code: codes of the clinic's languages only, names trimmed, empty
    ones left out."""
    result = {}
    for code, text in (translations or {}).items():
        if code not in i18n.LANGUAGES:
            raise ValidationError(_('"{code}" is not a language the clinic can use ({languages}).').format(
                code=code, languages=', '.join(i18n.LANGUAGES)), 'name_translations')
        text = clean_name(text or '')
        if len(text) > limit:
            raise ValidationError(_('The name in {language} can have at most {limit} characters.').format(
                language=i18n.LANGUAGES[code], limit=limit), 'name_translations')
        if text:
            result[code] = text
    return result


def _with_translations(values: dict, translations: dict[str, str] | None, limit: int) -> dict:
    """``values`` with the name's translations when they were given (None: they stay as they are)."""
    if translations is not None:
        values['name_translations'] = _name_translations(translations, limit)
    return values


async def _code_free(session: AsyncSession, model, code: str, own_id: int | None, what: str) -> None:
    query = select(model).where(func.upper(model.code) == code)
    if own_id is not None:
        query = query.where(model.id != own_id)
    other = (await session.exec(query)).first()
    if other is not None:
        sentences = {'room': _('The code {code} is already used by the room "{name}".'),
                     'service': _('The code {code} is already used by the service "{name}".'),
                     'medicine': _('The code {code} is already used by the medicine "{name}".')}
        raise Conflict(sentences.get(what, _('The code {code} is already used by "{name}".')).format(
            code=code, name=other.name))


def _changes(obj, values: dict) -> list[str]:
    return [f'{key} {getattr(obj, key)!r} -> {value!r}' for key, value in values.items()
            if getattr(obj, key) != value]


def _int(value, label: str, low: int, high: int) -> int:
    try:
        number = int(value)
        if number != float(value):
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(_('The duration must be a whole number of minutes.') if label.startswith('duration')
                              else _('The reorder level must be a whole number.'), label) from None
    if not low <= number <= high:
        raise ValidationError((_('The duration must be between {low} and {high} minutes.')
                               if label.startswith('duration') else
                               _('The reorder level must be between {low} and {high}.')).format(low=low, high=high),
                              label)
    return number


async def _save(session: AsyncSession, actor: Actor, obj, values: dict, *, entity: str, label: str) -> None:
    created = obj.id is None
    changes = [] if created else _changes(obj, values)
    for key, value in values.items():
        setattr(obj, key, value)
    session.add(obj)
    await session.flush()
    if created or changes:
        audit.record(session, actor, f'{entity}_{"created" if created else "updated"}', entity=entity,
                     entity_id=obj.id, detail=f'{label}' + (f': {"; ".join(changes)}' if changes else ''))
        publish(session, CatalogChanged(entity=entity, entity_id=obj.id))


async def _set_active(session: AsyncSession, actor: Actor, obj, active: bool, *, entity: str, label: str) -> None:
    if obj.is_active == active:
        return
    obj.is_active = active
    session.add(obj)
    audit.record(session, actor, f'{entity}_{"reactivated" if active else "deactivated"}', entity=entity,
                 entity_id=obj.id, detail=label)
    publish(session, CatalogChanged(entity=entity, entity_id=obj.id))


async def _get(session: AsyncSession, model, item_id: int, what: str):
    item = await session.get(model, item_id)
    if item is None:
        raise NotFound({'specialty': _('This specialty does not exist.'), 'room': _('This room does not exist.'),
                        'service': _('This service does not exist.'), 'medicine': _('This medicine does not exist.'),
                        }.get(what, _('This item does not exist.')))
    return item


# ---------------------------------------------------------------- specialties

@query
async def list_specialties(session: AsyncSession, actor: Actor, *, active_only: bool = False) -> list[Specialty]:
    """The specialties, active first (``active_only``: the choices for a new link, e.g. a doctor's specialty)."""
    require(actor, Role.ADMIN)
    query = select(Specialty).order_by(col(Specialty.is_active).desc(), Specialty.name)
    if active_only:
        query = query.where(Specialty.is_active)
    return list((await session.exec(query)).all())


async def _specialty_impact(session: AsyncSession, specialty: Specialty, now: datetime) -> str:
    """What deactivating ``specialty`` leaves behind, as a sentence ('' when nothing): the active doctors who have
    no other active specialty, and the upcoming appointments for its services (they stay booked)."""
    others = select(DoctorSpecialty.doctor_id).join(Specialty, Specialty.id == DoctorSpecialty.specialty_id).where(
        Specialty.is_active, Specialty.id != specialty.id)
    doctors = (await session.exec(select(Doctor.title, Doctor.full_name).join(
        DoctorSpecialty, DoctorSpecialty.doctor_id == Doctor.id).where(
        DoctorSpecialty.specialty_id == specialty.id, Doctor.is_active, col(Doctor.id).not_in(others))
        .order_by(Doctor.full_name))).all()
    upcoming = (await session.exec(select(func.count(func.distinct(Appointment.id))).select_from(Appointment).join(
        AppointmentService, AppointmentService.appointment_id == Appointment.id).join(
        Service, Service.id == AppointmentService.service_id).where(
        Service.specialty_id == specialty.id, col(Appointment.status).in_(ACTIVE_APPOINTMENTS),
        Appointment.start_at >= now))).one()
    parts = []
    if doctors:
        parts.append(_('{names} will have no active specialty left (complaints will no longer suggest them).')
                     .format(names=', '.join(f'{title} {name}'.strip() for title, name in doctors)))
    if upcoming:
        parts.append(ngettext('{count} upcoming appointment is for a service of this specialty: it stays booked.',
                              '{count} upcoming appointments are for services of this specialty: they stay booked.',
                              upcoming))
    return ' '.join(parts)


@query
async def specialty_deactivation_warning(session: AsyncSession, actor: Actor, specialty_id: int, *,
                                         now: datetime) -> str:
    """What the administrator should know before deactivating the specialty ('' when nothing)."""
    require(actor, Role.ADMIN)
    return await _specialty_impact(session, await _get(session, Specialty, specialty_id, 'specialty'), now)


@action
async def set_specialty_active(session: AsyncSession, actor: Actor, specialty_id: int, active: bool, *,
                               now: datetime) -> Specialty:
    """A specialty no longer offered is deactivated: reception's complaint suggestions, /book and the pickers for
    new links stop offering it (and the services tied to it); doctors keep it in their history, appointments keep
    their service. Allowed even when doctors or upcoming appointments depend on it: the audit says which."""
    require(actor, Role.ADMIN)
    specialty = await _get(session, Specialty, specialty_id, 'specialty')
    impact = '' if active else await _specialty_impact(session, specialty, now)
    await _set_active(session, actor, specialty, active, entity='specialty',
                      label=specialty.name + (f'; {impact}' if impact else ''))
    return specialty


def _keywords(text: str) -> str:
    words = [' '.join(word.split()) for word in (text or '').replace(';', ',').replace('\n', ',').split(',')]
    result = ', '.join(dict.fromkeys(w.lower() for w in words if w))
    if len(result) > 1000:
        raise ValidationError(_('The keywords can have at most 1000 characters.'), 'keywords')
    return result


@action
async def save_specialty(session: AsyncSession, actor: Actor, specialty_id: int | None, *, name: str,
                         description: str = '', keywords: str = '',
                         name_translations: dict[str, str] | None = None) -> Specialty:
    """Create (``specialty_id=None``) or change a specialty. Keywords are the complaints that lead to it
    ("fever, cough, sore throat"), comma-separated."""
    require(actor, Role.ADMIN)
    values = {'name': _name(name, 80), 'description': _optional(description, 500, 'description'),
              'keywords': _keywords(keywords)}
    _with_translations(values, name_translations, 80)
    await serialize(session, _LOCK)
    specialty = await _get(session, Specialty, specialty_id, 'specialty') if specialty_id else Specialty()
    query = select(Specialty).where(func.lower(Specialty.name) == values['name'].lower())
    if specialty_id:
        query = query.where(Specialty.id != specialty_id)
    if (await session.exec(query)).first() is not None:
        raise Conflict(_('The specialty "{name}" already exists.').format(name=values['name']))
    await _save(session, actor, specialty, values, entity='specialty', label=values['name'])
    return specialty


# ---------------------------------------------------------------- rooms

@query
async def list_rooms(session: AsyncSession, actor: Actor, *, active_only: bool = False) -> list[Room]:
    require(actor, Role.ADMIN)
    query = select(Room).order_by(col(Room.is_active).desc(), Room.code)
    if active_only:
        query = query.where(Room.is_active)
    return list((await session.exec(query)).all())


@action
async def save_room(session: AsyncSession, actor: Actor, room_id: int | None, *, code: str, name: str,
                    kind: RoomKind | str, floor: str = '', name_translations: dict[str, str] | None = None) -> Room:
    require(actor, Role.ADMIN)
    try:
        kind = RoomKind(kind)
    except ValueError:
        raise ValidationError(_('Please choose what the room is used for.'), 'kind') from None
    values = {'code': _code(code), 'name': _name(name, 80), 'kind': kind, 'floor': _optional(floor, 20, 'floor')}
    _with_translations(values, name_translations, 80)
    await serialize(session, _LOCK)
    room = await _get(session, Room, room_id, 'room') if room_id else Room()
    await _code_free(session, Room, values['code'], room_id, 'room')
    await _save(session, actor, room, values, entity='room', label=f'{values["code"]} {values["name"]}')
    return room


@action
async def set_room_active(session: AsyncSession, actor: Actor, room_id: int, active: bool) -> Room:
    """A room out of use is deactivated; refused while doctors' weekly hours are planned in it."""
    require(actor, Role.ADMIN)
    room = await _get(session, Room, room_id, 'room')
    if not active:
        users = (await session.exec(select(Doctor.title, Doctor.full_name).join(
            WorkingHours, WorkingHours.doctor_id == Doctor.id).where(WorkingHours.room_id == room_id)
            .distinct())).all()
        if users:
            names = ', '.join(f'{title} {name}'.strip() for title, name in users)
            raise Conflict(_('Room {code} is in the weekly hours of {names}. Move those hours to '
                             'another room first.').format(code=room.code, names=names))
    await _set_active(session, actor, room, active, entity='room', label=f'{room.code} {room.name}')
    return room


# ---------------------------------------------------------------- services (the price list)

@query
async def list_services(session: AsyncSession, actor: Actor, *, search: str = '', active: bool | None = None,
                        offset: int = 0, limit: int = 100) -> Page:
    require(actor, Role.ADMIN)
    where = []
    if search.strip():
        pattern = f'%{search.strip().lower()}%'
        where.append(or_(func.lower(Service.name).like(pattern), func.lower(Service.code).like(pattern)))
    if active is not None:
        where.append(Service.is_active == active)
    total = (await session.exec(select(func.count()).select_from(Service).where(*where))).one()
    rows = (await session.exec(select(Service).where(*where)
                               .order_by(col(Service.is_active).desc(), Service.kind, Service.name)
                               .offset(max(offset, 0)).limit(max(1, min(limit, 500))))).all()
    return Page(list(rows), total)


@action
async def save_service(session: AsyncSession, actor: Actor, service_id: int | None, *, code: str, name: str,
                       kind: ServiceKind | str, duration_minutes, price: int, specialty_id: int | None = None,
                       description: str = '', name_translations: dict[str, str] | None = None) -> Service:
    """Create or change a price-list item. ``price`` is in minor units (see ``parse_money``)."""
    require(actor, Role.ADMIN)
    try:
        kind = ServiceKind(kind)
    except ValueError:
        raise ValidationError(_('Please choose the kind of service.'), 'kind') from None
    if not isinstance(price, int) or price < 0 or price > MAX_AMOUNT:
        raise ValidationError(_('The price must be zero or more.'), 'price')
    values = {'code': _code(code), 'name': _name(name, 120), 'kind': kind,
              'duration_minutes': _int(duration_minutes, 'duration (minutes)', 1, MAX_DURATION), 'price': price,
              'specialty_id': specialty_id or None, 'description': _optional(description, 500, 'description')}
    _with_translations(values, name_translations, 120)
    await serialize(session, _LOCK)
    service = await _get(session, Service, service_id, 'service') if service_id else Service()
    await _code_free(session, Service, values['code'], service_id, 'service')
    chosen = await session.get(Specialty, values['specialty_id']) if values['specialty_id'] is not None else None
    if values['specialty_id'] is not None and (chosen is None or (not chosen.is_active
                                                                  and service.specialty_id != chosen.id)):
        raise ValidationError(_('Please choose the specialty from the list.'), 'specialty')
    await _save(session, actor, service, values, entity='service', label=f'{values["code"]} {values["name"]}')
    return service


@action
async def set_service_active(session: AsyncSession, actor: Actor, service_id: int, active: bool) -> Service:
    """A service no longer offered is deactivated: it can't be booked or ordered; past bills keep it."""
    require(actor, Role.ADMIN)
    service = await _get(session, Service, service_id, 'service')
    await _set_active(session, actor, service, active, entity='service', label=f'{service.code} {service.name}')
    return service


# ---------------------------------------------------------------- medicines

@query
async def list_medicines(session: AsyncSession, actor: Actor, *, search: str = '', active: bool | None = None,
                         offset: int = 0, limit: int = 50) -> Page:
    require(actor, Role.ADMIN)
    where = []
    if search.strip():
        pattern = f'%{search.strip().lower()}%'
        where.append(or_(func.lower(Medicine.name).like(pattern), func.lower(Medicine.code).like(pattern),
                         func.lower(Medicine.generic_name).like(pattern)))
    if active is not None:
        where.append(Medicine.is_active == active)
    total = (await session.exec(select(func.count()).select_from(Medicine).where(*where))).one()
    rows = (await session.exec(select(Medicine).where(*where)
                               .order_by(col(Medicine.is_active).desc(), Medicine.name, Medicine.id)
                               .offset(max(offset, 0)).limit(max(1, min(limit, 500))))).all()
    return Page(list(rows), total)


@action
async def save_medicine(session: AsyncSession, actor: Actor, medicine_id: int | None, *, code: str, name: str,
                        unit: str, price: int, reorder_level, generic_name: str = '', form: str = 'tablet',
                        strength: str = '', drug_group: str = '', units_per_pack=1,
                        base_unit: str = '') -> Medicine:
    """Create or change a medicine. ``price`` is per ``unit`` (the unit counted in stock), in minor units.
    ``drug_group`` ("Penicillins", or any group typed) is matched against the patients' allergies. A unit sold as a
    pack (a blister, a box) holds ``units_per_pack`` of ``base_unit`` (tablets): what converts a prescription in
    tablets to a substitute sold per blister."""
    require(actor, Role.ADMIN)
    if not isinstance(price, int) or price < 0 or price > MAX_AMOUNT:
        raise ValidationError(_('The price must be zero or more.'), 'price')
    values = {'code': _code(code), 'name': _name(name, 120), 'unit': _name(unit, 20, 'unit'), 'price': price,
              'reorder_level': _int(reorder_level if reorder_level not in (None, '') else 0, 'reorder level', 0,
                                    10 ** 9),
              'generic_name': _optional(generic_name, 120, 'generic name'),
              'form': _optional(form, 30, 'form') or 'tablet', 'strength': _optional(strength, 40, 'strength'),
              'drug_group': _drug_group(drug_group), **_pack(units_per_pack, base_unit, unit)}
    await serialize(session, _LOCK)
    medicine = await _get(session, Medicine, medicine_id, 'medicine') if medicine_id else Medicine()
    await _code_free(session, Medicine, values['code'], medicine_id, 'medicine')
    await _save(session, actor, medicine, values, entity='medicine', label=f'{values["code"]} {values["name"]}')
    return medicine


def _pack(units_per_pack, base_unit: str, unit: str) -> dict:
    """How many dose units one unit sold holds: 1 (the unit sold is the dose unit) or a pack of ``base_unit``."""
    try:
        count = int(str(units_per_pack if units_per_pack not in (None, '') else 1).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= 100_000:
        raise ValidationError(_('The units per pack must be a whole number from 1 to 100000 (1 when the unit sold '
                                'is itself what a dose counts, e.g. a tablet).'), 'units_per_pack')
    base = clean_name(base_unit or '')
    if len(base) > 20:
        raise ValidationError(_('The unit inside the pack can have at most {limit} characters.').format(limit=20),
                              'base_unit')
    if search_key(base) == search_key(clean_name(unit or '')):
        base = ''
    if count > 1 and not base:
        raise ValidationError(_('A pack of {count} needs the unit inside it (e.g. tablet), different from the unit '
                                'sold.').format(count=count), 'base_unit')
    return {'units_per_pack': count, 'base_unit': base}


def _drug_group(text: str) -> str:
    """A group the clinic knows is stored by its key ("penicillins"); any other group as typed."""
    group = _optional(text, 60, 'drug group')
    return group_key(group) if group_key(group) in DRUG_GROUPS else group


@action
async def set_medicine_active(session: AsyncSession, actor: Actor, medicine_id: int, active: bool) -> Medicine:
    require(actor, Role.ADMIN)
    medicine = await _get(session, Medicine, medicine_id, 'medicine')
    await _set_active(session, actor, medicine, active, entity='medicine', label=f'{medicine.code} {medicine.name}')
    return medicine
