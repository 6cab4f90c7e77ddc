"""Administration: staff accounts (create, edit, roles, reset password, unlock, deactivate)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, on_row, section_title, staff_action, staff_read
from models import Role
from models.types import utcnow
from services import clinic_settings, staff_admin
from services.access import Actor
from services.core.db import get_db
from services.core.events import StaffChanged

ROLES = {role.value: role.label for role in Role}
PAGE_SIZE = 50
COLUMNS = [
    {'name': 'name', 'label': 'Name', 'field': 'name', 'align': 'left'},
    {'name': 'username', 'label': 'User name', 'field': 'username', 'align': 'left'},
    {'name': 'role', 'label': 'Role', 'field': 'role', 'align': 'left'},
    {'name': 'state', 'label': 'State', 'field': 'state', 'align': 'left'},
    {'name': 'last_login', 'label': 'Last sign-in', 'field': 'last_login', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn flat dense no-caps color="primary" icon="edit" label="Edit" @click="$parent.$emit('edit', props.row.id)" />
</q-td>
'''
STATE_SLOT = r'''
<q-td :props="props">
  <q-badge :color="props.row.state_color" :label="props.row.state" />
</q-td>
'''


def _row(account: staff_admin.AccountRow, tz, now) -> dict:
    if not account.is_active:
        state, color = 'deactivated', 'grey-6'
    elif account.is_locked(now):
        state, color = 'locked', 'negative'
    elif account.must_change_password:
        state, color = 'must set password', 'warning'
    else:
        state, color = 'active', 'positive'
    role = account.role.label + (f' · {account.license_number}' if account.license_number else '')
    return {'id': account.id, 'name': account.full_name, 'username': account.username, 'role': role,
            'state': state, 'state_color': color,
            'last_login': account.last_login_at.astimezone(tz).strftime('%d/%m/%Y %H:%M')
            if account.last_login_at else '—'}


def show_password(full_name: str, password: str) -> None:
    """The temporary password, shown once, to hand over."""
    with ui.dialog() as dialog, ui.card().classes('max-w-md gap-2').mark('password-dialog'):
        ui.label(f'Temporary password for {full_name}').classes('text-lg font-semibold')
        ui.label(password).classes('text-2xl font-mono font-semibold text-primary select-all') \
            .mark('temporary-password')
        ui.label('Give it to the person. They choose their own password when they first sign in. '
                 'It is not shown again.').classes('text-sm text-slate-600')
        with ui.row().classes('w-full justify-end'):
            ui.button('Done', on_click=dialog.close).props('unelevated no-caps').mark('password-done')
    dialog.open()


async def open_account(actor: Actor, user_id: int | None) -> None:
    """The form for a new account (``user_id=None``) or an existing one, with its actions."""
    account = None
    if user_id is not None:
        async with get_db().read() as session:
            account = await staff_admin.get_account(session, actor, user_id)
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('account-dialog'):
        ui.label('New staff account' if account is None else account.full_name).classes('text-xl font-semibold')
        full_name = ui.input('Full name', value=account.full_name if account else '') \
            .props('outlined dense').classes('w-full').mark('account-full-name')
        username = ui.input('User name (for signing in)', value=account.username if account else '') \
            .props('outlined dense').classes('w-full').mark('account-username')
        if account is not None:
            username.props('readonly hint="The user name never changes."')
        role = ui.select(ROLES, label='Role', value=account.role.value if account else None) \
            .props('outlined dense').classes('w-full').mark('account-role')
        license_number = ui.input('License number (doctors)', value=(account.license_number or '') if account else '') \
            .props('outlined dense').classes('w-full').mark('account-license')
        license_number.bind_visibility_from(role, 'value', backward=lambda value: value == Role.DOCTOR.value)
        email = ui.input('Email (optional)', value=(account.email or '') if account else '') \
            .props('outlined dense').classes('w-full').mark('account-email')
        phone = ui.input('Phone (optional)', value=(account.phone or '') if account else '') \
            .props('outlined dense').classes('w-full').mark('account-phone')
        error = error_text()

        async def save() -> None:
            if role.value is None:
                error.set_text('Please choose the role.')
                return
            chosen = Role(role.value)
            if account is None:
                result = await staff_action(lambda s: staff_admin.create_account(
                    s, actor, username=username.value or '', full_name=full_name.value or '', role=chosen,
                    email=email.value, phone=phone.value, license_number=license_number.value), error_label=error)
                if result is not None:
                    dialog.close()
                    show_password(result[0].full_name, result[1])
                return
            saved = await staff_action(lambda s: staff_admin.update_account(
                s, actor, account.id, full_name=full_name.value or '', role=chosen, email=email.value,
                phone=phone.value, license_number=license_number.value), error_label=error,
                success='Account saved.')
            if saved is not None:
                dialog.close()

        async def reset() -> None:
            password = await staff_action(lambda s: staff_admin.reset_password(s, actor, account.id),
                                          error_label=error)
            if password is not None:
                dialog.close()
                show_password(account.full_name, password)

        async def unlock() -> None:
            if await staff_action(lambda s: staff_admin.unlock(s, actor, account.id), error_label=error,
                                  success='Account unlocked.') is not None:
                dialog.close()

        async def toggle_active() -> None:
            active = not account.is_active
            if await staff_action(lambda s: staff_admin.set_active(s, actor, account.id, active), error_label=error,
                                  success='Account reactivated.' if active else 'Account deactivated.') is not None:
                dialog.close()

        with ui.row().classes('w-full items-center gap-2'):
            if account is not None:
                with ui.button('More', icon='more_vert').props('flat no-caps').mark('account-more'):
                    with ui.menu().props('auto-close'):
                        ui.menu_item('Reset password…', on_click=reset).mark('reset-password')
                        if account.is_locked(utcnow()):
                            ui.menu_item('Unlock', on_click=unlock).mark('unlock')
                        ui.menu_item('Reactivate' if not account.is_active else 'Deactivate',
                                     on_click=toggle_active).mark('toggle-active')
            ui.space()
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            ui.button('Create account' if account is None else 'Save', on_click=save) \
                .props('unelevated no-caps').mark('save-account')
    dialog.open()


@staff_page(ADMIN, '/admin/staff', title='Staff accounts')
async def staff_page_(actor: Actor):
    tz = clinic_settings.current().tz
    state = {'offset': 0}
    back_link()
    with ui.row().classes('w-full items-center gap-3'):
        title = section_title('Staff accounts')
        ui.space()
        search = ui.input(placeholder='Search name, user name, email').props('outlined dense clearable debounce=300') \
            .classes('w-72').mark('staff-search')
        role_filter = ui.select({'': 'All roles', **ROLES}, value='').props('outlined dense').classes('w-48') \
            .mark('staff-role-filter')
        ui.button('New account', icon='person_add', on_click=lambda: open_account(actor, None)) \
            .props('unelevated no-caps').mark('new-account')
    table = ui.table(columns=COLUMNS, rows=[], row_key='id').props('flat bordered wrap-cells hide-pagination') \
        .classes('w-full').mark('staff-table')
    table.add_slot('body-cell-actions', ACTIONS_SLOT)
    table.add_slot('body-cell-state', STATE_SLOT)
    on_row(table, 'edit', lambda row: open_account(actor, row['id']))
    with ui.row().classes('w-full items-center justify-end gap-2'):
        position = ui.label().classes('text-sm text-slate-600')
        previous = ui.button(icon='chevron_left', on_click=lambda: move(-PAGE_SIZE)).props('flat round dense')
        following = ui.button(icon='chevron_right', on_click=lambda: move(PAGE_SIZE)).props('flat round dense')

    async def load(touch: bool = True) -> None:
        found = await staff_read(lambda session: staff_admin.list_accounts(
            session, actor, search=search.value or '', role=Role(role_filter.value) if role_filter.value else None,
            offset=state['offset'], limit=PAGE_SIZE), touch=touch)
        if found is None:
            return
        rows, total = found
        now = utcnow()
        table.rows = [_row(r, tz, now) for r in rows]
        title.set_text(f'Staff accounts ({total})')
        shown_to = state['offset'] + len(rows)
        position.set_text(f'{state["offset"] + 1 if rows else 0}–{shown_to} of {total}')
        previous.set_enabled(state['offset'] > 0)
        following.set_enabled(shown_to < total)

    async def move(step: int) -> None:
        state['offset'] = max(0, state['offset'] + step)
        await load()

    async def restart() -> None:
        state['offset'] = 0
        await load()

    search.on_value_change(restart)
    role_filter.on_value_change(restart)
    await load()
    subscribe(StaffChanged, lambda: load(touch=False))
