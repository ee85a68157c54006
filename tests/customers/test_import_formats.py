# ruff: noqa: E501 - the vendors' export lines are as long as the vendors write them
"""The customer import recognises a till's customer export (Square, Shopify) and a phone's contacts (vCard)
by their content, maps them without a hand-made file, and keeps the preview, bad rows by line, all or nothing."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.kernel import uploads
from customers import importer, privacy
from customers.importer import GENERIC, SHOPIFY, SQUARE, VCARD, parse_birthday
from customers.models import Customer, ImportantDate

pytestmark = pytest.mark.postgres

# Square Dashboard > Customers > Export customers, with the columns Square documents (its bulk-import template).
SQUARE_FILE = """Reference ID,First Name,Last Name,Email Address,Phone Number,Nickname,Company Name,Street Address 1,Street Address 2,City,State,Postal Code,Birthday,Memo,Square Customer ID,Creation Source,First Visit,Last Visit,Transaction Count,Total Spend,Email Subscription Status,Instant Profile,Groups,Creation Date
R-1001,Anna,Kowalski,anna@example.com,+1 207-555-0101,Annie,,12 Exchange St,,Portland,ME,04101,1986-06-14,Prefers afternoon fittings,7ZQ1R3HJ9H2K5,Directory,2019-04-02,2026-10-30,14,$1210.50,Subscribed,No,"Regulars, Varifocals",2019-04-02
,Ben,Carter,ben@example.com,(207) 555-0102,,,,,,,,0000-11-03,,9B4XK2M1QW8PD,Third Party,2021-04-15,2026-09-01,3,$240.00,Unsubscribed,No,,2021-04-15
,,,orders@harbourdental.example,,,Harbour Dental,,,,,,,,Q2W3E4R5T6Y7U,Directory,,,0,$0.00,Unknown,No,Business,2024-02-20 10:14:03
"""

# Shopify admin > Customers > Export (CSV for Excel, Numbers or other spreadsheet programs).
SHOPIFY_FILE = """Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags
'7393446018729,Chloé,Dubois,chloe@example.com,yes,,5 Fore St,,Portland,ME,US,04101,,+12075550103,no,310.00,4,Wants the new frames first,no,"vip, online"
'7393446051497,Dan,Mensah,dan@example.com,no,,,,,,,,(207) 555-0104,,no,0.00,0,,no,
'7393446084265,Eve,Stone,EVE@example.com,yes,Stone & Co,,,,,,,,,no,89.99,1,,no,newsletter
"""

VCARD_FILE = """BEGIN:VCARD
VERSION:3.0
N:Kowalski;Anna;;;
FN:Anna Kowalski
EMAIL;TYPE=INTERNET,HOME:anna@example.com
TEL;TYPE=HOME:(207) 555-0199
TEL;TYPE=CELL,pref:+1 207 555 0101
BDAY:1986-06-14
CATEGORIES:family,regular
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Carter;Ben;;;
FN:Ben Carter
TEL;TYPE=CELL:(207) 555-0102
END:VCARD

