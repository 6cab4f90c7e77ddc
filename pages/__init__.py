"""One module per station. Importing this package imports every page module in it, which declares its pages;
``register()`` turns them into routes (main.py calls it each time the app is built)."""
import importlib
import pkgutil

from clinic_ui.routes import register_all

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_module.name}')


def register() -> None:
    register_all()
