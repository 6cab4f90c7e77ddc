"""Administration: doctors, their specialties and services, weekly hours per room, and leave."""
from __future__ import annotations

from datetime import date

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, data_table, error_text, on_row, section_title, staff_action
from services import catalog, clinic_settings, doctors_admin
from services.access import Actor
from services.core.db import get_db
from services.core.errors import NotFound
from services.core.events import StaffChanged
from services.doctors_admin import WEEKDAYS

COLUMNS = [
    {'name': 'name', 'label': 'Doctor', 'field': 'name'},
    {'name': 'license', 'label': 'License', 'field': 'license'},
    {'name': 'specialties', 'label': 'Specialties', 'field': 'specialties'},
    {'name': 'services', 'label': 'Services', 'field': 'services'},
    {'name': 'hours', 'label': 'Works', 'field': 'hours'},
    {'name': 'queue', 'label': 'Queue', 'field': 'queue'},
    {'name': 'account', 'label': 'Account', 'field': 'account'},
    {'name': 'state', 'label': 'State', 'field': 'state'},
]
HOURS_SLOT = r'''
<q-td :props="props">
  <q-btn flat dense round icon="delete" color="negative" aria-label="Remove"
         @click="$parent.$emit('remove', props.row.id)" />
</q-td>
'''
TIME_OPTIONS = [f'{h:02d}:{m:02d}' for h in range(5, 23) for m in (0, 15, 30, 45)]


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


async def open_new_doctor(actor: Actor) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('doctor-dialog'):
        ui.label('New doctor without a staff account').classes('text-xl font-semibold')
        ui.label('Doctors who sign in are created on the Staff accounts page with the Doctor role.') \
            .classes('text-sm text-slate-600')
        with ui.row().classes('w-full gap-2 no-wrap'):
            title = ui.input('Title', value='Dr.').props('outlined dense').classes('w-24')
            full_name = ui.input('Full name').props('outlined dense').classes('grow').mark('doctor-full-name')
        license_number = ui.input('License number').props('outlined dense').classes('w-full') \
            .mark('doctor-license')
        error = error_text()

        async def save() -> None:
            doctor = await staff_action(lambda s: doctors_admin.create_doctor(
                s, actor, full_name=full_name.value or '', title=title.value or '',
                license_number=license_number.value or ''), error_label=error)
            if doctor is not None:
                dialog.close()
                ui.navigate.to(f'/admin/doctors/{doctor.id}')

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            ui.button('Create', on_click=save).props('unelevated no-caps').mark('save-doctor')
    dialog.open()


@staff_page(ADMIN, '/admin/doctors', title='Doctors & schedules')
async def doctors_page(actor: Actor):
    async def rows() -> list[dict]:
        async with get_db().read() as session:
            doctors = await doctors_admin.list_doctors(session, actor)
        return [{'id': d.id, 'name': d.name, 'license': d.license_number, 'specialties': d.specialties or '—',
                 'services': d.services, 'hours': d.hours, 'queue': d.queue_prefix, 'account': d.username or '—',
                 'state': 'active' if d.is_active else 'deactivated'} for d in doctors]

    back_link()
    first = await rows()
    with ui.row().classes('w-full items-center'):
        title = section_title('Doctors', len(first))
        ui.space()
        ui.button('New doctor', icon='add', on_click=lambda: open_new_doctor(actor)).props('flat no-caps') \
            .mark('new-doctor')
        ui.button('New doctor account', icon='person_add', on_click=lambda: ui.navigate.to('/admin/staff')) \
            .props('unelevated no-caps')
    ui.label('Click a doctor to set specialties, services, weekly hours and leave.').classes('text-sm text-slate-600')
    table = data_table(COLUMNS, first, empty='No doctors yet: create a doctor account on the staff page.',
                       mark='doctors')
    on_row(table, 'rowClick', lambda row: ui.navigate.to(f'/admin/doctors/{row["id"]}'))
    table.props('table-class="cursor-pointer"')

    async def refresh() -> None:
        fresh = await rows()
        table.rows = fresh
        title.set_text(f'Doctors ({len(fresh)})')

    subscribe(StaffChanged, refresh)