BEGIN:VCARD
VERSION:3.0
N:Okafor;Grace;;;
FN:Grace Okafor
NICKNAME:Gigi
EMAIL:grace@example.com
BDAY:--0302
END:VCARD
"""


def plan_import(raw: bytes, locations, default_location=None):
    """Check a file as the import page does for a member of staff with these locations."""
    return importer.check(
        raw,
        options={
            "location": default_location.pk if default_location else None,
            "locations": [loc.pk for loc in locations],
        },
    )


def run_import(plan) -> tuple[int, int]:
    summary = importer.commit(plan, user=None)
    return summary["created"], summary["updated"]


def test_a_square_export_is_recognised_and_mapped(location, time_at):
    time_at("2026-11-20T12:00:00-05:00")
    plan = plan_import(SQUARE_FILE.encode(), [location], default_location=location)
    assert plan.kind == SQUARE and plan.summary == "Square customer export, 3 customers"
    assert plan.is_valid and (plan.to_create, plan.to_update) == (3, 0)
    assert run_import(plan) == (3, 0)
    anna = Customer.objects.get(external_id="7ZQ1R3HJ9H2K5")
    assert (anna.email, anna.phone, anna.preferred_name) == ("anna@example.com", "+12075550101", "Annie")
    assert anna.customer_since == datetime.date(2019, 4, 2)
    assert anna.consent_email_at == datetime.date(2026, 11, 20)  # Subscribed: consent from the day it came in
    assert sorted(t.name for t in anna.tags.all()) == ["regulars", "varifocals"]
    birthday = anna.important_dates.get()
    assert (birthday.kind, birthday.year, birthday.month, birthday.day) == ("birthday", 1986, 6, 14)
    assert birthday.next_occurrence_on is not None  # scheduled like any date staff enter
    ben = Customer.objects.get(email="ben@example.com")
    assert ben.consent_email_at is None  # Unsubscribed gives no consent
    assert (ben.important_dates.get().year, ben.important_dates.get().month) == (None, 11)  # 0000-11-03
    company = Customer.objects.get(external_id="Q2W3E4R5T6Y7U")
    assert company.first_name == "Harbour Dental" and company.consent_email_at is None  # Unknown: none
    assert company.customer_since == datetime.date(2024, 2, 20)  # no first visit: its creation date
    assert not anna.notes.exists()  # Square's memo is not turned into a note


def test_a_shopify_export_is_recognised_and_mapped(location, time_at):
    time_at("2026-11-20T12:00:00-05:00")
    plan = plan_import(SHOPIFY_FILE.encode(), [location], default_location=location)
    assert plan.kind == SHOPIFY and plan.summary == "Shopify customer export, 3 customers"
    assert run_import(plan) == (3, 0)
    chloe = Customer.objects.get(external_id="7393446018729")  # Shopify's quote before the id goes
    assert (chloe.first_name, chloe.phone, chloe.consent_email_at) == (
        "Chloé",
        "+12075550103",
        datetime.date(2026, 11, 20),
    )
    assert sorted(t.name for t in chloe.tags.all()) == ["online", "vip"]
    dan = Customer.objects.get(email="dan@example.com")
    assert dan.phone == "+12075550104" and dan.consent_email_at is None  # the address's phone when no phone
    assert Customer.objects.get(external_id="7393446084265").email == "eve@example.com"
    assert not ImportantDate.objects.exists()  # Shopify exports no birthdays


def test_vcards_are_recognised_with_several_phones_and_birthdays(location):
    plan = plan_import(VCARD_FILE.encode(), [location], default_location=location)
    assert plan.kind == VCARD and plan.summary == "vCard contacts, 3 customers"
    assert [row.line for row in plan.rows()] == [1, 11, 18]  # each contact by its BEGIN:VCARD line
    assert run_import(plan) == (3, 0)
    anna = Customer.objects.get(email="anna@example.com")
    assert anna.phone == "+12075550101"  # her preferred (mobile) number of the two
    assert sorted(t.name for t in anna.tags.all()) == ["family", "regular"]
    assert anna.consent_email_at is None  # a phone's contacts say nothing about consent
    assert (anna.important_dates.get().year, anna.important_dates.get().month) == (1986, 6)
    grace = Customer.objects.get(email="grace@example.com")
    assert grace.preferred_name == "Gigi" and grace.phone == ""
    date = grace.important_dates.get()
    assert (date.kind, date.year, date.month, date.day) == ("birthday", None, 3, 2)
    assert Customer.objects.get(phone="+12075550102").first_name == "Ben"


def test_a_contact_is_matched_on_either_of_its_numbers(location):
    Customer.objects.create(first_name="Anna", phone="+12075550199", home_location=location)
    plan = plan_import(VCARD_FILE.encode(), [location], default_location=location)
    assert next(plan.rows()).customer_id is not None and (plan.to_create, plan.to_update) == (2, 1)
    run_import(plan)
    assert Customer.objects.filter(first_name="Anna").count() == 1


@pytest.mark.parametrize("content", [SQUARE_FILE, SHOPIFY_FILE, VCARD_FILE])
def test_reimporting_a_vendor_file_changes_nothing(location, content):
    assert run_import(plan_import(content.encode(), [location], default_location=location))[0] == 3
    plan = plan_import(content.encode(), [location], default_location=location)
    assert (plan.to_create, plan.to_update) == (0, 3)
    assert run_import(plan) == (0, 0)
    assert Customer.objects.count() == 3 and ImportantDate.objects.count() == content.count("BDAY") + (
        2 if content is SQUARE_FILE else 0
    )


def test_consent_in_the_crm_is_kept_when_the_till_says_no(location):
    Customer.objects.create(
        first_name="Dan", email="dan@example.com", home_location=location, consent_email_at=datetime.date(2025, 1, 5)
    )
    run_import(plan_import(SHOPIFY_FILE.encode(), [location], default_location=location))
    assert Customer.objects.get(email="dan@example.com").consent_email_at == datetime.date(2025, 1, 5)


def test_an_existing_birthday_is_not_duplicated_or_overwritten(location):
    run_import(plan_import(SQUARE_FILE.encode(), [location], default_location=location))
    ImportantDate.objects.filter(customer__email="anna@example.com").update(day=15)
    run_import(plan_import(SQUARE_FILE.encode(), [location], default_location=location))
    assert list(ImportantDate.objects.filter(customer__email="anna@example.com").values_list("day", flat=True)) == [15]


def test_a_bad_row_of_a_square_export_is_reported_by_line_and_nothing_is_imported(location):
    lines = SQUARE_FILE.splitlines()
    lines[2] = lines[2].replace("ben@example.com", "ben@").replace("0000-11-03", "31/31")
    plan = plan_import("\n".join(lines).encode(), [location], default_location=location)
    errors = {row.line: " ".join(row.messages) for row in plan.bad_rows}
    assert list(errors) == [3]
    assert "email: Enter a valid email address" in errors[3] and "birthday: '31/31' is not a birthday" in errors[3]
    with pytest.raises(Exception, match="nothing was imported"):
        run_import(plan)
    assert Customer.objects.count() == 0


def test_a_bad_row_of_a_shopify_export_is_reported_by_line(location):
    plan = plan_import(SHOPIFY_FILE.replace("+12075550103", "12").encode(), [location], default_location=location)
    assert [(row.line, row.messages) for row in plan.bad_rows] == [(2, ["phone: This is not a valid phone number."])]


def test_a_bad_contact_is_reported_by_its_line(location):
    broken = VCARD_FILE.replace("EMAIL:grace@example.com", "EMAIL:grace@").replace(
        "TEL;TYPE=HOME:(207) 555-0199", "TEL;TYPE=HOME:12"
    )
    plan = plan_import(broken.encode(), [location], default_location=location)
    errors = {row.line: " ".join(row.messages) for row in plan.bad_rows}
    assert sorted(errors) == [1, 18]
    assert "other phones: This is not a valid phone number" in errors[1]
    assert "email: Enter a valid email address" in errors[18]
    assert not plan.is_valid


def test_a_vcard_cut_short_is_a_file_error(location):
    plan = plan_import(VCARD_FILE.rsplit("END:VCARD", 1)[0].encode(), [location], default_location=location)
    assert plan.file_errors == ["Line 18: this contact has no END:VCARD; the file is cut short."]
    assert not plan.is_valid


def test_a_generic_csv_is_still_read_by_its_column_names(location):
    plan = plan_import(
        b"First name,Email,Customer ID\nAnna,anna@example.com,A1\n", [location], default_location=location
    )
    assert plan.kind == GENERIC and plan.summary == "CSV file, 1 customer" and plan.is_valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1986-06-14", (1986, 6, 14)),
        ("19860614", (1986, 6, 14)),
        ("0000-06-14", (None, 6, 14)),
        ("1604-06-14", (None, 6, 14)),
        ("--06-14", (None, 6, 14)),
        ("--0614", (None, 6, 14)),
        ("06-14", (None, 6, 14)),
        ("06-14-1986", (1986, 6, 14)),
        ("2/29", (None, 2, 29)),
        ("1986-06-14T00:00:00Z", (1986, 6, 14)),
    ],
)
def test_birthdays_are_read_as_tills_and_phones_write_them(text, expected):
    assert parse_birthday(text) == expected


@pytest.mark.parametrize("text", ["1986-02-30", "13-01", "soon", "2999-01-01"])
def test_impossible_birthdays_are_refused(text):
    with pytest.raises(Exception, match="not a birthday"):
        parse_birthday(text)


def test_the_preview_names_the_format_and_a_vcf_file_is_taken(client, manager, location):
    client.force_login(manager)
    upload = SimpleUploadedFile("contacts.vcf", VCARD_FILE.encode(), content_type="text/vcard")
    preview = client.post(reverse("customer-import"), {"file": upload, "default_location": location.pk})
    page = preview.content.decode()
    assert "vCard contacts, 3 customers" in page and "Ready: <strong>3</strong> new customers" in page
    done = client.post(
        reverse("customer-import"), {"confirm": "1", "token": preview.context["token"], "default_location": location.pk}
    )
    assert done.status_code == 302 and Customer.objects.count() == 3


def test_the_preview_names_a_square_export(client, manager, location):
    client.force_login(manager)
    upload = SimpleUploadedFile("export.csv", SQUARE_FILE.encode(), content_type="text/csv")
    page = client.post(reverse("customer-import"), {"file": upload, "default_location": location.pk}).content.decode()
    assert "Square customer export, 3 customers" in page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("contacts.vcard", VCARD_FILE.encode(), "Only CSV files (.csv) and vCards (.vcf) can be imported"),
        ("contacts.vcf", b"\x89PNG\r\n\x1a\n\x00\x00", "not a CSV file"),
    ],
)
def test_an_upload_that_is_not_a_contacts_file_is_refused_beside_the_field(
    client, manager, location, name, content, message
):
    client.force_login(manager)
    upload = SimpleUploadedFile(name, content)
    response = client.post(reverse("customer-import"), {"file": upload, "default_location": location.pk})
    assert response.status_code == 200 and message in response.context["form"].errors["file"][0]


def test_erasing_a_customer_discards_a_waiting_vcard_preview_about_them(location, manager):
    import uuid

    from crm.kernel.models import ImportJob

    def waiting():
        return ImportJob.objects.create(
            token=uuid.uuid4(), created_by=manager, kind="customer_import", raw=VCARD_FILE.encode(), state="checked"
        )

    waiting()
    grace = Customer(first_name="Grace", last_name="Okafor", email="grace@example.com", home_location=location)
    assert uploads.discard_waiting_holding(privacy.row_matcher(grace)) == 1
    waiting()
    stranger = Customer(first_name="Zed", email="zed@example.com", home_location=location)
    assert uploads.discard_waiting_holding(privacy.row_matcher(stranger)) == 0


def test_an_older_shopify_export_with_accepts_marketing_is_recognised(location):
    old = SHOPIFY_FILE.replace("Accepts Email Marketing", "Accepts Marketing")
    plan = plan_import(old.encode(), [location], default_location=location)
    assert plan.kind == SHOPIFY and plan.is_valid
    run_import(plan)
    assert Customer.objects.get(email="chloe@example.com").consent_email_at is not None
    assert Customer.objects.get(email="dan@example.com").consent_email_at is None


def test_a_contact_vobject_cannot_read_is_a_bad_row_at_its_line(location):
    broken = VCARD_FILE.replace("FN:Ben Carter\n", "FN:Ben Carter\nthis line has no colon\n")
    plan = plan_import(broken.encode(), [location], default_location=location)
    assert [(row.line, row.messages) for row in plan.bad_rows] == [
        (11, ["row: this contact cannot be read (Failed to parse line: this line has no colon)."])
    ]
    assert plan.total == 3 and not plan.is_valid


def test_two_contacts_that_find_the_same_customer_are_a_bad_row_not_a_merge(location):
    # Ben's contact lists the family landline that Anna already has here as her phone.
    Customer.objects.create(first_name="Anna", phone="+12075550199", home_location=location)
    shared = VCARD_FILE.replace(
        "TEL;TYPE=CELL:(207) 555-0102", "TEL;TYPE=CELL:(207) 555-0102\nTEL;TYPE=HOME:(207) 555-0199"
    )
    plan = plan_import(shared.encode(), [location], default_location=location)
    assert [(row.line, row.messages) for row in plan.bad_rows] == [
        (
            11,
            [
                "row: matches the same existing customer as line 1; give each row its own email or phone, or keep one of them"
            ],
        )
    ]
    assert not plan.is_valid
