"""Events of the customers floor that the apps above it act on.

Customers sends these and never imports its receivers: journeys, microcx and the inbox and
insights code connect to them from their AppConfig.ready(), always with a `dispatch_uid`, so a
receiver connected twice (a second ready(), a reloaded module) still runs once per event.
Every signal is sent with `sender=` the model class it is about.
"""

from django.dispatch import Signal

# A follow-up was done or dismissed: follow_up=FollowUp. (The inbox settles its reminders.)
follow_up_closed = Signal()

# A member of staff took on a whole-location follow-up: follow_up=FollowUp (its assignee is set).
follow_up_taken = Signal()

# A contact with the customer was recorded (a visit, a call, an email): customer=Customer.
contact_recorded = Signal()

# Many contacts were recorded at once (an import): customer_ids=list[int], one chunk at a time.
contacts_recorded = Signal()

# The customer is being erased, inside the erase transaction: customer=Customer, by=User (the owner).
# Each app removes the personal data and free text it holds about them; amounts and counts stay.
customer_erasing = Signal()

# The owner exports what the business holds about a customer: customer=Customer. Each receiver
# returns {section name: plain JSON-ready data}; the key "profile" adds fields to the profile.
customer_exporting = Signal()
