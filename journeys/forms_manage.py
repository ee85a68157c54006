"""Forms for managing touchpoints, personas, journey steps, metrics, imports and API tokens."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from crm.kernel.models import User
from crm.kernel.uploads import CsvFileField
from journeys.access import import_locations_for
from journeys.importer import DEFAULT_TOUCHPOINT
from journeys.models import JourneyStep, Persona, Touchpoint, TouchpointMetric


class _Submit:
    submit_label = "Save"

    def _helper(self):
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", self.submit_label, css_class="btn-lg"))


class TouchpointForm(_Submit, forms.ModelForm):
    class Meta:
        model = Touchpoint
        fields = ["name", "slug", "channel", "stage", "icon", "position", "is_active"]
        help_texts = {
            "slug": "Short id used by imports and the API, e.g. in-store.",
            "is_active": "Untick to retire it.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()


class PersonaForm(_Submit, forms.ModelForm):
    class Meta:
        model = Persona
        fields = ["name", "summary", "goals", "needs", "frustrations", "preferred_touchpoints", "is_active"]
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 2}),
            "needs": forms.Textarea(attrs={"rows": 2}),
            "frustrations": forms.Textarea(attrs={"rows": 2}),
            "preferred_touchpoints": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_touchpoints"].queryset = Touchpoint.objects.filter(is_active=True)
        self._helper()


class JourneyStepForm(_Submit, forms.ModelForm):
    class Meta:
        model = JourneyStep
        fields = [
            "stage",
            "touchpoint",
            "position",
            "customer_goal",
            "pain_points",
            "moment_that_matters",
            "improvement_idea",
        ]
        widgets = {
            "pain_points": forms.Textarea(attrs={"rows": 2}),
            "improvement_idea": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True)
        self._helper()


class InteractionImportForm(forms.Form):
    file = CsvFileField(label="CSV file", help_text="Larger files: the import_interactions command.")
    default_location = forms.ModelChoiceField(queryset=None, required=False, help_text="For rows without a location.")
    default_touchpoint = forms.ModelChoiceField(
        queryset=None, required=False, help_text="For rows without a touchpoint (a till's export has none)."
    )
    create_customers = forms.BooleanField(
        required=False, label="Create customers we do not know yet (otherwise their rows are refused)"
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        locations = import_locations_for(user)
        self.fields["default_location"].queryset = locations
        only = list(locations[:2])
        if len(only) == 1:  # one shop: it is the one
            self.fields["default_location"].initial = only[0].pk
        touchpoints = Touchpoint.objects.filter(is_active=True)
        self.fields["default_touchpoint"].queryset = touchpoints
        self.fields["default_touchpoint"].initial = (
            touchpoints.filter(slug=DEFAULT_TOUCHPOINT).values_list("pk", flat=True).first()
        )


class MetricForm(_Submit, forms.ModelForm):
    month = forms.DateField(widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m", "%Y-%m-%d"])

    class Meta:
        model = TouchpointMetric
        fields = ["month", "name", "value"]

    submit_label = "Save figure"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()

    def clean_month(self):
        return self.cleaned_data["month"].replace(day=1)


class MetricImportForm(forms.Form):
    file = CsvFileField(label="CSV of figures", help_text="Columns: touchpoint, month (2026-10), metric, value.")


class PersonaAssignForm(forms.Form):
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.filter(is_active=True), required=False, empty_label="No persona"
    )


class ApiTokenForm(_Submit, forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it: the till at Downtown, the website form.")
    submit_label = "Create token"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()
