"""What the kernel tells the floors above it (they connect receivers; the kernel imports none of them)."""

from django.dispatch import Signal

# A background import job's check or import finished (or failed): kwargs job, stage ("checked" or
# "finished"), title (what its person is told). The inbox raises a notification for its creator.
import_job_finished = Signal()
