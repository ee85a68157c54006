"""Short search fields PostgreSQL keeps itself: search_name (trigram index) and phone_digits (exact and ends-with).

unaccent (a trusted extension: a database owner may create it) folds accents the way crm.text.fold does in
Python; crm_fold wraps it as IMMUTABLE, which a generated column and an index need (unaccent itself is only
STABLE, as its dictionary could change; ours never does).
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations, models

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION crm_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
CREATE OR REPLACE FUNCTION crm_search_name(text, text, text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT btrim(regexp_replace(crm_fold(concat_ws(' ', $1, $2, $3)), '\s+', ' ', 'g')) $$;
CREATE OR REPLACE FUNCTION crm_phone_digits(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT regexp_replace(regexp_replace($1, '\D', '', 'g'), '^1(\d{10})$', '\1') $$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS crm_phone_digits(text);
DROP FUNCTION IF EXISTS crm_search_name(text, text, text);
DROP FUNCTION IF EXISTS crm_fold(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_rule_exposure"),
    ]

    operations = [
        UnaccentExtension(),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.AddField(
            model_name="customer",
            name="phone_digits",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(models.F("phone"), function="crm_phone_digits", output_field=models.TextField()),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    models.F("first_name"),
                    models.F("last_name"),
                    models.F("preferred_name"),
                    function="crm_search_name",
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_name"], name="customer_search_name_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Reverse("phone_digits"), name="text_pattern_ops"
                ),
                name="customer_phone_digits_reversed",
            ),
        ),
    ]
