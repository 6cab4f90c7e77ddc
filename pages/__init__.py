"""One module, or one package, per station. Importing this package imports every page module in it (packages
included), which declares its pages; ``register()`` turns them into routes (main.py calls it each time the app is
built)."""
import importlib
import pkgutil

from clinic_ui.routes import register_all

for _module in pkgutil.walk_packages(__path__, prefix=f'{__name__}.'):
    importlib.import_module(_module.name)


def register() -> None:
    register_all()
