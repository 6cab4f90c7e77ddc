"""The dialogs of the administration screens: a staff account, a temporary password, a new doctor, a display's
name. (The catalog's forms are in ``catalog_forms.py``.)"""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import error_text, staff_action, staff_read
from models import Role
from models.types import utcnow
from services import display_keys, doctors_admin, staff_admin
from services.access import Actor
from services.core import i18n
from services.core.i18n import _


def roles() -> dict[str, str]:
    """The roles to choose from, by value, as the reader says them."""
    return {role.value: _(role.label) for role in Role}


def languages() -> dict[str, str]:
    """The languages an account can work in, by code ('' for the clinic's own)."""
    return {'': _("Clinic's language"), **i18n.LANGUAGES}


def show_password(full_name: str, password: str) -> None:
    """The temporary password, shown once, to hand over."""
    with ui.dialog() as dialog, ui.card().classes('max-w-md gap-2').mark('password-dialog'):
        ui.label(_('Temporary password for {name}').format(name=full_name)).classes('text-lg font-semibold')
        ui.label(password).classes('text-2xl font-mono font-semibold text-primary select-all') \
            .mark('temporary-password')
        ui.label(_('Give it to the person. They choose their own password when they first sign in. '
                   'It is not shown again.')).classes('text-sm text-slate-600')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Done'), on_click=dialog.close).props('unelevated no-caps').mark('password-done')
    dialog.open()


async def open_account(actor: Actor, user_id: int | None) -> None:
    """The dialog of a new account (``user_id=None``) or of an existing one, read afresh."""
    account = None
    if user_id is not None:
        account = await staff_read(lambda s: staff_admin.get_account(s, actor, user_id))
        if account is None:
            return
    AccountDialog(actor, account)


def _field(label: str, value: str | None, mark: str) -> ui.input:
    return ui.input(label, value=value or '').props('outlined dense').classes('w-full').mark(mark)


class AccountDialog:
    """A staff account's details, and for an existing one: reset its password, unlock it, (re)activate it."""

    def __init__(self, actor: Actor, account: staff_admin.AccountRow | None) -> None:
        self.actor = actor
        self.account = account
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('account-dialog'):
            ui.label(_('New staff account') if account is None else account.full_name).classes('text-xl font-semibold')
            self._fields(account)
            self.error = error_text()
            with ui.row().classes('w-full items-center gap-2'):
                if account is not None:
                    self._more(account)
                ui.space()
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Create account') if account is None else _('Save'), on_click=self.save) \
                    .props('unelevated no-caps').mark('save-account')
        self.dialog.open()

    def _fields(self, account: staff_admin.AccountRow | None) -> None:
        self.full_name = _field(_('Full name'), account and account.full_name, 'account-full-name')
        self.username = _field(_('User name (for signing in)'), account and account.username, 'account-username')
        if account is not None:
            self.username.props('readonly')
            self.username.props['hint'] = _('The user name never changes.')
        self.role = ui.select(roles(), label=_('Role'), value=account.role.value if account else None) \
            .props('outlined dense').classes('w-full').mark('account-role')
        self.license_number = _field(_('License number (doctors)'), account and account.license_number,
                                     'account-license')
        self.license_number.bind_visibility_from(self.role, 'value', backward=lambda value: value == Role.DOCTOR.value)
        self.email = _field(_('Email (optional)'), account and account.email, 'account-email')
        self.phone = _field(_('Phone (optional)'), account and account.phone, 'account-phone')
        self.language = ui.select(languages(), label=_('Language'), value=(account and account.language) or '') \
            .props('outlined dense').classes('w-full').mark('account-language')

    def _more(self, account: staff_admin.AccountRow) -> None:
        with ui.button(_('More'), icon='more_vert').props('flat no-caps').mark('account-more'):
            with ui.menu().props('auto-close'):
                ui.menu_item(_('Reset password…'), on_click=self.reset_password).mark('reset-password')
                if account.is_locked(utcnow()):
                    ui.menu_item(_('Unlock'), on_click=self.unlock).mark('unlock')
                ui.menu_item(_('Reactivate') if not account.is_active else _('Deactivate'),
                             on_click=self.toggle_active).mark('toggle-active')

    async def save(self) -> None:
        if self.role.value is None:
            self.error.set_text(_('Please choose the role.'))
        elif self.account is None:
            await self.create(Role(self.role.value))
        else:
            await self.update(Role(self.role.value))

    async def create(self, role: Role) -> None:
        created = await staff_action(lambda s: staff_admin.create_account(
            s, self.actor, username=self.username.value or '', full_name=self.full_name.value or '', role=role,
            email=self.email.value, phone=self.phone.value, license_number=self.license_number.value,
            language=self.language.value or None), error_label=self.error)
        if created is not None:
            self.dialog.close()
            show_password(created[0].full_name, created[1])

    async def update(self, role: Role) -> None:
        account_id = self.account.id
        saved = await staff_action(lambda s: staff_admin.update_account(
            s, self.actor, account_id, full_name=self.full_name.value or '', role=role, email=self.email.value,
            phone=self.phone.value, license_number=self.license_number.value, language=self.language.value or None),
            error_label=self.error, success=_('Account saved.'))
        if saved is not None:
            self.dialog.close()

    async def reset_password(self) -> None:
        password = await staff_action(lambda s: staff_admin.reset_password(s, self.actor, self.account.id),
                                      error_label=self.error)
        if password is not None:
            self.dialog.close()
            show_password(self.account.full_name, password)

    async def unlock(self) -> None:
        if await staff_action(lambda s: staff_admin.unlock(s, self.actor, self.account.id), error_label=self.error,
                              success=_('Account unlocked.')) is not None:
            self.dialog.close()

    async def toggle_active(self) -> None:
        active = not self.account.is_active
        if await staff_action(lambda s: staff_admin.set_active(s, self.actor, self.account.id, active),
                              error_label=self.error,
                              success=_('Account reactivated.') if active else _('Account deactivated.')) is not None:
            self.dialog.close()


