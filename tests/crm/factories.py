import factory
from django.contrib.auth.models import Group

from crm.kernel import roles
from crm.kernel.models import Location, User

TEST_PASSWORD = "correct horse battery staple"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Shop {n}")
    address = factory.Faker("address")
    timezone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    """A member of staff: UserFactory(role="frontline", locations=[shop])."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.add(Group.objects.get(name=roles.GROUP_NAMES[extracted]))

    @factory.post_generation
    def locations(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.locations.set(extracted)
