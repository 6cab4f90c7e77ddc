"""One module per station. Importing them declares their pages; ``register()`` turns them into routes."""
from clinic_ui.routes import register_all

from . import admin, cashier, consultation, lab, login, pharmacy, reception  # noqa: F401


def register() -> None:
    register_all()
