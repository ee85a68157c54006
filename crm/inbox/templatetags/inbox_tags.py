from django import template

from crm.inbox.reminders import GESTURE_IDEAS_BY_TEXT
from customers.gesture_ideas import gesture_form_url

register = template.Library()


@register.filter
def gesture_idea_url(notification) -> str:
    """Return the gesture form's address for a reminder's idea, prefilled with it (category, amount, description)."""
    idea = GESTURE_IDEAS_BY_TEXT.get(notification.gesture_idea)
    follow_up_id = notification.follow_up_id
    if idea is not None:
        return idea.form_url(notification.customer_id, follow_up_id=follow_up_id)
    # Another idea ("A quick call or a short email..."): at least its words, as the description.
    return gesture_form_url(
        notification.customer_id, description=notification.gesture_idea.rstrip("?"), follow_up_id=follow_up_id
    )