class NewDoctorDialog:
    """A doctor without a staff account (one who never signs in); created, the doctor's page opens."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('doctor-dialog'):
            ui.label(_('New doctor without a staff account')).classes('text-xl font-semibold')
            ui.label(_('Doctors who sign in are created on the Staff accounts page with the Doctor role.')) \
                .classes('text-sm text-slate-600')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.title = ui.input(_('Title'), value='Dr.').props('outlined dense').classes('w-24')
                self.full_name = ui.input(_('Full name')).props('outlined dense').classes('grow') \
                    .mark('doctor-full-name')
            self.license_number = ui.input(_('License number')).props('outlined dense').classes('w-full') \
                .mark('doctor-license')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Create'), on_click=self.create).props('unelevated no-caps').mark('save-doctor')
        self.dialog.open()

    async def create(self) -> None:
        doctor = await staff_action(lambda s: doctors_admin.create_doctor(
            s, self.actor, full_name=self.full_name.value or '', title=self.title.value or '',
            license_number=self.license_number.value or ''), error_label=self.error)
        if doctor is not None:
            self.dialog.close()
            ui.navigate.to(f'/admin/doctors/{doctor.id}')


class RenameDisplayDialog:
    """A new name for a display key."""

    def __init__(self, actor: Actor, key_id: int, name: str, on_renamed) -> None:
        self.actor = actor
        self.key_id = key_id
        self.on_renamed = on_renamed
        with ui.dialog() as self.dialog, ui.card().classes('w-96'):
            self.name = ui.input(_('Name'), value=name).props('outlined').classes('w-full').mark('rename-input')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.rename).props('unelevated no-caps').mark('rename-save')
        self.dialog.open()

    async def rename(self) -> None:
        done = await staff_action(lambda s: display_keys.rename(s, self.actor, self.key_id, self.name.value or ''),
                                  error_label=self.error)
        if done is not None:
            self.dialog.close()
            await self.on_renamed()
