"""Sign in, sign out, first-admin setup, the start page, changing one's password and the language of one's screens."""
from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from clinic_ui import auth, tabs, theme, transaction
from clinic_ui.routes import public_page, staff_page
from clinic_ui.stations import ACCOUNT, HOME
from clinic_ui.widgets import error_text, run_action, staff_action
from services import clinic_settings, users
from services.access import Actor
from services.core import i18n
from services.core.i18n import N_, _

REASONS = {
    'idle': N_('You were signed out after a while without activity.'),
    'deactivated': N_('This account has been deactivated.'),
    'signed_out': N_('You have signed out.'),
    'ended': N_('Your password or access was changed, so you were signed out. Please sign in again.'),
    'expired': N_('Signing in took too long. Please try again.'),
}
CLINIC_LANGUAGE = 'clinic'  # the choice "the clinic's language" (stored as None)


async def _needs_setup() -> bool:
    return await transaction.read(users.needs_first_admin)


def _card_page(title: str) -> ui.card:
    """A small page with one card; ``title`` already translated."""
    theme.apply()
    ui.page_title(f'{title} · {clinic_settings.current().clinic_name}')
    with ui.column().classes('w-full min-h-screen items-center justify-center p-4'):
        with ui.card().classes('w-full max-w-sm p-6 gap-3') as card:
            ui.label(clinic_settings.current().clinic_name).classes('text-sm text-slate-500')
            ui.label(title).classes('text-2xl font-semibold')
    return card


class SignInForm:
    """User name and password; signed in, the browser goes on to ``target`` or the person's station."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        self.username = ui.input(_('User name')) \
            .props('outlined autofocus autocomplete=username autocapitalize=off name=username') \
            .classes('w-full').mark('username')
        self.password = ui.input(_('Password'), password=True, password_toggle_button=True) \
            .props('outlined autocomplete=current-password name=password').classes('w-full').mark('password')
        self.error = error_text()
        self.button = ui.button(_('Sign in'), on_click=self.sign_in).props('unelevated size=lg no-caps') \
            .classes('w-full').mark('sign-in')
        self.username.on('keydown.enter', lambda: self.password.run_method('focus'))
        self.password.on('keydown.enter', self.sign_in)

    async def sign_in(self) -> None:
        settings = clinic_settings.current()
        address = auth.client_address(auth.this_request())
        self.button.props('loading')
        try:
            signed_in = await run_action(
                lambda s: users.sign_in(s, self.username.value or '', self.password.value or '', address=address,
                                        max_failed=settings.max_failed_logins,
                                        lockout_minutes=settings.lockout_minutes),
                error_label=self.error, write=False)  # the service writes the outcome in a short transaction
        finally:
            self.button.props(remove='loading')
        if signed_in is None:
            self.password.set_value('')
            return
        ui.navigate.to(auth.begin_sign_in(signed_in.actor, signed_in.session_epoch,
                                          self.target or HOME[signed_in.actor.role].path))


class FirstAdminForm:
    """The first account of a new clinic: the administrator, signed in at once."""

    def __init__(self) -> None:
        ui.label(_('This clinic has no accounts yet. The first account is the administrator, who then adds '
                   'the staff, rooms, services and medicines.')).classes('text-sm text-slate-600')
        self.full_name = ui.input(_('Full name')).props('outlined autofocus').classes('w-full').mark('full-name')
        self.username = ui.input(_('User name'), placeholder=_('e.g. admin')) \
            .props('outlined autocapitalize=off autocomplete=username').classes('w-full').mark('username')
        self.email = ui.input(_('Email (optional)')).props('outlined type=email').classes('w-full').mark('email')
        self.password = ui.input(_('Password (at least 8 characters)'), password=True, password_toggle_button=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('password')
        self.repeat = ui.input(_('Repeat the password'), password=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('password-repeat')
        self.error = error_text()
        ui.button(_('Create account'), on_click=self.create).props('unelevated size=lg no-caps').classes('w-full') \
            .mark('create-admin')
        self.repeat.on('keydown.enter', self.create)

    async def create(self) -> None:
        actor = await run_action(lambda s: users.create_first_admin(
            s, username=self.username.value or '', full_name=self.full_name.value or '',
            email=self.email.value or None, password=self.password.value or '',
            password_repeat=self.repeat.value or ''), error_label=self.error)
        if actor is not None:
            ui.notify(_('Administrator account created.'), type='positive')
            ui.navigate.to(auth.begin_sign_in(actor, users.NEW_ACCOUNT_EPOCH, HOME[actor.role].path))


class PasswordForm:
    """The signed-in person chooses a new password; their other sessions end, this one carries on."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.card().classes('w-full max-w-md gap-3'):
            ui.label(_('Choose a new password')).classes('text-lg font-medium')
            self.current = ui.input(_('Current password'), password=True) \
                .props('outlined autocomplete=current-password').classes('w-full').mark('current-password')
            self.new = ui.input(_('New password (at least 8 characters)'), password=True, password_toggle_button=True) \
                .props('outlined autocomplete=new-password').classes('w-full').mark('new-password')
            self.repeat = ui.input(_('Repeat the new password'), password=True) \
                .props('outlined autocomplete=new-password').classes('w-full').mark('repeat-password')
            self.error = error_text()
            ui.button(_('Change password'), on_click=self.change).props('unelevated no-caps').mark('change-password')

    async def _change(self, session) -> int:
        epoch = await users.change_password(session, self.actor, current=self.current.value or '',
                                            new=self.new.value or '', repeat=self.repeat.value or '')
        # this browser carries on with the new epoch; done before the news of the change goes out (the bus
        # delivers on the next turn of the event loop), so only the other sessions end
        auth.sign_in(self.actor, epoch)
        return epoch

    async def change(self) -> None:
        if await staff_action(self._change, error_label=self.error) is not None:
            ui.notify(_('Password changed.'), type='positive')
            ui.navigate.to(HOME[self.actor.role].path)


