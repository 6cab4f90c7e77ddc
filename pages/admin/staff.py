"""Administration: staff accounts (create, edit, roles, reset password, unlock, deactivate)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, on_row, section_title, staff_read, translated_columns
from models import Role
from models.types import utcnow
from services import clinic_settings, staff_admin
from services.access import Actor
from services.core.events import StaffChanged
from services.core.i18n import N_, _

from .dialogs import open_account, roles
from .parts import PAGE_SIZE, Pager

COLUMNS = [
    {'name': 'name', 'label': N_('Name'), 'field': 'name', 'align': 'left'},
    {'name': 'username', 'label': N_('User name'), 'field': 'username', 'align': 'left'},
    {'name': 'role', 'label': N_('Role'), 'field': 'role', 'align': 'left'},
    {'name': 'state', 'label': N_('State'), 'field': 'state', 'align': 'left'},
    {'name': 'last_login', 'label': N_('Last sign-in'), 'field': 'last_login', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn flat dense no-caps color="primary" icon="edit" :label="props.row.edit"
         @click="$parent.$emit('edit', props.row.id)" />
</q-td>
'''
STATE_SLOT = r'''
<q-td :props="props">
  <q-badge :color="props.row.state_color" :label="props.row.state" />
</q-td>
'''


def _row(account: staff_admin.AccountRow, tz, now) -> dict:
    if not account.is_active:
        state, color = _('deactivated'), 'grey-6'
    elif account.is_locked(now):
        state, color = _('locked'), 'negative'
    elif account.must_change_password:
        state, color = _('must set password'), 'warning'
    else:
        state, color = _('active'), 'positive'
    role = _(account.role.label) + (f' · {account.license_number}' if account.license_number else '')
    return {'id': account.id, 'name': account.full_name, 'username': account.username, 'role': role,
            'state': state, 'state_color': color, 'edit': _('Edit'),
            'last_login': account.last_login_at.astimezone(tz).strftime('%d/%m/%Y %H:%M')
            if account.last_login_at else '—'}


class StaffList:
    """The accounts, searched and filtered in the database a page at a time; a row's Edit opens its dialog."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.tz = clinic_settings.current().tz
        with ui.row().classes('w-full items-center gap-3'):
            self.title = section_title(_('Staff accounts'))
            ui.space()
            self.search = ui.input(placeholder=_('Search name, user name, email')) \
                .props('outlined dense clearable debounce=300').classes('w-72').mark('staff-search')
            self.role = ui.select({'': _('All roles'), **roles()}, value='').props('outlined dense').classes('w-48') \
                .mark('staff-role-filter')
            ui.button(_('New account'), icon='person_add', on_click=self.create).props('unelevated no-caps') \
                .mark('new-account')
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination').classes('w-full').mark('staff-table')
        self.table.add_slot('body-cell-actions', ACTIONS_SLOT)
        self.table.add_slot('body-cell-state', STATE_SLOT)
        on_row(self.table, 'edit', self.edit)
        self.pager = Pager(self.load)
        self.search.on_value_change(self.pager.restart)
        self.role.on_value_change(self.pager.restart)

    async def load(self, touch: bool = True) -> None:
        role = Role(self.role.value) if self.role.value else None
        found = await staff_read(lambda s: staff_admin.list_accounts(
            s, self.actor, search=self.search.value or '', role=role, offset=self.pager.offset, limit=PAGE_SIZE),
            touch=touch)
        if found is not None:
            self.show(*found)

    def show(self, accounts: list[staff_admin.AccountRow], total: int) -> None:
        now = utcnow()
        self.table.rows = [_row(account, self.tz, now) for account in accounts]
        self.title.set_text(_('Staff accounts ({count})').format(count=total))
        self.pager.show(len(accounts), total)

    async def create(self) -> None:
        await open_account(self.actor, None)

    async def edit(self, row: dict) -> None:
        await open_account(self.actor, row['id'])


@staff_page(ADMIN, '/admin/staff', title=N_('Staff accounts'))
async def staff_page_(actor: Actor):
    back_link()
    accounts = StaffList(actor)
    await accounts.load()
    subscribe(StaffChanged, lambda: accounts.load(touch=False))
