"""Administration: the audit log (who did what and when), filtered and paged in the database."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, staff_read, translated_columns
from services import audit_view, clinic_settings, staff_admin
from services.access import Actor
from services.core.i18n import N_, _

from .parts import PAGE_SIZE, iso_date

COLUMNS = [
    {'name': 'at', 'label': N_('When'), 'field': 'at', 'align': 'left', 'classes': 'whitespace-nowrap',
     'headerStyle': 'width: 11rem'},
    {'name': 'who', 'label': N_('Who'), 'field': 'who', 'align': 'left', 'headerStyle': 'width: 9rem'},
    {'name': 'action', 'label': N_('What'), 'field': 'action', 'align': 'left'},
    {'name': 'subject', 'label': N_('On'), 'field': 'subject', 'align': 'left', 'headerStyle': 'width: 9rem'},
    {'name': 'detail', 'label': N_('Detail'), 'field': 'detail', 'align': 'left'},
]

KINDS_SHOWN = (N_('Sign-ins and passwords'), N_('Chart views'), N_('Edits'), N_('Payments and invoices'),
               N_('Refunds'), N_('Settings and backups'))  # audit_view.KIND_LABELS, marked for translation


class AuditFilters:
    """What to look for: the kind of entry, who, which days, and what it was about (``patient 42``)."""

    def __init__(self, people: dict[int, str], subject: str) -> None:
        with ui.row().classes('w-full items-end gap-2'):
            kinds = {key: _(label) for key, label in audit_view.KIND_LABELS.items()}
            self.kind = ui.select({'': _('Everything'), **kinds}, value='', label=_('Kind')) \
                .props('outlined dense').classes('w-56').mark('audit-kind')
            self.person = ui.select({0: _('Anyone'), **people}, value=0, label=_('Who'), with_input=True) \
                .props('outlined dense').classes('w-64').mark('audit-person')
            self.first_day = ui.input(_('From')).props('outlined dense type=date stack-label').classes('w-40') \
                .mark('audit-from')
            self.last_day = ui.input(_('To')).props('outlined dense type=date stack-label').classes('w-40') \
                .mark('audit-to')
            self.subject = ui.input(_('On (e.g. patient 42)'), value=subject).props('outlined dense clearable') \
                .classes('w-48').mark('audit-subject')

    def on_change(self, handler) -> None:
        for field in (self.kind, self.person, self.first_day, self.last_day):
            field.on_value_change(handler)
        self.subject.props('debounce=400')
        self.subject.on_value_change(handler)

    def subject_filter(self) -> tuple[str, int | None]:
        """``patient 42`` -> ``('patient', 42)``."""
        words = (self.subject.value or '').strip().lower().split()
        number = next((int(w) for w in words if w.isdigit()), None)
        return next((w for w in words if not w.isdigit()), ''), number


class AuditLog:
    """The entries that match, newest first, a page at a time (keyset paging: each page starts before the last
    entry of the one before)."""

    def __init__(self, actor: Actor, filters: AuditFilters) -> None:
        self.actor = actor
        self.filters = filters
        self.tz = clinic_settings.current().tz
        self.cursors: list[int | None] = [None]  # the "before id" of each page shown so far
        self.page = 0
        self.last_id: int | None = None
        self.has_more = False
        self.error = error_text()
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[],
                              row_key='id') \
            .props('flat bordered dense wrap-cells hide-pagination').classes('w-full').mark('audit-table')
        self.table.props['no-data-label'] = _('No entries match.')
        with ui.row().classes('w-full items-center justify-end gap-2'):
            self.position = ui.label().classes('text-sm text-slate-600')
            self.newer_button = ui.button(_('Newer'), icon='chevron_left', on_click=self.newer) \
                .props('flat no-caps dense').mark('audit-newer')
            self.older_button = ui.button(_('Older'), on_click=self.older) \
                .props('flat no-caps dense icon-right=chevron_right').mark('audit-older')
        filters.on_change(self.restart)

    async def load(self) -> None:
        f = self.filters
        name, number = f.subject_filter()
        page = await staff_read(lambda s: audit_view.search(
            s, self.actor, kind=f.kind.value or None, user_id=f.person.value or None, entity=name, entity_id=number,
            start_day=iso_date(f.first_day.value), end_day=iso_date(f.last_day.value), tz=self.tz,
            before_id=self.cursors[self.page], limit=PAGE_SIZE), error_label=self.error)
        if page is not None:
            self.show(page)

    def show(self, page: audit_view.AuditPage) -> None:
        self.table.rows = [{'id': e.id, 'at': e.at.astimezone(self.tz).strftime('%d/%m/%Y %H:%M:%S'),
                            'who': e.username or '—', 'action': audit_view.describe(e.action),
                            'subject': f'{e.entity} {e.entity_id or ""}'.strip(), 'detail': e.detail}
                           for e in page.entries]
        self.last_id, self.has_more = page.last_id, page.has_more
        start = self.page * PAGE_SIZE
        first, last = start + 1 if page.entries else 0, start + len(page.entries)
        self.position.set_text(_('Entries {first}–{last} (more older)').format(first=first, last=last)
                               if page.has_more else _('Entries {first}–{last}').format(first=first, last=last))
        self.newer_button.set_enabled(self.page > 0)
        self.older_button.set_enabled(page.has_more)

    async def older(self) -> None:
        if self.has_more:
            del self.cursors[self.page + 1:]
            self.cursors.append(self.last_id)
            self.page += 1
        await self.load()

    async def newer(self) -> None:
        if self.page > 0:
            self.page -= 1
        await self.load()

    async def restart(self) -> None:
        del self.cursors[1:]
        self.page = 0
        await self.load()


@staff_page(ADMIN, '/admin/audit', title=N_('Audit log'))
async def audit_page(actor: Actor, entity: str = '', entity_id: int | None = None):
    people = await staff_read(lambda s: staff_admin.people(s, actor))
    if people is None:
        return
    back_link()
    filters = AuditFilters(people, f'{entity} {entity_id}'.strip() if entity else '')
    entries = AuditLog(actor, filters)
    await entries.load()
