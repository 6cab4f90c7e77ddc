"""Sign in, sign out, first-admin setup, the start page and changing one's password."""
from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from clinic_ui import auth, tabs, theme
from clinic_ui.routes import public_page, staff_page
from clinic_ui.stations import ACCOUNT, HOME
from clinic_ui.widgets import error_text, run_action, staff_action
from services import clinic_settings, users
from services.access import Actor
from services.core.db import get_db

REASONS = {
    'idle': 'You were signed out after a while without activity.',
    'deactivated': 'This account has been deactivated.',
    'signed_out': 'You have signed out.',
    'ended': 'Your password or access was changed, so you were signed out. Please sign in again.',
    'expired': 'Signing in took too long. Please try again.',
}


async def _needs_setup() -> bool:
    async with get_db().read() as session:
        return await users.needs_first_admin(session)


def _card_page(title: str) -> ui.card:
    theme.apply()
    ui.page_title(f'{title} · {clinic_settings.current().clinic_name}')
    with ui.column().classes('w-full min-h-screen items-center justify-center p-4'):
        with ui.card().classes('w-full max-w-sm p-6 gap-3') as card:
            ui.label(clinic_settings.current().clinic_name).classes('text-sm text-slate-500')
            ui.label(title).classes('text-2xl font-semibold')
    return card


@public_page('/', title='Clinic Flow')
async def start_page():
    if await _needs_setup():
        return RedirectResponse('/setup', status_code=303)
    actor = auth.session_actor()
    if actor is None:
        return RedirectResponse('/login', status_code=303)
    return RedirectResponse(HOME[actor.role].path, status_code=303)


@public_page('/login', title='Sign in')
async def login_page(next: str | None = None, reason: str | None = None):  # noqa: A002 - query parameter name
    if await _needs_setup():
        return RedirectResponse('/setup', status_code=303)
    target = auth.safe_next(next)
    actor = auth.session_actor()
    if actor is not None:
        return RedirectResponse(target or HOME[actor.role].path, status_code=303)

    with _card_page('Sign in'):
        if reason in REASONS:
            ui.label(REASONS[reason]).classes('text-sm bg-amber-50 text-amber-900 rounded p-2 w-full') \
                .mark('login-reason')
        username = ui.input('User name').props('outlined autofocus autocomplete=username autocapitalize=off name=username') \
            .classes('w-full').mark('username')
        password = ui.input('Password', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=current-password name=password').classes('w-full').mark('password')
        error = error_text()

        async def submit() -> None:
            settings = clinic_settings.current()
            address = auth.client_address(auth.this_request())
            button.props('loading')
            try:
                signed_in = await run_action(
                    lambda s: users.sign_in(s, username.value or '', password.value or '', address=address,
                                            max_failed=settings.max_failed_logins,
                                            lockout_minutes=settings.lockout_minutes),
                    error_label=error, write=False)  # the service writes the outcome in a short transaction
            finally:
                button.props(remove='loading')
            if signed_in is None:
                password.set_value('')
                return
            ui.navigate.to(auth.begin_sign_in(signed_in.actor, signed_in.session_epoch,
                                              target or HOME[signed_in.actor.role].path))

        button = ui.button('Sign in', on_click=submit).props('unelevated size=lg no-caps').classes('w-full') \
            .mark('sign-in')
        username.on('keydown.enter', lambda: password.run_method('focus'))
        password.on('keydown.enter', submit)
    return None


@public_page('/logout', title='Sign out')
async def logout_page(reason: str | None = None):
    actor = auth.session_actor(touch=False)
    if actor is not None:
        async with get_db().write() as session:
            await users.record_logout(session, actor, reason=reason or '')
    auth.sign_out()
    reason = reason if reason in REASONS else 'signed_out'
    browser = auth.browser_id()
    if browser:
        tabs.end_browser(browser, reason)  # the other open tabs of this browser follow at once
    return RedirectResponse(auth.login_url(reason=reason), status_code=303)


@public_page('/setup', title='Set up the clinic')
async def setup_page():
    if not await _needs_setup():
        return RedirectResponse('/login', status_code=303)
    with _card_page('Create the administrator account'):
        ui.label('This clinic has no accounts yet. The first account is the administrator, who then adds '
                 'the staff, rooms, services and medicines.').classes('text-sm text-slate-600')
        full_name = ui.input('Full name').props('outlined autofocus').classes('w-full').mark('full-name')
        username = ui.input('User name', placeholder='e.g. admin') \
            .props('outlined autocapitalize=off autocomplete=username').classes('w-full').mark('username')
        email = ui.input('Email (optional)').props('outlined type=email').classes('w-full').mark('email')
        password = ui.input('Password (at least 8 characters)', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('password')
        repeat = ui.input('Repeat the password', password=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('password-repeat')
        error = error_text()

        async def submit() -> None:
            actor = await run_action(lambda s: users.create_first_admin(
                s, username=username.value or '', full_name=full_name.value or '', email=email.value or None,
                password=password.value or '', password_repeat=repeat.value or ''), error_label=error)
            if actor is not None:
                ui.notify('Administrator account created.', type='positive')
                ui.navigate.to(auth.begin_sign_in(actor, users.NEW_ACCOUNT_EPOCH, HOME[actor.role].path))

        ui.button('Create account', on_click=submit).props('unelevated size=lg no-caps').classes('w-full') \
            .mark('create-admin')
        repeat.on('keydown.enter', submit)
    return None


@staff_page(ACCOUNT, '/account/password', title='Change password')
async def change_password_page(actor: Actor):
    with ui.card().classes('w-full max-w-md gap-3'):
        ui.label('Choose a new password').classes('text-lg font-medium')
        current = ui.input('Current password', password=True).props('outlined autocomplete=current-password') \
            .classes('w-full').mark('current-password')
        new = ui.input('New password (at least 8 characters)', password=True, password_toggle_button=True) \
            .props('outlined autocomplete=new-password').classes('w-full').mark('new-password')
        repeat = ui.input('Repeat the new password', password=True).props('outlined autocomplete=new-password') \
            .classes('w-full').mark('repeat-password')
        error = error_text()

        async def change(session) -> int:
            epoch = await users.change_password(session, actor, current=current.value or '', new=new.value or '',
                                                repeat=repeat.value or '')
            # this browser carries on with the new epoch; done before the news of the change goes out (the bus
            # delivers on the next turn of the event loop), so only the other sessions end
            auth.sign_in(actor, epoch)
            return epoch

        async def submit() -> None:
            done = await staff_action(change, error_label=error)
            if done is None:
                return
            ui.notify('Password changed.', type='positive')
            ui.navigate.to(HOME[actor.role].path)

        ui.button('Change password', on_click=submit).props('unelevated no-caps').mark('change-password')
