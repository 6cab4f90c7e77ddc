"""The doctor's consultation page for one visit: history at a glance, the record (saved as a draft while typing),
ICD-10 search, orders, the prescription with stock and allergy warnings, a printable prescription, the follow-up
booking, and finishing the consultation (the patient then goes to lab / pharmacy / cashier).

URL: ``/consultation/visits/{visit_id}`` (the worklist's "Start consultation" links here).
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from nicegui import background_tasks, ui

from clinic_ui import downloads
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import CONSULTATION
from clinic_ui.widgets import data_table, error_text, money, section_title, staff_action, staff_read
from models import BookingSource, OrderStatus, RecordStatus
from models.types import utcnow
from services import booking, clinic_settings, consultation, icd10, orders, prescriptions
from services.access import Actor
from services.consultation import RecordInput
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import DomainError
from services.core.events import OrdersChanged, VisitChanged
from services.prescriptions import LineInput

AUTOSAVE_DELAY_S = 1.0
STATUS_COLORS = {OrderStatus.PENDING: 'orange', OrderStatus.IN_PROGRESS: 'blue', OrderStatus.COMPLETED: 'positive',
                 OrderStatus.CANCELLED: 'grey'}
HISTORY_COLUMNS = [
    {'name': 'date', 'label': 'Date', 'field': 'date', 'sortable': False, 'style': 'width: 7rem'},
    {'name': 'visit', 'label': 'Diagnosis, services, medicines', 'field': 'search', 'sortable': False},
]
HISTORY_DATE_SLOT = r'''
<q-td :props="props" class="align-top">
  <div class="font-medium">{{ props.row.date }}</div>
  <div class="text-xs text-slate-500" style="white-space: normal">{{ props.row.doctor }}</div>
  <div class="text-xs text-slate-600 q-mt-xs" style="white-space: normal">{{ props.row.payment }}</div>
</q-td>
'''
HISTORY_VISIT_SLOT = r'''
<q-td :props="props" style="white-space: normal" class="align-top">
  <div class="font-medium">{{ props.row.diagnosis }}</div>
  <div v-if="props.row.vitals" class="text-xs text-slate-500">{{ props.row.vitals }}</div>
  <div v-for="line in props.row.lines" class="text-sm">{{ line }}</div>
  <div v-if="props.row.advice" class="text-xs text-slate-600">Advice: {{ props.row.advice }}</div>
</q-td>
'''


def history_rows(chart: consultation.Chart) -> list[dict]:
    """One row per past visit; ``search`` (lower case, no accents) is what the filter box searches."""
    return [{'id': h.visit_id, 'date': f'{h.visit_date:%d/%m/%Y}', 'doctor': h.doctor_name, 'payment': h.payment,
             'diagnosis': ' '.join(p for p in (h.diagnosis_code, h.diagnosis) if p) or h.reason or '—',
             'vitals': h.vitals, 'advice': h.advice,
             'lines': [*(f'• {s}' for s in h.services), *(f'℞ {m}' for m in h.medicines)],
             'search': h.search_text} for h in chart.history]


@staff_page(CONSULTATION, '/consultation/visits/{visit_id}', title='Consultation', reconnect_timeout=30)
async def chart_page(actor: Actor, visit_id: int):
    settings = clinic_settings.current()
    tz = settings.tz
    today = local_today(tz)
    await asyncio.to_thread(icd10.preload)
    try:
        async with get_db().write() as session:
            chart = await consultation.chart(session, actor, visit_id, today=today, currency_format=money)
    except DomainError as error:
        ui.label(str(error)).classes('text-lg text-negative')
        ui.link('← Back to my queue', '/consultation')
        return
    patient = chart.patient
    state = {'chart': chart}

    async def reload(record_view: bool = False) -> consultation.Chart:
        async with get_db().read() as session:
            state['chart'] = await consultation.chart(session, actor, visit_id, today=local_today(tz),
                                                      record_view=record_view, currency_format=money)
        return state['chart']

    # -- header: who, allergies, status, the main actions ----------------------------------------------------------
    with ui.row().classes('w-full items-start justify-between gap-3'):
        with ui.column().classes('gap-1 min-w-0'):
            ui.link('← My queue', '/consultation').classes('text-sm')
            age = patient.age_on(today)
            facts = [patient.code, f'{age} years' if age is not None else '', patient.sex if patient.sex != 'unknown'
                     else '', f'born {patient.date_of_birth:%d/%m/%Y}' if patient.date_of_birth else '', patient.phone]
            ui.label(patient.full_name).classes('text-2xl font-semibold leading-tight').mark('chart-patient')
            ui.label(' · '.join(f for f in facts if f)).classes('text-slate-600')
            with ui.row().classes('items-center gap-2'):
                if patient.allergies:
                    ui.chip(f'Allergies: {patient.allergies}', icon='warning', color='red-1', text_color='negative') \
                        .props('square').classes('font-medium').mark('allergies')
                else:
                    ui.chip('No known allergies', icon='check', color='green-1', text_color='positive') \
                        .props('square')
                status_chip = ui.chip('', color='teal-1', text_color='primary').props('square').mark('visit-status')
        with ui.row().classes('gap-2 items-center'):
            send_button = ui.button('Send to lab / imaging', icon='biotech', on_click=lambda: send_to_services()) \
                .props('outline no-caps').mark('send-to-services')
            finish_button = ui.button('Finish consultation', icon='task_alt', on_click=lambda: finish()) \
                .props('unelevated no-caps size=md').mark('finish-consultation')

    def show_status() -> None:
        c = state['chart']
        status_chip.set_text(f'Visit {c.visit.visit_date:%d/%m/%Y} · {consultation.status_text(c.visit.status)}'
                             + (f' · {c.doctor_name}' if c.doctor_name else ''))
        open_orders = any(o.status in orders.OPEN for o in c.orders)
        send_button.set_visibility(c.editable and open_orders)
        finish_button.set_visibility(c.editable)

    if not chart.can_edit:
        ui.label('You are viewing the chart of another doctor\'s patient: read only (this opening is logged).') \
            .classes('text-amber-800')

    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]'):
        with ui.column().classes('gap-4 min-w-0'):
            record_card = ui.card().classes('w-full gap-3')
            orders_card = ui.card().classes('w-full gap-3')
            rx_card = ui.card().classes('w-full gap-3')
            follow_card = ui.card().classes('w-full gap-3')
        with ui.column().classes('gap-2 min-w-0'):
            last = chart.history[0] if chart.history else None
            section_title('History', len(chart.history)).mark('history-title')
            if last:
                ui.label(f'Last visit {last.visit_date:%d/%m/%Y}: {last.diagnosis_code} {last.diagnosis}'.strip()) \
                    .classes('text-slate-600 text-sm')
            history = data_table(HISTORY_COLUMNS, history_rows(chart), empty='No earlier visits.', mark='history',
                                 rows_per_page=8)
            history.props('dense')
            history.add_slot('body-cell-date', HISTORY_DATE_SLOT)
            history.add_slot('body-cell-visit', HISTORY_VISIT_SLOT)

    # -- the record ------------------------------------------------------------------------------------------------
    inputs: dict[str, ui.input] = {}
    with record_card:
        with ui.row().classes('w-full items-center justify-between'):
            record_title = section_title('Consultation record')
            save_state = ui.label('').classes('text-sm text-slate-500').mark('save-state')
        with ui.grid().classes('w-full gap-3 grid-cols-1 md:grid-cols-2'):
            inputs['reason'] = ui.input('Reason for visit *').props('outlined').classes('md:col-span-2') \
                .mark('reason')
            inputs['symptoms'] = ui.textarea('Symptoms').props('outlined autogrow').classes('md:col-span-2') \
                .mark('symptoms')
        ui.label('Vitals').classes('text-sm font-medium text-slate-700')
        with ui.grid().classes('w-full gap-2 grid-cols-2 sm:grid-cols-4 lg:grid-cols-7'):
            for name, label in (('temperature_c', 'Temp °C'), ('pulse_bpm', 'Pulse /min'),
                                ('bp_systolic', 'BP sys'), ('bp_diastolic', 'BP dia'), ('spo2', 'SpO2 %'),
                                ('weight_kg', 'Weight kg'), ('height_cm', 'Height cm')):
                inputs[name] = ui.input(label).props('outlined dense inputmode=decimal').mark(name)
        with ui.grid().classes('w-full gap-3 grid-cols-1 md:grid-cols-2'):
            inputs['preliminary_diagnosis'] = ui.input('Preliminary diagnosis').props('outlined') \
                .classes('md:col-span-2').mark('preliminary')
            with ui.column().classes('gap-1 md:col-span-2'):
                with ui.row().classes('w-full gap-3 no-wrap items-start'):
                    inputs['diagnosis_code'] = ui.input('ICD-10 code').props('outlined').classes('w-36 shrink-0') \
                        .mark('diagnosis-code')
                    code_search = ui.input('Search ICD-10 (code or words)').props('outlined clearable') \
                        .classes('grow').mark('icd-search')
                code_hits = ui.column().classes('w-full gap-0')
            inputs['diagnosis'] = ui.input('Final diagnosis').props('outlined').classes('md:col-span-2') \
                .mark('diagnosis')
            inputs['advice'] = ui.textarea('Advice').props('outlined autogrow').mark('advice')
            inputs['notes'] = ui.textarea('Notes').props('outlined autogrow').mark('notes')
        record_error = error_text()
        with ui.row().classes('gap-2'):
            sign_button = ui.button('Sign record', icon='draw', on_click=lambda: sign()).props('outline no-caps') \
                .mark('sign-record')
            amend_button = ui.button('Amend…', icon='edit_note', on_click=lambda: open_amend()) \
                .props('outline no-caps').mark('amend')
        amendments_box = ui.column().classes('w-full gap-1')

    def form_data() -> RecordInput:
        return RecordInput(**{name: str(element.value or '') for name, element in inputs.items()})

    def fill_record(c: consultation.Chart) -> None:
        data = RecordInput.of(c.record)
        for name, element in inputs.items():
            element.set_value(getattr(data, name))
        signed = c.record is not None and c.record.status == RecordStatus.SIGNED
        for element in inputs.values():
            if signed or not c.can_edit or not c.editable:
                element.props('readonly')
            else:
                element.props(remove='readonly')
        code_search.set_visibility(c.can_edit and c.editable and not signed)
        sign_button.set_visibility(c.can_edit and c.editable and not signed)
        amend_button.set_visibility(c.can_edit and signed)
        if signed:
            record_title.set_text(f'Consultation record · signed {c.record.signed_at.astimezone(tz):%d/%m/%Y %H:%M}')
            save_state.set_text('Signed: changes only as amendments')
        elif c.record is not None:
            save_state.set_text(f'Draft saved {c.record.updated_at.astimezone(tz):%H:%M:%S}')
        amendments_box.clear()
        with amendments_box:
            if c.amendments:
                ui.label('Amendments').classes('text-sm font-medium text-slate-700 mt-2')
            for a in c.amendments:
                ui.label(f'{a.at.astimezone(tz):%d/%m/%Y %H:%M} · {a.by} · {a.field}: "{a.old_value}" → '
                         f'"{a.new_value}" ({a.reason})').classes('text-sm text-slate-600').mark('amendment')

    pending: dict = {'task': None, 'loading': False}

    async def save_draft() -> None:
        c = state['chart']
        if not c.editable or (c.record is not None and c.record.status == RecordStatus.SIGNED):
            return
        with record_card:
            record = await staff_action(lambda s: consultation.save_draft(s, actor, visit_id, form_data(),
                                                                          now=utcnow()), error_label=record_error)
        if record is not None:
            c.record = record
            save_state.set_text(f'Draft saved {record.updated_at.astimezone(tz):%H:%M:%S}')
        else:
            save_state.set_text('Not saved: see the message below')

    async def delayed_save() -> None:
        await asyncio.sleep(AUTOSAVE_DELAY_S)
        pending['task'] = None
        await save_draft()

    def changed() -> None:
        if pending['loading']:
            return
        c = state['chart']
        if not c.editable or not c.can_edit or (c.record and c.record.status == RecordStatus.SIGNED):
            return
        save_state.set_text('Saving…')
        if pending['task'] is not None:
            pending['task'].cancel()
        pending['task'] = background_tasks.create(delayed_save(), name='chart autosave')

    fill_record(chart)  # at once: the rest of the page loads with the saved record already in place
    for element in inputs.values():
        element.on_value_change(changed)

    async def search_codes() -> None:
        text = code_search.value or ''
        hits = icd10.search(text, limit=8) if len(text.strip()) >= 2 else []
        code_hits.clear()
        with code_hits:
            for hit in hits:
                ui.item(hit.label, on_click=lambda h=hit: pick_code(h)).props('clickable dense') \
                    .classes('w-full rounded hover:bg-teal-50').mark('icd-hit')
            if text.strip() and len(text.strip()) >= 2 and not hits:
                ui.label('No ICD-10 code matches.').classes('text-sm text-slate-500')

    def pick_code(hit: icd10.Code) -> None:
        inputs['diagnosis_code'].set_value(hit.code)
        if not inputs['diagnosis'].value:
            inputs['diagnosis'].set_value(hit.description)
        code_search.set_value('')
        code_hits.clear()

    code_search.on_value_change(search_codes)

    async def sign() -> None:
        if pending['task'] is not None:
            pending['task'].cancel()
            pending['task'] = None
        record = await staff_action(lambda s: consultation.sign(s, actor, visit_id, form_data(), now=utcnow()),
                                    error_label=record_error, success='Record signed.')
        if record is not None:
            await refresh_all(record=True)

    def open_amend() -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-xl gap-3').mark('amend-dialog'):
            section_title('Amend the signed record')
            ui.label('Change the fields in the form first, then give the reason here. The old values are kept.') \
                .classes('text-sm text-slate-600')
            reason = ui.input('Reason for the change *').props('outlined autofocus').mark('amend-reason')
            error = error_text()

            async def confirm() -> None:
                done = await staff_action(lambda s: consultation.amend(s, actor, visit_id, form_data(), reason.value,
                                                                       now=utcnow()),
                                          error_label=error, success='Amendment saved.')
                if done is not None:
                    dialog.close()
                    await refresh_all(record=True)

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                ui.button('Save amendment', on_click=confirm).props('unelevated no-caps').mark('confirm-amend')
        for element in inputs.values():
            element.props(remove='readonly')
        dialog.on('hide', lambda: fill_record(state['chart']))
        dialog.props('seamless position=bottom')
        dialog.open()

    # -- orders ----------------------------------------------------------------------------------------------------
    async with get_db().read() as session:
        orderable = await orders.orderable_services(session, actor) if chart.can_edit else []
    with orders_card:
        section_title('Lab, imaging and procedures')
        with ui.row().classes('w-full items-start gap-2') as order_form:
            service_select = ui.select({s.id: f'{s.name} · {money(s.price)}' for s in orderable}, multiple=True,
                                       label='Order services', with_input=True) \
                .props('outlined use-chips').classes('grow min-w-[16rem]').mark('order-services')
            order_notes = ui.input('Note to the technician').props('outlined').classes('w-64').mark('order-notes')
            ui.button('Order', icon='add', on_click=lambda: place_orders()).props('unelevated no-caps') \
                .classes('mt-2').mark('place-order')
        order_error = error_text()
        order_list = ui.column().classes('w-full gap-2')

    def show_orders(c: consultation.Chart) -> None:
        order_form.set_visibility(c.editable)
        order_list.clear()
        with order_list:
            if not c.orders:
                ui.label('Nothing ordered.').classes('text-slate-500 text-sm')
            for o in c.orders:
                with ui.column().classes('w-full gap-1 border rounded p-2').mark(f'order-{o.id}'):
                    with ui.row().classes('w-full items-center gap-2'):
                        ui.label(o.service_name).classes('font-medium')
                        ui.badge(o.status.value.replace('_', ' '), color=STATUS_COLORS[o.status]) \
                            .mark('order-status')
                        ui.label(money(o.price)).classes('text-sm text-slate-500')
                        ui.space()
                        if o.status == OrderStatus.PENDING and c.editable:
                            ui.button('Cancel', on_click=lambda order_id=o.id: cancel_order(order_id)) \
                                .props('flat dense no-caps color=negative')
                    if o.result_text:
                        ui.label(o.result_text).classes('text-sm whitespace-pre-line').mark('order-result')
                    for v in o.values:
                        ui.label(f'{v.name}: {v.value} {v.unit}' + (f' (ref. {v.range})' if v.range else '')) \
                            .classes('text-sm')
                    for f in o.files:
                        ui.link(f'📎 {f.filename}', f'/consultation/files/{f.id}', new_tab=True).classes('text-sm')

    async def place_orders() -> None:
        ids = list(service_select.value or [])
        created = await staff_action(lambda s: orders.place(s, actor, visit_id, ids, notes=order_notes.value or '',
                                                            now=utcnow()), error_label=order_error)
        if created:
            ui.notify(f'{len(created)} service(s) ordered: they are in the station\'s worklist.', type='positive')
            service_select.set_value([])
            order_notes.set_value('')
            await refresh_all()

    async def cancel_order(order_id: int) -> None:
        if await staff_action(lambda s: orders.cancel(s, actor, order_id, reason='Cancelled by the doctor',
                                                      now=utcnow()), success='Order cancelled.'):
            await refresh_all()

    # -- prescription ----------------------------------------------------------------------------------------------
    picked: dict = {'hit': None}
    with rx_card:
        with ui.row().classes('w-full items-center justify-between'):
            section_title('Prescription')
            print_link = ui.link('Print prescription (PDF)', '#', new_tab=True).mark('print-prescription')
        with ui.column().classes('w-full gap-2') as rx_form:
            medicine_search = ui.input('Find a medicine (name or code)').props('outlined clearable') \
                .classes('w-full').mark('medicine-search')
            medicine_hits = ui.column().classes('w-full gap-0')
            picked_label = ui.label('').classes('font-medium text-primary').mark('picked-medicine')
            with ui.grid().classes('w-full gap-2 grid-cols-2 md:grid-cols-5'):
                dose = ui.input('Dose', placeholder='1 tablet').props('outlined dense').mark('dose')
                times = ui.input('Times a day').props('outlined dense inputmode=numeric').mark('times')
                days = ui.input('Days').props('outlined dense inputmode=numeric').mark('days')
                quantity = ui.input('Quantity', placeholder='computed').props('outlined dense inputmode=numeric') \
                    .mark('quantity')
                instructions = ui.input('Instructions', placeholder='After meals').props('outlined dense') \
                    .classes('col-span-2 md:col-span-1').mark('instructions')
            with ui.row().classes('items-center gap-3'):
                ui.button('Add to prescription', icon='add', on_click=lambda: add_item()) \
                    .props('unelevated no-caps').mark('add-medicine')
                quantity_hint = ui.label('').classes('text-sm text-slate-600')
        rx_error = error_text()
        rx_list = ui.column().classes('w-full gap-1')

    def update_hint() -> None:
        hit = picked['hit']
        if hit is None:
            quantity_hint.set_text('')
            return
        try:
            computed = prescriptions.compute_quantity(dose.value or '', int(times.value or 0),
                                                      int(days.value or 0), hit.unit)
        except ValueError:
            computed = None
        quantity_hint.set_text(f'= {computed} {hit.unit}' if computed and not quantity.value else '')

    for element in (dose, times, days, quantity):
        element.on_value_change(update_hint)

    async def search_medicines() -> None:
        text = medicine_search.value or ''
        hits = []
        if len(text.strip()) >= 2:
            hits = await staff_read(lambda session: prescriptions.search_medicines(
                session, actor, text, today=local_today(tz), limit=8))
            if hits is None:
                return
        medicine_hits.clear()
        with medicine_hits:
            for hit in hits:
                with ui.item(on_click=lambda h=hit: pick_medicine(h)).props('clickable dense') \
                        .classes('w-full rounded hover:bg-teal-50').mark('medicine-hit'):
                    with ui.item_section():
                        ui.label(hit.name)
                    with ui.item_section().props('side'):
                        ui.label(f'{hit.on_hand} {hit.unit}' if hit.on_hand else 'out of stock') \
                            .classes('text-positive' if hit.on_hand else 'text-negative font-medium')

    def pick_medicine(hit: prescriptions.MedicineHit) -> None:
        picked['hit'] = hit
        picked_label.set_text(f'{hit.name} · {hit.on_hand} {hit.unit} in stock' if hit.on_hand
                              else f'{hit.name} · OUT OF STOCK')
        medicine_search.set_value('')
        medicine_hits.clear()
        update_hint()

    medicine_search.on_value_change(search_medicines)

    async def add_item() -> None:
        hit = picked['hit']
        line = LineInput(hit.id if hit else None, dose=dose.value or '', times_per_day=times.value or '',
                         duration_days=days.value or '', quantity=quantity.value or '',
                         instructions=instructions.value or '')
        added = await staff_action(lambda s: prescriptions.add_item(s, actor, visit_id, line,
                                                                    today=local_today(tz), now=utcnow()),
                                   error_label=rx_error)
        if added is None:
            return
        if added.warnings:
            ui.notify(f'{hit.name} added. Warning: {"; ".join(added.warnings)}', type='warning', multi_line=True,
                      timeout=8000)
        else:
            ui.notify(f'{hit.name} × {added.item.quantity} added.', type='positive')
        picked['hit'] = None
        picked_label.set_text('')
        for element in (dose, times, days, quantity, instructions):
            element.set_value('')
        await refresh_all()

    async def remove_item(item_id: int) -> None:
        await staff_action(lambda s: prescriptions.remove_item(s, actor, visit_id, item_id))
        await refresh_all()

    def show_prescription(c: consultation.Chart) -> None:
        rx = c.prescription
        draft = rx is None or rx.status.value == 'draft'
        rx_form.set_visibility(c.editable and draft)
        print_link.set_visibility(rx is not None and bool(rx.items))
        if rx is not None:
            print_link.props(f'href=/consultation/prescriptions/{rx.id}.pdf')
        rx_list.clear()
        with rx_list:
            if rx is None or not rx.items:
                ui.label('No medicines prescribed.').classes('text-slate-500 text-sm')
                return
            if not draft:
                ui.label(f'Issued to the pharmacy · {rx.status.value.replace("_", " ")}') \
                    .classes('text-sm text-slate-600')
            for item in rx.items:
                with ui.row().classes('w-full items-start gap-2 border-b py-1 no-wrap').mark('rx-item'):
                    with ui.column().classes('gap-0 grow min-w-0'):
                        ui.label(f'{item.medicine_name} × {item.quantity} {item.unit}').classes('font-medium')
                        ui.label(item.dosage + (f' · {item.instructions}' if item.instructions else '')) \
                            .classes('text-sm text-slate-600')
                        for warning in item.warnings:
                            ui.label(f'⚠ {warning}').classes('text-sm text-negative font-medium') \
                                .mark('rx-warning')
                    if draft and c.editable:
                        ui.button(icon='delete', on_click=lambda i=item.id: remove_item(i)) \
                            .props('flat round dense color=grey-7 aria-label="Remove"')

    # -- follow-up -------------------------------------------------------------------------------------------------
    with follow_card:
        section_title('Follow-up visit')
        with ui.row().classes('items-center gap-2') as follow_form:
            follow_in = ui.select({7: 'in 1 week', 14: 'in 2 weeks', 30: 'in 1 month', 90: 'in 3 months'},
                                  value=14, label='When').props('outlined dense').classes('w-40').mark('follow-in')
            ui.button('Show free times', icon='event', on_click=lambda: show_slots()).props('outline no-caps') \
                .mark('find-slots')
        follow_slots = ui.row().classes('w-full gap-1')
        follow_done = ui.label('').classes('text-positive').mark('follow-up-booked')

    async def show_slots() -> None:
        c = state['chart']
        if c.visit.doctor_id is None:
            return
        async with get_db().read() as session:
            service = await booking.consultation_service_for(session, c.visit.doctor_id)
            if service is None:
                ui.notify('This doctor has no consultation service on the price list.', type='warning')
                return
            start = local_today(tz) + timedelta(days=int(follow_in.value))
            slots = await booking.free_slots(session, service_id=service.id, doctor_ids=[c.visit.doctor_id],
                                             start_day=start, days=4, tz=tz, now=utcnow())
        follow_slots.clear()
        with follow_slots:
            shown = 0
            for day, day_slots in sorted(slots.items()):
                for slot in day_slots[:6]:
                    local = slot.start_at.astimezone(tz)
                    ui.button(f'{local:%a %d/%m %H:%M}', on_click=lambda s=slot, sv=service.id: book(s, sv)) \
                        .props('outline dense no-caps').mark('follow-slot')
                    shown += 1
            if not shown:
                ui.label('No free time in those days: try another week.').classes('text-sm text-slate-500')

    async def book(slot, service_id: int) -> None:
        c = state['chart']
        appointment = await staff_action(lambda s: booking.book(
            s, actor, patient_id=patient.id, service_id=service_id, doctor_id=slot.doctor_id, start_at=slot.start_at,
            source=BookingSource.IN_PERSON, tz=tz, now=utcnow(), reason=f'Follow-up of {c.visit.visit_date:%d/%m/%Y}'))
        if appointment is None:
            return
        reminder = await staff_action(lambda s: consultation.schedule_follow_up_reminder(
            s, actor, appointment.id, settings=settings, now=utcnow()))
        when = appointment.start_at.astimezone(tz)
        follow_done.set_text(f'Follow-up booked for {when:%A %d/%m/%Y %H:%M}.'
                             + (' A reminder email goes out the day before.' if reminder is not None
                                else ' (No email address: no reminder.)'))
        follow_slots.clear()

    # -- finishing -------------------------------------------------------------------------------------------------
    def ticket_text(label: str) -> str:
        return f' Ticket {label}: the patient can go there now.' if label else ''

    async def send_to_services() -> None:
        await flush_autosave()
        label = await staff_action(lambda s: consultation.send_to_services(s, actor, visit_id, tz=tz, now=utcnow()))
        if label is None:
            return
        ui.notify('Sent to the lab / imaging. The record stays a draft until the patient comes back.'
                  + ticket_text(label), type='positive', multi_line=True)
        ui.navigate.to('/consultation')

    async def flush_autosave() -> None:
        if pending['task'] is not None:
            pending['task'].cancel()
            pending['task'] = None
            await save_draft()

    async def finish() -> None:
        await flush_autosave()
        done = await staff_action(lambda s: consultation.finish(s, actor, visit_id, tz=tz, now=utcnow()),
                                  error_label=record_error)
        if done is None:
            return
        ui.notify(f'Consultation finished: the patient is now {consultation.status_text(done.status)}.'
                  + ticket_text(done.ticket_label), type='positive', multi_line=True)
        ui.navigate.to('/consultation')

    async def refresh_all(c: consultation.Chart | None = None, *, record: bool = False) -> None:
        """Show the fresh chart. The record form is refilled only when asked (after signing or amending): an
        update elsewhere on the page must never overwrite what the doctor is typing."""
        c = c or await reload()
        if record:
            pending['loading'] = True
            try:
                fill_record(c)
            finally:
                pending['loading'] = False
        show_orders(c)
        show_prescription(c)
        show_status()
        follow_form.set_visibility(c.can_edit)
        history.rows = history_rows(c)

    async def on_orders(event: OrdersChanged) -> None:
        if event.visit_id == visit_id:
            c = await reload()
            show_orders(c)
            show_status()

    async def on_visits(event: VisitChanged) -> None:
        if event.visit_id == visit_id:
            c = await reload()
            show_status()
            show_prescription(c)

    subscribe(OrdersChanged, on_orders)
    subscribe(VisitChanged, on_visits)
    await refresh_all(chart)  # the record was filled in when its form was built: what is typed meanwhile stays


@staff_file(CONSULTATION, '/consultation/files/{file_id}')
async def consultation_result_file(actor: Actor, file_id: int):
    return await downloads.result_file(actor, file_id)


@staff_file(CONSULTATION, '/consultation/prescriptions/{prescription_id}.pdf')
async def consultation_prescription_pdf(actor: Actor, prescription_id: int):
    return await downloads.prescription_pdf(actor, prescription_id)
