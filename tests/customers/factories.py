import factory

from customers.models import Customer, FollowUp, ImportantDate, Note, Person
from tests.crm.factories import LocationFactory, UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer known at their home location (as customer_save would leave them)."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+1207555{n % 10000:04d}")
    home_location = factory.SubFactory(LocationFactory)

    @factory.post_generation
    def index(obj, create, extracted, **kwargs):
        if create:
            obj.locations.add(obj.home_location)
            obj.search_document = obj.build_search_document([t.name for t in obj.tags.all()])
            obj.save(update_fields=["search_document"])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("first_name")
    relation = Person.Relation.PARTNER


class ImportantDateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportantDate

    customer = factory.SubFactory(CustomerFactory)
    kind = ImportantDate.Kind.BIRTHDAY
    month = 6
    day = 14


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    customer = factory.SubFactory(CustomerFactory)
    author = factory.SubFactory(UserFactory)
    location = factory.SelfAttribute("customer.home_location")
    text = factory.Faker("sentence")


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    prompt = "Ask how the holiday was"
    location = factory.SelfAttribute("customer.home_location")
    created_by = factory.SubFactory(UserFactory)
