"""Model fields shared by the apps."""

import json

from django.core.exceptions import FieldError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from crm.kernel import encryption


class EncryptedTextField(models.TextField):
    """Free text stored as a Fernet token (crm/kernel/encryption.py); Python code sees the plain text.

    Every write (save, bulk_create, update) encrypts under the newest key of
    FIELD_ENCRYPTION_KEYS and every read decrypts with whichever key opens the
    value, so a value that no key opens raises DecryptionError instead of
    showing garbage. The column holds random-looking tokens, so SQL cannot
    compare, search or sort the text: filtering on it raises FieldError
    (only `isnull` is allowed). Search what can be searched elsewhere.
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encryption.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return encryption.decrypt(value, what=f"{self.model._meta.label}.{self.name}")

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.model._meta.label}.{self.name} is encrypted at rest: it cannot be filtered with "
            f"'{lookup_name}' in SQL. Filter on other fields and compare the text in Python."
        )

    def get_transform(self, lookup_name):
        return None


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (dict, list, str, number) stored as a Fernet token of its JSON text.

    Python code sees the value; SQL sees a token, so it cannot be queried by key either.
    """

    description = "JSON encrypted at rest"

    def get_prep_value(self, value):
        if value is None:
            return None
        return encryption.encrypt(json.dumps(value, cls=DjangoJSONEncoder))

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return None if text is None else json.loads(text)

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder)

    def formfield(self, **kwargs):
        from django.forms import JSONField

        return super(models.TextField, self).formfield(**{"form_class": JSONField, **kwargs})