class LanguageForm:
    """The language of the person's own screens: the clinic's, or one they choose. Saved, the page opens again in
    it (every page they open from then on is in it; pages already open elsewhere follow when opened again)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        clinic = i18n.LANGUAGES.get(clinic_settings.current().language, clinic_settings.current().language)
        options = {CLINIC_LANGUAGE: _("Clinic's language ({language})").format(language=clinic), **i18n.LANGUAGES}
        with ui.card().classes('w-full max-w-md gap-3'):
            ui.label(_('Language of your screens')).classes('text-lg font-medium')
            self.choice = ui.radio(options, value=actor.language if actor.language in i18n.LANGUAGES
                                   else CLINIC_LANGUAGE).props('size=lg').classes('text-base').mark('language')
            self.error = error_text()
            ui.button(_('Save'), on_click=self.save).props('unelevated no-caps').mark('save-language')

    async def save(self) -> None:
        chosen = None if self.choice.value == CLINIC_LANGUAGE else self.choice.value
        saved = await staff_action(lambda s: users.set_language(s, self.actor, chosen), error_label=self.error)
        if saved is not None:
            ui.navigate.to('/account/language')  # drawn again, in the language just chosen


@public_page('/', title='Clinic Flow')  # the product's name: not translated
async def start_page():
    if await _needs_setup():
        return RedirectResponse('/setup', status_code=303)
    actor = auth.session_actor()
    if actor is None:
        return RedirectResponse('/login', status_code=303)
    return RedirectResponse(HOME[actor.role].path, status_code=303)


@public_page('/login', title=N_('Sign in'))
async def login_page(next: str | None = None, reason: str | None = None):  # noqa: A002 - query parameter name
    if await _needs_setup():
        return RedirectResponse('/setup', status_code=303)
    target = auth.safe_next(next)
    actor = auth.session_actor()
    if actor is not None:
        return RedirectResponse(target or HOME[actor.role].path, status_code=303)
    with _card_page(_('Sign in')):
        if reason in REASONS:
            ui.label(_(REASONS[reason])).classes('text-sm bg-amber-50 text-amber-900 rounded p-2 w-full') \
                .mark('login-reason')
        SignInForm(target)
    return None


@public_page('/logout', title=N_('Sign out'))
async def logout_page(reason: str | None = None):
    actor = auth.session_actor(touch=False)
    if actor is not None:
        await transaction.write(lambda s: users.record_logout(s, actor, reason=reason or ''))
    reason = reason if reason in REASONS else 'signed_out'
    auth.sign_out(reason)
    browser = auth.browser_id()
    if browser:
        tabs.end_browser(browser, reason)  # the other open tabs of this browser follow at once
    return RedirectResponse(auth.login_url(reason=reason), status_code=303)


@public_page('/setup', title=N_('Set up the clinic'))
async def setup_page():
    if not await _needs_setup():
        return RedirectResponse('/login', status_code=303)
    with _card_page(_('Create the administrator account')):
        FirstAdminForm()
    return None


@staff_page(ACCOUNT, '/account/password', title=N_('Change password'))
async def change_password_page(actor: Actor):
    PasswordForm(actor)


@staff_page(ACCOUNT, '/account/language', title=N_('Language'))
async def language_page(actor: Actor):
    LanguageForm(actor)
