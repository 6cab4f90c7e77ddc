"""Domain errors: each carries a message written for the person at the screen, in their language."""
from .i18n import _


class DomainError(Exception):
    """Bad input or a rule that forbids the action. ``str(error)`` is shown to the user as is."""


class ValidationError(DomainError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class Conflict(DomainError):
    """The action clashes with the current state (already taken, already done, changed meanwhile)."""


class AllergyConflict(Conflict):
    """The medicine matches an allergy of the patient: nothing was added. ``allergies`` are the matching entries as
    they read ("Penicillins (rash, severe)"); prescribing it anyway needs a reason."""

    def __init__(self, medicine_name: str, allergies: list[str]) -> None:
        super().__init__(_("{medicine} matches the patient's allergy: {allergies}. Nothing was added. To prescribe "
                           'it anyway, give the reason.').format(
                               medicine=medicine_name, allergies='; '.join(allergies)))
        self.medicine_name = medicine_name
        self.allergies = allergies


class AuthenticationFailed(DomainError):
    pass


class ResultsPending(Conflict):
    """The consultation cannot end yet: ordered tests have no result. The doctor chooses to wait for them (the
    patient goes to the lab and comes back) or to finish now without waiting."""