@staff_page(ADMIN, '/admin/doctors/{doctor_id}', title='Doctor')
async def doctor_page(actor: Actor, doctor_id: int):
    settings = clinic_settings.current()
    async with get_db().read() as session:
        info = await doctors_admin.detail(session, actor, doctor_id)
        specialties = {s.id: s.name for s in await catalog.list_specialties(session, actor)}
        services = {s.id: f'{s.name} ({s.duration_minutes} min)'
                    for s in (await catalog.list_services(session, actor, limit=500)).rows
                    if s.is_active or s.id in info.service_ids}
        rooms = {r.id: f'{r.code} · {r.name}' for r in await catalog.list_rooms(session, actor, active_only=True)}
    doctor = info.doctor
    ui.link('← Doctors', '/admin/doctors').classes('text-sm text-primary no-underline')
    with ui.row().classes('w-full items-center gap-3'):
        heading = ui.label(doctors_admin.doctor_name(doctor)).classes('text-2xl font-semibold') \
            .mark('doctor-heading')
        ui.badge(f'Queue {info.queue_prefix}' if info.queue_prefix else 'no queue').props('outline')
        if info.username:
            ui.badge(f'signs in as {info.username}').props('outline color=grey-7')
        state_badge = ui.badge('active' if doctor.is_active else 'deactivated') \
            .props(f'color={"positive" if doctor.is_active else "grey-6"}')

    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
        with ui.card().classes('gap-2'):
            section_title('Details')
            with ui.row().classes('w-full gap-2 no-wrap'):
                title = ui.input('Title', value=doctor.title).props('outlined dense').classes('w-24')
                full_name = ui.input('Full name', value=doctor.full_name).props('outlined dense').classes('grow')
            license_number = ui.input('License number', value=doctor.license_number).props('outlined dense') \
                .classes('w-full').mark('doctor-license')
            with ui.row().classes('w-full gap-2 no-wrap'):
                phone = ui.input('Phone', value=doctor.phone or '').props('outlined dense').classes('grow')
                email = ui.input('Email', value=doctor.email or '').props('outlined dense').classes('grow')
            details_error = error_text()

            async def save_details() -> None:
                saved = await staff_action(lambda s: doctors_admin.update_doctor(
                    s, actor, doctor_id, full_name=full_name.value or '', title=title.value or '',
                    license_number=license_number.value or '', phone=phone.value, email=email.value),
                    error_label=details_error, success='Saved.')
                if saved is not None:
                    heading.set_text(doctors_admin.doctor_name(saved))

            async def toggle_active() -> None:
                active = not doctor.is_active
                saved = await staff_action(lambda s: doctors_admin.set_active(s, actor, doctor_id, active),
                                           error_label=details_error)
                if saved is not None:
                    doctor.is_active = saved.is_active
                    state_badge.set_text('active' if saved.is_active else 'deactivated')
                    state_badge.props(f'color={"positive" if saved.is_active else "grey-6"}')
                    active_button.set_text('Deactivate' if saved.is_active else 'Reactivate')

            with ui.row().classes('w-full justify-end'):
                active_button = ui.button('Deactivate' if doctor.is_active else 'Reactivate', on_click=toggle_active) \
                    .props('flat no-caps color=grey-8')
                ui.button('Save details', on_click=save_details).props('unelevated no-caps').mark('save-details')

        with ui.card().classes('gap-2'):
            section_title('Specialties and services')
            chosen_specialties = ui.select(specialties, multiple=True, value=info.specialty_ids,
                                           label='Specialties').props('outlined dense use-chips') \
                .classes('w-full').mark('doctor-specialties')
            chosen_services = ui.select(services, multiple=True, value=info.service_ids,
                                        label='Services the doctor provides (what patients can book)') \
                .props('outlined dense use-chips').classes('w-full').mark('doctor-services')
            if not specialties or not services:
                ui.link('Add specialties and services in the catalog first', '/admin/catalog').classes('text-sm')
            offer_error = error_text()

            async def save_offer() -> None:
                await staff_action(lambda s: doctors_admin.set_offer(
                    s, actor, doctor_id, specialty_ids=list(chosen_specialties.value or []),
                    service_ids=list(chosen_services.value or [])), error_label=offer_error, success='Saved.')

            with ui.row().classes('w-full justify-end'):
                ui.button('Save', on_click=save_offer).props('unelevated no-caps').mark('save-offer')

        with ui.card().classes('gap-2'):
            section_title('Weekly hours')
            hours_table = ui.table(columns=[
                {'name': 'day', 'label': 'Day', 'field': 'day', 'align': 'left'},
                {'name': 'time', 'label': 'Time', 'field': 'time', 'align': 'left'},
                {'name': 'room', 'label': 'Room', 'field': 'room', 'align': 'left'},
                {'name': 'remove', 'label': '', 'field': 'id', 'align': 'right'}], rows=[], row_key='id') \
                .props('flat bordered dense hide-pagination no-data-label="No hours yet: the doctor cannot be booked."') \
                .classes('w-full').mark('hours-table')
            hours_table.add_slot('body-cell-remove', HOURS_SLOT)
            days = ui.select({i: name for i, name in enumerate(WEEKDAYS)}, multiple=True, value=[0, 1, 2, 3, 4],
                             label='Days').props('outlined dense use-chips').classes('w-full').mark('hours-days')
            with ui.row().classes('w-full gap-2 no-wrap'):
                start = ui.select(TIME_OPTIONS, value='08:00', label='From').props('outlined dense') \
                    .classes('w-28').mark('hours-start')
                end = ui.select(TIME_OPTIONS, value='12:00', label='To').props('outlined dense') \
                    .classes('w-28').mark('hours-end')
                room = ui.select(rooms, label='Room', value=next(iter(rooms), None)).props('outlined dense') \
                    .classes('grow').mark('hours-room')
            if not rooms:
                ui.link('Add rooms in the catalog first', '/admin/catalog?tab=rooms').classes('text-sm')
            hours_error = error_text()

            async def add_hours() -> None:
                await staff_action(lambda s: doctors_admin.add_hours(
                    s, actor, doctor_id, weekdays=list(days.value or []), start=start.value or '',
                    end=end.value or '', room_id=room.value), error_label=hours_error, success='Hours added.')

            async def remove_hours(row: dict) -> None:
                await staff_action(lambda s: doctors_admin.remove_hours(s, actor, row['id'], tz=settings.tz),
                                   error_label=hours_error, success='Hours removed.')

            on_row(hours_table, 'remove', remove_hours)
            with ui.row().classes('w-full justify-end'):
                ui.button('Add hours', icon='add', on_click=add_hours).props('unelevated no-caps').mark('add-hours')

        with ui.card().classes('gap-2'):
            section_title('Days off and leave')
            leave_table = ui.table(columns=[
                {'name': 'days', 'label': 'Days', 'field': 'days', 'align': 'left'},
                {'name': 'reason', 'label': 'Reason', 'field': 'reason', 'align': 'left'},
                {'name': 'remove', 'label': '', 'field': 'id', 'align': 'right'}], rows=[], row_key='id') \
                .props('flat bordered dense hide-pagination no-data-label="No leave planned."').classes('w-full') \
                .mark('leave-table')
            leave_table.add_slot('body-cell-remove', HOURS_SLOT)
            with ui.row().classes('w-full gap-2 no-wrap'):
                first_day = ui.input('First day').props('outlined dense type=date').classes('grow') \
                    .mark('leave-start')
                last_day = ui.input('Last day').props('outlined dense type=date').classes('grow').mark('leave-end')
            reason = ui.input('Reason (optional)').props('outlined dense').classes('w-full').mark('leave-reason')
            leave_error = error_text()

            async def add_leave() -> None:
                begin, finish = _date(first_day.value), _date(last_day.value)
                if begin is None or finish is None:
                    leave_error.set_text('Please enter the first and the last day.')
                    return
                if await staff_action(lambda s: doctors_admin.add_leave(
                        s, actor, doctor_id, start_date=begin, end_date=finish, reason=reason.value or '',
                        tz=settings.tz), error_label=leave_error, success='Leave added.') is not None:
                    first_day.set_value('')
                    last_day.set_value('')
                    reason.set_value('')

            async def remove_leave(row: dict) -> None:
                await staff_action(lambda s: doctors_admin.remove_leave(s, actor, row['id']),
                                   error_label=leave_error, success='Leave removed.')

            on_row(leave_table, 'remove', remove_leave)
            with ui.row().classes('w-full justify-end'):
                ui.button('Add leave', icon='add', on_click=add_leave).props('unelevated no-caps').mark('add-leave')

    def show(detail: doctors_admin.DoctorDetail) -> None:
        hours_table.rows = [{'id': h.id, 'day': WEEKDAYS[h.weekday],
                             'time': f'{h.start_time:%H:%M}–{h.end_time:%H:%M}', 'room': h.room}
                            for h in detail.hours]
        leave_table.rows = [{'id': leave.id, 'days': f'{leave.start_date:%d/%m/%Y} – {leave.end_date:%d/%m/%Y}',
                             'reason': leave.reason or '—'} for leave in detail.leaves]

    show(info)

    async def refresh(event: StaffChanged) -> None:
        if event.doctor_id != doctor_id:
            return
        async with get_db().read() as session:
            try:
                fresh = await doctors_admin.detail(session, actor, doctor_id)
            except NotFound:
                return
        show(fresh)

    subscribe(StaffChanged, refresh)
