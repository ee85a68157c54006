from django import forms

from crm.kernel.access import fragment_key, static_choices
from crm.kernel.models import Location, User
from customers.models import FollowUp, Note
from journeys.access import active_touchpoints, log_location_choices, log_locations_for
from journeys.models import Interaction, Touchpoint


class ConversationLogForm(forms.Form):
    """One short form behind the counter: what was talked about, a note, a follow-up."""

    kind = forms.ChoiceField(
        choices=Interaction.Kind.choices, initial=Interaction.Kind.VISIT, widget=forms.RadioSelect, label="This was a"
    )
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), label="Where", empty_label=None)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    summary = forms.CharField(
        label="What you talked about",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. picked up new frames, chatted about a trip"}),
    )
    sentiment = forms.TypedChoiceField(
        choices=Interaction.Sentiment.choices, coerce=int, initial=Interaction.Sentiment.NEUTRAL, label="How it went"
    )
    note_text = forms.CharField(
        label="Personal note (optional)",
        max_length=Note._meta.get_field("text").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. their dog is sick, vet on Tuesday"}),
    )
    note_is_sensitive = forms.BooleanField(label="Sensitive note", required=False)
    follow_up_prompt = forms.CharField(
        label="Follow-up (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. ask how the dog is feeling"}),
    )
    follow_up_due = forms.ChoiceField(choices=FollowUp.Due.choices, initial=FollowUp.Due.NEXT_VISIT, label="Due")
    follow_up_due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="On")

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True)
        # The options come from lists read once per request, shared by every form on the page.
        touchpoints = active_touchpoints(user)
        static_choices(self.fields["touchpoint"], touchpoints)
        self.fields["touchpoint"].initial = next((t for t in touchpoints if t.slug == "in-store"), None)
        self.fields["location"].queryset = log_locations_for(user)
        locations = log_location_choices(user)
        static_choices(self.fields["location"], locations)
        self.fields["location"].initial = locations[0] if locations else None
        # An empty form's fields render the same for everyone offered the same options: the customer page
        # keeps that HTML (a template fragment cache) under this key, the csrf token and URLs outside it.
        self.cache_key = fragment_key(
            self.fields["touchpoint"].choices,
            self.fields["touchpoint"].initial and self.fields["touchpoint"].initial.pk,
            self.fields["location"].choices,
            self.fields["location"].initial and self.fields["location"].initial.pk,
        )

    def clean(self):
        cleaned = super().clean()
        said = {
            field: bool((cleaned.get(field) or "").strip()) for field in ("summary", "note_text", "follow_up_prompt")
        }
        if cleaned.get("kind") == Interaction.Kind.CONVERSATION and not (said["summary"] or said["note_text"]):
            self.add_error("summary", "Say what you talked about, or add a personal note.")
        elif not any(said.values()):
            # An empty log would record a visit nobody described; Check in is the one tap for a plain visit.
            self.add_error(
                "summary", "Say what happened, or add a note or a follow-up. Check in records a plain visit."
            )
        dated = cleaned.get("follow_up_prompt") and cleaned.get("follow_up_due") == FollowUp.Due.ON_DATE
        if dated and not cleaned.get("follow_up_due_date"):
            self.add_error("follow_up_due_date", "Give the day the follow-up is due.")
        return cleaned
